import { existsSync, readFileSync } from 'node:fs';
import { EMBEDDED_DATABASE_URL } from './gateway/server.ts';

/** Parse a dotenv-style file (`.dev.vars`): KEY=value lines, `#` comments, optional quotes. */
export function readDevVars(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 1) continue;
    const value = line.slice(eq + 1).trim();
    out[line.slice(0, eq).trim()] = /^(['"]).*\1$/.test(value) ? value.slice(1, -1) : value;
  }
  return out;
}

/** The database the local stack uses: DATABASE_URL from the environment, then .dev.vars, else embedded. */
export function resolveDatabaseUrl(devVarsPath = '.dev.vars'): { url: string; from: string } {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, from: 'environment' };
  const fromFile = readDevVars(devVarsPath).DATABASE_URL;
  if (fromFile) return { url: fromFile, from: devVarsPath };
  return { url: EMBEDDED_DATABASE_URL, from: 'default (embedded PGlite)' };
}

/** A connection string with its password hidden, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable connection string)';
  }
}

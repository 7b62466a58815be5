/**
 * The relay's environment (README, "Relay configuration"; the OpenStack keys in docs/openstack.md):
 * parsed once in main.ts and passed down.
 * Error messages name the key and what is wrong with it, never its value (secrets, connection strings).
 * Checked by hand rather than with zod: the relay keeps zod out of its memory (its RSS budget is
 * 100 MB, and zod alone costs 14 MB resident).
 */
import { parseListenSecurity, type RelayTlsFiles } from './tls.ts';

import { type OpenStackConfig, parseOpenStackConfig } from './openstack/config.ts';

type Problems = string[];

/** An integer in [min, max], or the default when unset; a problem named after the key otherwise. */
function integer(env: Record<string, string>, key: string, fallback: number, min: number, max: number, problems: Problems): number {
  const text = env[key]?.trim();
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    problems.push(`${key}: must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

/** Comma-separated secrets, 16+ characters each; the message names which one (by position), never its value. */
function secretList(text: string | undefined, problems: Problems): string[] {
  if (text === undefined) {
    problems.push('RELAY_SECRETS: is required: comma-separated shared secrets, 16+ characters each (openssl rand -hex 32)');
    return [];
  }
  const secrets = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (secrets.length === 0) problems.push('RELAY_SECRETS: must hold at least one secret');
  secrets.forEach((s, i) => {
    if (s.length < 16) problems.push(`RELAY_SECRETS[${i}]: each secret must be at least 16 characters`);
  });
  return secrets;
}

export interface RelayConfig {
  host: string;
  /** HTTPS with these PEM files (RELAY_TLS_CERT, RELAY_TLS_KEY); plain HTTP when unset (tls.ts says where). */
  tls?: RelayTlsFiles;
  /** 0 = any free port (tests). */
  port: number;
  secrets: string[];
  /** How local times in the sources are read (PBS logs and qstat print the server's local time). */
  timeZone: string;
  maxWindowDays: number;
  /** Threads that parse accounting logs (0: the main thread parses them). */
  parseThreads: number;
  accounting?: { dir: string };
  /** `argv[0]` is run directly, never through a shell. */
  qstat?: { command: string; argv: string[] };
  db?: { url: string; query: string };
  /** Keystone + Nova (+ Prometheus): serves /v1/instances. */
  openstack?: OpenStackConfig;
}

export class RelayConfigError extends Error {
  override name = 'RelayConfigError';
}

/** Validate the relay's environment; the message names every bad key (never its value). */
export function parseRelayConfig(env: Record<string, string | undefined>): RelayConfig {
  // Unset and empty are the same thing in an environment (`RELAY_QSTAT_COMMAND=` switches qstat off).
  const e = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key.startsWith('RELAY_') && value !== undefined && value.trim() !== ''),
  ) as Record<string, string>;
  const problems: Problems = [];
  const secrets = secretList(e.RELAY_SECRETS, problems);
  const timeZone = e.RELAY_TIMEZONE ?? 'UTC';
  if (!isTimeZone(timeZone)) problems.push('RELAY_TIMEZONE: must be an IANA time zone name such as UTC or Europe/Prague');
  const config: RelayConfig = {
    host: e.RELAY_HOST ?? '127.0.0.1',
    port: integer(e, 'RELAY_PORT', 8790, 0, 65535, problems),
    secrets,
    timeZone,
    maxWindowDays: integer(e, 'RELAY_MAX_WINDOW_DAYS', 31, 1, 366, problems),
    parseThreads: integer(e, 'RELAY_PARSE_THREADS', 2, 0, 16, problems),
  };
  Object.assign(config, parseListenSecurity(e, config.host, problems));
  if (e.RELAY_ACCOUNTING_DB_URL !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(e.RELAY_ACCOUNTING_DB_URL)) {
    problems.push('RELAY_ACCOUNTING_DB_URL: must be a postgres:// or postgresql:// connection string');
  }
  if (problems.length > 0) throw new RelayConfigError(`invalid relay configuration: ${problems.join('; ')}`);

  if (e.RELAY_ACCOUNTING_DIR) config.accounting = { dir: e.RELAY_ACCOUNTING_DIR };
  if (e.RELAY_QSTAT_COMMAND) {
    try {
      config.qstat = { command: e.RELAY_QSTAT_COMMAND, argv: splitCommand(e.RELAY_QSTAT_COMMAND) };
    } catch (err) {
      problems.push(`RELAY_QSTAT_COMMAND: ${(err as Error).message}`);
    }
  }
  const dbUrl = e.RELAY_ACCOUNTING_DB_URL;
  const dbQuery = e.RELAY_ACCOUNTING_DB_QUERY;
  if (dbUrl && dbQuery) {
    const query = trimQuery(dbQuery);
    const highest = Math.max(0, ...[...query.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    if (highest > 2) problems.push('RELAY_ACCOUNTING_DB_QUERY: only $1 (from) and $2 (to) are available');
    else config.db = { url: dbUrl, query };
  } else if (dbUrl) {
    problems.push('RELAY_ACCOUNTING_DB_QUERY: is required when RELAY_ACCOUNTING_DB_URL is set');
  } else if (dbQuery) {
    problems.push('RELAY_ACCOUNTING_DB_URL: is required when RELAY_ACCOUNTING_DB_QUERY is set');
  }
  const openstack = parseOpenStackConfig(e, problems);
  if (openstack) config.openstack = openstack;
  if (problems.length === 0 && !config.accounting && !config.qstat && !config.db && !config.openstack) {
    problems.push(
      '(env): configure at least one source: RELAY_ACCOUNTING_DIR, RELAY_QSTAT_COMMAND, RELAY_ACCOUNTING_DB_URL with RELAY_ACCOUNTING_DB_QUERY, or RELAY_OPENSTACK_AUTH_URL',
    );
  }
  if (problems.length > 0) throw new RelayConfigError(`invalid relay configuration: ${problems.join('; ')}`);
  return config;
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return name.length > 0;
  } catch {
    return false;
  }
}

/** The query as it goes into `DECLARE … CURSOR FOR`: no surrounding blanks, no trailing semicolons. */
function trimQuery(query: string): string {
  return query.trim().replace(/[\s;]+$/, '');
}

/**
 * Split a command line into argv the way a shell would split words, without a shell: blanks separate
 * words; '…' and "…" quote (no expansion inside), a backslash escapes the next character. Pipes,
 * redirections, `;`, `&`, `$` and backquotes outside quotes are refused: nothing would interpret them.
 */
export function splitCommand(command: string): string[] {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < command.length) word += command[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 >= command.length) throw new Error('ends with a lone backslash');
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else if ('|&;<>$`'.includes(ch)) {
      throw new Error(`runs without a shell: '${ch}' is not supported (quote it if it is meant literally)`);
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`has an unbalanced ${quote} quote`);
  if (inWord) argv.push(word);
  if (argv.length === 0) throw new Error('is empty');
  return argv;
}

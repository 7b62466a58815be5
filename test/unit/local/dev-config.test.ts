import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `npm run dev` (src/local/dev.ts through tsx) in a fresh directory holding only the given .dev.vars. */
function runDev(devVars: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-dev-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, '.dev.vars'), devVars);
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|COLLECTOR_API_KEY|ADMIN_API_KEY|READ_API_KEY|RELAY|COLLECT_|INGEST_)/.test(k)),
  );
  const child = spawn(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, 'src/local/dev.ts')], {
    cwd: dir,
    // Ports nobody should be using: if the check did not stop it, the stack would try to start here.
    env: { ...inherited, ...env, PORT: '1', GATEWAY_PORT: '2', RELAY_PORT: '3', DEMO_CLOUD_PORT: '4' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('npm run dev with a bad configuration', () => {
  it('refuses to start, exits non-zero and names each bad key and why, never its value', async () => {
    const { code, stdout, stderr } = await runDev('COLLECTOR_API_KEY=short\nINGEST_MAX_BODY_BYTES=-5\nRELAYS=not json\n');
    expect(code).toBe(1);
    expect(stderr).toContain('COLLECTOR_API_KEY.0: each key must be at least 16 characters');
    expect(stderr).toMatch(/INGEST_MAX_BODY_BYTES: .*(>0|positive|greater)/i);
    expect(stderr).toContain('RELAYS: must be a JSON array');
    expect(stderr).not.toContain('short');
    expect(stdout).not.toContain('ready');
    expect(stdout).not.toContain('gateway:');
  });

  it('a bad key from the environment is refused the same way', async () => {
    const { code, stderr } = await runDev('', { ADMIN_API_KEY: 'tiny' });
    expect(code).toBe(1);
    expect(stderr).toContain('ADMIN_API_KEY.0: each key must be at least 16 characters');
  });
});

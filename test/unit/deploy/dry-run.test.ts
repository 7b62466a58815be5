/**
 * `deploy:setup --dry-run` prints every step and calls nothing: `wrangler` on its PATH is a script that
 * records each call and fails, and Cloudflare's API and the SQL endpoint point at a local server that
 * records every request. The same PATH without --dry-run does call it (so the check can fail).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYED_SECRETS } from '../../../src/deploy/setup.ts';
import { readEnvironment } from '../../../src/deploy/wrangler.ts';
import { type CloudflareApi, startCloudflareApi } from '../../support/cloudflare-api.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** How many migrations drizzle/ holds (its journal), so a new migration does not break this test. */
const MIGRATIONS = (JSON.parse(readFileSync(join(ROOT, 'drizzle/meta/_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;
const PASSWORD = 'npg_s3cretDryRunPassw0rd';
const ADMIN_KEY = 'dry-run-admin-key-0123456789abcdef0123';

let scratch: string;
let marker: string;
let listener: CloudflareApi;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'zeus-dry-run-'));
  marker = join(scratch, 'wrangler-calls');
  writeFileSync(join(scratch, 'wrangler'), `#!/bin/sh\necho "wrangler $*" >> '${marker}'\nexit 97\n`);
  chmodSync(join(scratch, 'wrangler'), 0o755);
  listener = await startCloudflareApi();
});

afterAll(async () => {
  await listener?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The setup CLI with a PATH of the fake wrangler and node only (no node_modules/.bin, no npx). */
function run(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !DEPLOYED_SECRETS.some((s) => s.name === k) && !k.startsWith('CLOUDFLARE_')),
  );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/deploy/setup-cli.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...inherited, PATH: `${scratch}${delimiter}${dirname(process.execPath)}`, XDG_CONFIG_HOME: scratch, ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

const everything = () => ({
  CLOUDFLARE_API_TOKEN: listener.token,
  CLOUDFLARE_ACCOUNT_ID: listener.accountId,
  CLOUDFLARE_API_BASE_URL: listener.baseUrl,
  DATABASE_URL: `postgresql://app:${PASSWORD}@ep-dry-run-123456.eu-central-1.aws.neon.tech/zeus?sslmode=require`,
  DATABASE_HTTP_URL: `${listener.baseUrl}/sql`,
  ADMIN_API_KEY: ADMIN_KEY,
});

describe('npm run deploy:setup -- --dry-run', () => {
  it('prints the four steps of production with what each would do, and calls nothing', { timeout: 60_000 }, async () => {
    const { code, out } = await run(['--env', 'production', '--dry-run'], everything());
    expect(code, out).toBe(0);
    expect(out).toContain('dry run: prints the steps, calls nothing');
    expect(out).toMatch(/^1\. queues: /m);
    expect(out).toMatch(/^2\. secrets: /m);
    expect(out).toMatch(new RegExp(`^3\\. migrations: ${MIGRATIONS} migrations of drizzle/`, 'm'));
    expect(out).toMatch(/^4\. deploy: wrangler deploy --env production$/m);
    for (const queue of readEnvironment(join(ROOT, 'wrangler.toml'), 'production').queues) expect(out).toContain(queue);
    for (const { name } of DEPLOYED_SECRETS) expect(out).toContain(name);
    expect(out).toMatch(/ADMIN_API_KEY\s+given: put/);
    expect(out).toMatch(/COLLECTOR_API_KEY\s+not given: kept when set, else generated/);
    // Given values are never printed; the database shows without its password.
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toContain(ADMIN_KEY);
    expect(out).toContain('ep-dry-run-123456.eu-central-1.aws.neon.tech');
    // Nothing was called: no wrangler, no request to Cloudflare's API or the SQL endpoint.
    expect(existsSync(marker)).toBe(false);
    expect(listener.requests).toEqual([]);
  });

  it('says what a real run would stop on, naming each missing key', { timeout: 60_000 }, async () => {
    const { code, out } = await run(['--env', 'staging', '--dry-run'], {});
    expect(code).toBe(1);
    expect(out).toMatch(/^4\. deploy: wrangler deploy --env staging$/m);
    expect(out).toMatch(/A real run would stop before step 1:/);
    for (const key of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ACCOUNT_ID', 'DATABASE_URL'])
      expect(out).toMatch(new RegExp(`^  ${key}: is required`, 'm'));
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses an environment wrangler.toml does not define', { timeout: 60_000 }, async () => {
    const { code, out } = await run(['--env', 'prod', '--dry-run'], everything());
    expect(code).toBe(2);
    expect(out).toContain('no [env.prod] in wrangler.toml; the environments are: staging, production');
  });

  it('without --dry-run, the same command does call wrangler (and stops when it fails)', { timeout: 60_000 }, async () => {
    const { code, out } = await run(['--env', 'staging'], everything());
    expect(code).toBe(1);
    expect(readFileSync(marker, 'utf8')).toBe('wrangler queues list --page 1 --env staging\n');
    expect(out).toMatch(/wrangler queues list --page 1 --env staging failed \(exit 97\)/);
  });
});

/**
 * `npm run deploy:setup` for real, twice: the real wrangler CLI against a local stand-in of Cloudflare's
 * API (support/cloudflare-api.ts; nothing here can reach Cloudflare), the migrations through the real Neon
 * driver and the local gateway into an empty database. The first run creates the environment's queues,
 * puts the given secrets and generates the others, migrates and deploys; the second creates nothing and
 * keeps every key.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYED_SECRETS } from '../../../src/deploy/setup.ts';
import { readEnvironment } from '../../../src/deploy/wrangler.ts';
import { type CloudflareApi, startCloudflareApi } from '../../support/cloudflare-api.ts';
import { type FreshDatabase, startFreshDatabase } from '../../support/fresh-database.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const ADMIN_KEY = 'given-admin-key-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const RELAYS = JSON.stringify([{ cluster: 'alpha', url: 'https://relay.alpha.example.org:8790', authority: 'alpha.example.org' }]);

let api: CloudflareApi;
let db: FreshDatabase;
let scratch: string;

/** Run `npm run deploy:setup -- …` as an operator would, with only these variables of ours. */
function setup(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !DEPLOYED_SECRETS.some((s) => s.name === k) && !k.startsWith('CLOUDFLARE_') && k !== 'DATABASE_HTTP_URL',
    ),
  );
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '-s', 'deploy:setup', '--', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...inherited,
        PATH: `${join(ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`,
        XDG_CONFIG_HOME: scratch, // wrangler's logs and caches
        WRANGLER_SEND_METRICS: 'false',
        CLOUDFLARE_API_BASE_URL: api.baseUrl,
        CLOUDFLARE_API_TOKEN: api.token,
        CLOUDFLARE_ACCOUNT_ID: api.accountId,
        ...env,
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'zeus-deploy-setup-'));
  [api, db] = await Promise.all([startCloudflareApi(), startFreshDatabase()]);
});

afterAll(async () => {
  await Promise.all([api?.close(), db?.close()]);
  rmSync(scratch, { recursive: true, force: true });
});

describe('npm run deploy:setup against a stand-in of Cloudflare and the local gateway', () => {
  it('sets up staging from nothing, then a second run changes nothing it should keep', { timeout: 240_000 }, async () => {
    const staging = readEnvironment(join(ROOT, 'wrangler.toml'), 'staging');
    const env = { DATABASE_URL: db.databaseUrl, DATABASE_HTTP_URL: db.sqlUrl, ADMIN_API_KEY: ADMIN_KEY, RELAYS };

    const first = await setup(['--env', 'staging'], env);
    expect(first.code, first.out).toBe(0);

    // 1. Every queue and dead-letter queue of the environment, and nothing else.
    expect([...api.queues.keys()].sort()).toEqual([...staging.queues].sort());
    expect(api.queues.size).toBe(6);
    const consumers = [...api.queues.values()].flatMap((q) => q.consumers.map((c) => [q.queue_name, c.script, c.dead_letter_queue]));
    expect(consumers.sort()).toEqual([
      ['zeus-alerts-staging', 'zeus-resource-usage-staging', 'zeus-alerts-staging-dlq'],
      ['zeus-collect-staging', 'zeus-resource-usage-staging', 'zeus-collect-staging-dlq'],
      ['zeus-mapping-staging', 'zeus-resource-usage-staging', 'zeus-mapping-staging-dlq'],
    ]);

    // 2. Secrets: the given ones as given, the missing keys generated (32 bytes, hex) and printed once.
    const worker = api.workers.get('zeus-resource-usage-staging')!;
    expect([...worker.secrets.keys()].sort()).toEqual(
      DEPLOYED_SECRETS.map((s) => s.name)
        .filter((n) => n !== 'ALERT_WEBHOOKS')
        .sort(),
    ); // not given: left unset
    expect(worker.secrets.get('DATABASE_URL')).toBe(db.databaseUrl);
    expect(worker.secrets.get('ADMIN_API_KEY')).toBe(ADMIN_KEY);
    expect(worker.secrets.get('RELAYS')).toBe(RELAYS);
    const generated = ['COLLECTOR_API_KEY', 'READ_API_KEY', 'RELAY_SECRET'];
    for (const name of generated) {
      const value = worker.secrets.get(name)!;
      expect(value).toMatch(/^[0-9a-f]{64}$/);
      expect(first.out.split(value).length - 1, `${name} printed once`).toBe(1);
      expect(first.out).toContain(`${name}=${value}`);
    }
    expect(new Set(generated.map((n) => worker.secrets.get(n))).size).toBe(3);
    for (const given of [ADMIN_KEY, 'not-a-real-password']) expect(first.out).not.toContain(given);

    // 3. The migrations, through the driver and the gateway, into the empty database.
    neonConfig.fetchEndpoint = db.sqlUrl;
    const sql = neon(db.databaseUrl);
    const applied = (await sql.query('select count(*)::int as n from drizzle.__drizzle_migrations')) as { n: number }[];
    const journal = JSON.parse(readFileSync(new URL('../../../drizzle/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] };
    expect(applied[0]!.n).toBe(journal.entries.length);
    const tables = (await sql.query(
      "select to_regclass('public.resource_usage_events')::text as events, to_regclass('public.resource_usage_event_links')::text as links",
    )) as { events: string | null; links: string | null }[];
    expect(tables[0]).toEqual({ events: 'resource_usage_events', links: 'resource_usage_event_links' });

    // 4. Deployed: the Worker's code with the environment's queues, its cron, and its secrets inherited.
    expect(worker.schedules).toEqual(['15 2 * * *', '5 * * * *']);
    const queueBindings = worker.bindings.filter((b) => b.type === 'queue').map((b) => [b.name, b.queue_name]);
    expect(queueBindings.sort()).toEqual([
      ['ALERTS_QUEUE', 'zeus-alerts-staging'],
      ['COLLECT_QUEUE', 'zeus-collect-staging'],
      ['MAPPING_QUEUE', 'zeus-mapping-staging'],
    ]);
    const uploadsAfterFirst = worker.uploads;
    const requestsAfterFirst = api.requests.length;

    // Again, as an operator re-running it to ship a new version: only DATABASE_URL is given this time.
    const before = new Map(worker.secrets);
    const second = await setup(['--env', 'staging'], { DATABASE_URL: db.databaseUrl, DATABASE_HTTP_URL: db.sqlUrl });
    expect(second.code, second.out).toBe(0);
    const secondRequests = api.requests.slice(requestsAfterFirst);
    expect(secondRequests.filter((r) => r.startsWith('POST ') && r.endsWith('/queues'))).toEqual([]);
    expect(api.queues.size).toBe(6);
    expect(worker.secrets).toEqual(before);
    for (const value of before.values()) expect(second.out).not.toContain(value);
    expect(second.out).toMatch(/queues: 0 created, 6 already there/);
    expect(second.out).toMatch(/secrets: 1 given, 0 generated, 5 kept/);
    expect(worker.uploads).toBe(uploadsAfterFirst + 1);
    // Production was never touched.
    expect(api.workers.has('zeus-resource-usage-production')).toBe(false);
  });
});

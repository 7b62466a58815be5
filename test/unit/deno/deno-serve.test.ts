/**
 * The HTTP app on Deno: `npm run deno` (`deno serve src/deno/main.ts`, from the npm `deno` package) against
 * the test gateway, driven over HTTP like any client: health, ingest (stored, idempotent, mapped in-process,
 * keys checked), the /doc explorer with its assets, /openapi.json. And the configurations it must refuse.
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import packageJson from '../../../package.json' with { type: 'json' };
import { ConfigSchema } from '../../../src/config.ts';
import { makeEvent, uniqueId } from '../../support/events.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY } from '../../support/keys.ts';
import { type DenoServe, runDenoServe, scriptAllowedEnv, startDenoServe } from './deno-serve.ts';

const INGEST_PATH = '/collector/resource-usage';

const config = () => ({
  DATABASE_URL: inject('databaseUrl'),
  DATABASE_HTTP_URL: inject('gatewaySqlUrl'),
  COLLECTOR_API_KEY: TEST_COLLECTOR_KEY,
  ADMIN_API_KEY: TEST_ADMIN_KEY,
});

let deno: DenoServe;

beforeAll(async () => {
  deno = await startDenoServe(config());
}, 90_000);

afterAll(async () => {
  await deno?.stop();
});

const sql = () => {
  neonConfig.fetchEndpoint = inject('gatewaySqlUrl');
  return neon(inject('databaseUrl'));
};

const ingest = (body: unknown, key = TEST_COLLECTOR_KEY) =>
  fetch(`${deno.origin}${INGEST_PATH}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Zeus-Collector-Key': key },
    body: JSON.stringify(body),
  });

describe('deno serve src/deno/main.ts', () => {
  it('GET /health reaches the database through the gateway', async () => {
    const res = await fetch(`${deno.origin}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; database: { status: string; latency_ms: number } };
    expect(body).toMatchObject({ status: 'ok', database: { status: 'ok' } });
    expect(body.database.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('stores an ingested event once, maps it before answering, and answers `unchanged` to the same post', async () => {
    const project = uniqueId('deno');
    const event = makeEvent({ project });

    const first = await ingest({ events: [event] });
    expect(first.status).toBe(200);
    const stored = (await first.json()) as { inserted: number; events: { index: number; id: string; outcome: string }[] };
    expect(stored).toMatchObject({ inserted: 1, updated: 0, unchanged: 0, events: [{ index: 0, outcome: 'inserted' }] });
    const id = stored.events[0]!.id;

    const db = sql();
    const rows = await db`
      SELECT id::text, source, time_window_start, context FROM resource_usage_events WHERE context->>'project' = ${project}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id, source: event.source, context: event.context });
    expect((rows[0]!.time_window_start as Date).toISOString()).toBe(event.time_window_start);
    // No queue on Deno: the mapping ran in-process before the answer, so the link is already there.
    const links = await db`SELECT status FROM resource_usage_event_links WHERE event_id = ${id}`;
    expect(links).toHaveLength(1);
    expect(['resolved', 'partial', 'unresolved']).toContain(links[0]!.status);

    const again = await ingest({ events: [event] });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ inserted: 0, updated: 0, unchanged: 1, events: [{ index: 0, id, outcome: 'unchanged' }] });
    expect(await db`SELECT id FROM resource_usage_events WHERE context->>'project' = ${project}`).toHaveLength(1);
  });

  it('refuses a wrong collector key with 401 problem+json and stores nothing', async () => {
    const project = uniqueId('deno-badkey');
    const res = await ingest({ events: [makeEvent({ project })] }, 'not-a-collector-key-0123456789');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await sql()`SELECT id FROM resource_usage_events WHERE context->>'project' = ${project}`).toHaveLength(0);
  });

  it('serves the /doc explorer and every file its page loads', async () => {
    const res = await fetch(`${deno.origin}/doc`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/doc\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/\/swagger-ui-bundle\.js$/),
        expect.stringMatching(/\/swagger-ui\.css$/),
        expect.stringMatching(/\/index\.css$/),
        '/doc/assets/explorer.js',
      ]),
    );
    for (const path of assets) {
      const asset = await fetch(`${deno.origin}${path}`);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get('content-type'), path).toMatch(path.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      const text = await asset.text();
      if (path.endsWith('swagger-ui-bundle.js')) expect(text).toContain('SwaggerUIBundle');
      else expect(text.length, path).toBeGreaterThan(0);
    }
  });

  it('GET /openapi.json describes the ingest operation, served from this origin', async () => {
    const res = await fetch(`${deno.origin}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      info: { version: string };
      servers: { url: string }[];
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.info.version).toBe(packageJson.version);
    expect(doc.servers).toEqual([{ url: deno.origin, description: 'This deployment' }]);
    expect(doc.paths[INGEST_PATH]).toHaveProperty('post');
  });
});

describe('npm run deno: configuration', () => {
  it('lets Deno read exactly the configuration keys (--allow-env)', () => {
    expect(scriptAllowedEnv().sort()).toEqual(Object.keys(ConfigSchema.shape).sort());
  });

  it('stops at start, naming the key, on a missing key or on RELAYS (collection stays on the Worker)', async () => {
    const { COLLECTOR_API_KEY: _, ...withoutCollectorKey } = config();
    const relays = { ...config(), RELAYS: JSON.stringify([{ cluster: 'c1', url: 'http://127.0.0.1:9' }]), RELAY_SECRET: 'x'.repeat(32) };
    const [missing, withRelays] = await Promise.all([runDenoServe(withoutCollectorKey), runDenoServe(relays)]);
    expect(missing.code, missing.output).toBe(1);
    expect(missing.output).toContain('invalid configuration: COLLECTOR_API_KEY');
    expect(missing.output).not.toContain('Listening on');
    expect(withRelays.code, withRelays.output).toBe(1);
    expect(withRelays.output).toContain('RELAYS: the daily collection runs on the Worker only');
    expect(withRelays.output).not.toContain('Listening on');
  }, 60_000);
});

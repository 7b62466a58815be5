import { env, exports } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { createDb } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { makeEvent, uniqueId } from '../support/events.ts';
import { TEST_ADMIN_KEY } from '../support/keys.ts';
import { db, postEvents, storedFor } from './helpers.ts';

const ORIGIN = 'http://worker.test';

function call(method: string, path: string, init: { body?: string; type?: string; key?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${init.key ?? TEST_ADMIN_KEY}` };
  if (init.body !== undefined) headers['content-type'] = init.type ?? 'application/json';
  return exports.default.fetch(`${ORIGIN}${path}`, { method, headers, ...(init.body === undefined ? {} : { body: init.body }) });
}

async function problem(res: Response, status: number, code?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as { code: string; status: number; errors?: { path: string; message: string }[] };
  expect(body.status).toBe(status);
  if (code) expect(body.code).toBe(code);
  return body;
}

const paths = (body: { errors?: { path: string }[] }) => (body.errors ?? []).map((e) => e.path);

describe('NUL and lone surrogates: 422 naming the field, nothing stored', () => {
  it('ingest: in a value, in a key, escaped or raw', async () => {
    const project = uniqueId('nul');
    const cases: [string, string][] = [
      [JSON.stringify({ events: [makeEvent({ project, context: { project, cluster: 'a\u0000b' } })] }), 'events[0].context.cluster'],
      [JSON.stringify({ events: [makeEvent({ project })] }).replace('"alice"', '"al\\ud800ice"'), 'events[0].identities[0].value'],
      [JSON.stringify({ events: [makeEvent({ project })] }).replace('"jobname"', '"job\\udc00name"'), 'events[0].context'],
      [JSON.stringify({ events: [makeEvent({ project, extra: { note: 'x\u0000' } })] }), 'events[0].extra.note'],
      [JSON.stringify({ events: [makeEvent({ project })] }).replace('"alice"', '"al\\uDBFFice"'), 'events[0].identities[0].value'],
    ];
    for (const [body, path] of cases) {
      const p = await problem(await postEvents(body), 422, 'validation_failed');
      expect(paths(p)[0]).toContain(path);
    }
    expect(await storedFor(project)).toHaveLength(0);
    // A pair of surrogates, escaped, is a character like any other: stored.
    const paired = await postEvents(JSON.stringify({ events: [makeEvent({ project })] }).replace('"alice"', '"al\\uD83D\\ude00ice"'));
    expect(paired.status).toBeLessThan(300);
    expect(await storedFor(project)).toHaveLength(1);
  });

  it('/usage filters and the links routes', async () => {
    const usage = await problem(await call('GET', '/usage?from=2026-01-01&to=2026-01-02&project=a%00b'), 422, 'validation_failed');
    expect(paths(usage)).toEqual(['project']);
    const cluster = await problem(await call('GET', '/usage?from=2026-01-01&to=2026-01-02&cluster=%ED%A0%80%00'), 422);
    expect(paths(cluster)).toEqual(['cluster']);
    const cursor = await problem(await call('GET', '/links/unresolved?cursor=ab%00c'), 422);
    expect(paths(cursor)).toEqual(['cursor']);
    await problem(await call('GET', '/links/events/%00'), 422);
    const note = await problem(
      await call('PUT', `/links/events/${crypto.randomUUID()}`, {
        body: '{"user_id":null,"project_id":null,"allocation_id":null,"note":"a\\u0000"}',
      }),
      422,
    );
    expect(paths(note)).toEqual(['note']);
  });
});

describe('years 0000 and past 9999 (once the offset is applied): 422 naming the field', () => {
  it('ingest', async () => {
    const project = uniqueId('year');
    const early = await problem(
      await postEvents({ events: [makeEvent({ project, time_window_start: '0000-01-01T00:00:00Z', time_window_end: '0000-01-02T00:00:00Z' })] }),
      422,
    );
    expect(paths(early)).toContain('events[0].time_window_start');
    const late = await problem(
      await postEvents({
        events: [makeEvent({ project, time_window_start: '9999-12-31T00:00:00Z', time_window_end: '9999-12-31T23:00:00-05:00' })],
      }),
      422,
    );
    expect(paths(late)).toContain('events[0].time_window_end');
    expect(await storedFor(project)).toHaveLength(0);
  });

  it('/usage from and to', async () => {
    expect(paths(await problem(await call('GET', '/usage?from=0000-01-01&to=0000-01-02'), 422))).toContain('from');
    expect(paths(await problem(await call('GET', '/usage?from=9999-12-31&to=9999-12-31T23:00:00-05:00'), 422))).toContain('to');
  });

  it('/links/unresolved from, to and cursor', async () => {
    expect(paths(await problem(await call('GET', '/links/unresolved?from=0000-01-01T00:00:00Z'), 422))).toContain('from');
    expect(paths(await problem(await call('GET', '/links/unresolved?to=9999-12-31T23:00:00-05:00'), 422))).toContain('to');
    for (const time of ['0000-06-01T00:00:00.000000Z', '+10000-01-01T00:00:00.000000Z', '9999-12-31T23:00:00-05:00']) {
      const cursor = btoa(`${time}|${crypto.randomUUID()}`).replace(/=+$/, '');
      expect(paths(await problem(await call('GET', `/links/unresolved?cursor=${encodeURIComponent(cursor)}`), 400, 'bad_request'))).toEqual([
        'cursor',
      ]);
    }
    const remap = await problem(
      await call('POST', '/links/remap', { body: JSON.stringify({ from: '0000-01-01T00:00:00Z', to: '0000-01-02T00:00:00Z' }) }),
      422,
    );
    expect(paths(remap)).toContain('from');
  });
});

describe('event limits (the zod contract)', () => {
  it('a metric above 9.2e18, a window over 366 days, a collected_at more than a day ahead: 422 naming each, nothing stored', async () => {
    const project = uniqueId('limits');
    const ahead = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const p = await problem(
      await postEvents({
        events: [
          makeEvent({ project, metrics: { cpu_time_seconds: 9.3e18 } }),
          makeEvent({ project, time_window_start: '2024-01-01T00:00:00Z', time_window_end: '2025-01-02T00:00:01Z' }),
          makeEvent({ project, collected_at: ahead }),
          makeEvent({ project, time_window_start: '1969-12-31T00:00:00Z', time_window_end: '1970-01-01T00:00:00Z' }),
        ],
      }),
      422,
    );
    expect(paths(p)).toEqual(
      expect.arrayContaining([
        'events[0].metrics.cpu_time_seconds',
        'events[1].time_window_end',
        'events[2].collected_at',
        'events[3].time_window_start',
      ]),
    );
    expect(await storedFor(project)).toHaveLength(0);
    // At the limits: accepted.
    const ok = await postEvents({
      events: [
        makeEvent({
          project,
          metrics: { cpu_time_seconds: 9.2e18 },
          time_window_start: '2024-01-01T00:00:00Z',
          time_window_end: '2025-01-01T00:00:00Z',
        }),
      ],
    });
    expect(ok.status).toBe(200);
  });
});

describe('JSON bodies', () => {
  it('100,000 levels deep: refused while streaming (400 problem+json), nothing stored', async () => {
    const deep = `{"events":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`;
    const p = await problem(await postEvents(deep), 400, 'malformed_json');
    expect(p).toMatchObject({ code: 'malformed_json' });
    const links = await problem(await call('POST', '/links/remap', { body: `${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}` }), 400);
    expect(links.code).toBe('malformed_json');
    // 64 levels are still fine to parse (then refused by the contract, not the parser).
    await problem(await postEvents(`{"events":[${'['.repeat(62)}${']'.repeat(62)}]}`), 422, 'validation_failed');
  });

  it('POST /admin/collection/backfill: text/plain is 415, malformed JSON 400, a chunked body over the limit 413 — all problem+json', async () => {
    await problem(
      await call('POST', '/admin/collection/backfill', { body: '{"cluster":"x","from":"2026-01-01","to":"2026-01-01"}', type: 'text/plain' }),
      415,
    );
    await problem(await call('POST', '/admin/collection/backfill', { body: '{"cluster":', type: 'application/json' }), 400, 'malformed_json');
    const chunk = new TextEncoder().encode(`{"cluster":"${'x'.repeat(64 * 1024)}`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 1000) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await exports.default.fetch(`${ORIGIN}/admin/collection/backfill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: stream,
    });
    await problem(res, 413, 'payload_too_large');
    expect(sent).toBeLessThan(1000);
    const year = await problem(
      await call('POST', '/admin/collection/backfill', { body: '{"cluster":"x","from":"0000-01-01","to":"0000-01-02"}' }),
      422,
    );
    expect(paths(year)).toContain('from');
  });
});

describe('PostgreSQL data errors that slip through', () => {
  it('SQLSTATE classes 22 and 54 answer 422 problem+json, never 500', async () => {
    const config = parseConfig(env as unknown as Record<string, unknown>);
    const services = {
      config,
      db: createDb(config),
      mappingQueue: env.MAPPING_QUEUE,
      collectQueue: env.COLLECT_QUEUE,
      alertsQueue: env.ALERTS_QUEUE,
    };
    const app = createApp(() => services);
    // Routes that run a statement the database refuses for its data, through the real driver and the app's error handler.
    app.get('/probe/22', async (c) => c.json((await db.execute(sql`SELECT ${'0000-01-01'}::timestamptz AS t`)).rows));
    app.get('/probe/22003', async (c) => c.json((await db.execute(sql`SELECT (${'1e308'}::float8 * 10)::numeric AS t`)).rows));
    app.get('/probe/54', async (c) => c.json((await db.execute(sql`SELECT repeat('x', 2000000000) AS t`)).rows));
    for (const path of ['/probe/22', '/probe/22003', '/probe/54']) {
      const res = await app.request(path);
      const body = await problem(res, 422, 'validation_failed');
      expect(JSON.stringify(body)).not.toMatch(/SELECT|timestamptz/);
    }
  });
});

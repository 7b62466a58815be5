import { exports } from 'cloudflare:workers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeEvent, uniqueId } from '../support/events.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY, TEST_READ_KEY } from '../support/keys.ts';
import { storedFor } from './helpers.ts';

/**
 * Property-based: generated hostile requests at the Worker's routes (real workerd, real database).
 * Whatever is sent, the answer is never a 5xx, every 4xx is problem+json, and a refused ingest stores
 * nothing. Bounded runs (FUZZ_RUNS each) so `npm test` stays fast; a failure prints the seed and the
 * shrunk request to replay it.
 */
const FUZZ_RUNS = 50;
const ORIGIN = 'http://worker.test';

/** Strings that go for the edges: NUL, lone surrogates, formula starts, huge years, numbers as text. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udc00y',
    '=HYPERLINK("x")',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59-05:00',
    '+275760-09-13T00:00:00Z',
    '1e309',
    '-1',
    'NaN',
    '',
    ' ',
    '%00',
    '%ED%A0%80',
  ),
  fc.string({ maxLength: 12 }),
);
const nastyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    nasty,
    fc.double(),
    fc.integer(),
    fc.constantFrom(1e308, -1e308, 9.3e18, 2 ** 63, -0, null, true, false),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nasty, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Percent-encode like a client that sends raw bytes: lone surrogates become U+FFFD, plus raw %XX sequences. */
const encode = (s: string) =>
  [...new TextEncoder().encode(s)]
    .map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`))
    .join('');
const rawPercent = fc.constantFrom('%00', '%ED%A0%80', '%C0%80', '%FF', '%', '%2', '%zz');
const queryString = (keys: string[]) =>
  fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...keys), nasty), fc.oneof(nasty, rawPercent)), { maxLength: 6 })
    .map((pairs) => pairs.map(([k, v]) => `${encode(k)}=${v.startsWith('%') && v.length <= 9 ? v : encode(v)}`).join('&'));
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  '',
  'application/problem+json',
);

async function expectSane(res: Response, what: string): Promise<number> {
  const text = await res.text();
  expect(res.status, `${what} → ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get('content-type'), what).toBe('application/problem+json');
    const body = JSON.parse(text) as { status: number; code: string };
    expect(body.status).toBe(res.status);
  }
  return res.status;
}

function send(method: string, path: string, init: { key?: string; header?: string; type?: string; body?: string | undefined }) {
  const headers: Record<string, string> = {};
  if (init.key) headers[init.header ?? 'authorization'] = init.header ? init.key : `Bearer ${init.key}`;
  if (init.type) headers['content-type'] = init.type;
  return exports.default.fetch(`${ORIGIN}${path}`, { method, headers, ...(init.body === undefined ? {} : { body: init.body }) });
}

/** A valid event with one field (at any depth) replaced by something hostile. */
const mutatedEvent = (project: string) =>
  fc
    .tuple(
      fc.constantFrom(
        'time_window_start',
        'time_window_end',
        'collected_at',
        'metrics',
        'identities',
        'context',
        'extra',
        'source',
        'schema_version',
      ),
      fc.option(fc.constantFrom('cpu_time_seconds', 'used_cpu_percent', 'cluster', 'jobname', 'job_count', '0', 'value', 'x'), { nil: undefined }),
      nastyJson,
    )
    .map(([field, sub, value]) => {
      const event = makeEvent({ project }) as unknown as Record<string, unknown>;
      const target = event[field];
      if (sub !== undefined && target && typeof target === 'object') (target as Record<string, unknown>)[sub] = value;
      else event[field] = value;
      event.context = { ...(event.context as object), project };
      return event;
    });

describe('fuzz: the Worker never answers 5xx, every 4xx is problem+json, refused ingest stores nothing', { timeout: 120_000 }, () => {
  it('POST /collector/resource-usage', async () => {
    const project = uniqueId('fuzz');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutatedEvent(project).map((e) => JSON.stringify({ events: [e] })),
          fc.array(mutatedEvent(project), { minLength: 1, maxLength: 3 }).map((events) => JSON.stringify({ events })),
          nastyJson.map((v) => JSON.stringify(v) ?? 'null'),
          nasty,
        ),
        contentType,
        async (body, type) => {
          const before = (await storedFor(project)).length;
          const status = await expectSane(
            await send('POST', '/collector/resource-usage', { key: TEST_COLLECTOR_KEY, header: 'x-zeus-collector-key', type, body }),
            body.slice(0, 200),
          );
          if (status >= 400) expect((await storedFor(project)).length).toBe(before);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('GET /usage', async () => {
    await fc.assert(
      fc.asyncProperty(
        queryString(['from', 'to', 'bucket', 'group_by', 'project', 'user', 'allocation', 'cluster', 'source']),
        fc.boolean(),
        async (q, csv) => {
          const res = await exports.default.fetch(`${ORIGIN}/usage?${q}`, {
            headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, accept: csv ? 'text/csv' : 'application/json' },
          });
          await expectSane(res, q);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('the links routes', async () => {
    await fc.assert(
      fc.asyncProperty(
        queryString(['status', 'from', 'to', 'limit', 'cursor']),
        fc.oneof(fc.uuid().map(String), nasty.map(encode), rawPercent),
        fc.oneof(
          nastyJson.map((v) => JSON.stringify(v) ?? 'null'),
          nasty,
        ),
        contentType,
        async (q, id, body, type) => {
          await expectSane(await send('GET', `/links/unresolved?${q}`, { key: TEST_ADMIN_KEY }), q);
          await expectSane(await send('GET', `/links/events/${id}`, { key: TEST_ADMIN_KEY }), id);
          await expectSane(await send('PUT', `/links/events/${id}`, { key: TEST_ADMIN_KEY, type, body }), `${id} ${body.slice(0, 200)}`);
          await expectSane(await send('POST', '/links/remap', { key: TEST_ADMIN_KEY, type, body }), body.slice(0, 200));
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('the admin routes', async () => {
    await fc.assert(
      fc.asyncProperty(
        queryString(['limit', 'cluster']),
        fc.oneof(
          fc.record({ cluster: nasty, from: nasty, to: nasty }).map((v) => JSON.stringify(v)),
          nastyJson.map((v) => JSON.stringify(v) ?? 'null'),
          nasty,
        ),
        contentType,
        async (q, body, type) => {
          await expectSane(await send('GET', `/admin/collection/runs?${q}`, { key: TEST_ADMIN_KEY }), q);
          await expectSane(await send('GET', `/admin/collection/status?${q}`, { key: TEST_ADMIN_KEY }), q);
          await expectSane(await send('POST', '/admin/collection/backfill', { key: TEST_ADMIN_KEY, type, body }), body.slice(0, 200));
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('the directory, balance, metrics and alerts routes', async () => {
    const kinds = ['projects', 'users', 'allocations'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...kinds),
        queryString(['active', 'project', 'limit', 'cursor', 'state']),
        fc.oneof(fc.uuid().map(String), nasty.map(encode), rawPercent),
        fc.oneof(
          // Records with hostile fields (refused, or stored under ids nobody else uses).
          fc
            .record({
              id: nasty,
              name: nasty,
              username: nasty,
              email: nasty,
              project_id: nasty,
              valid_from: nasty,
              grants: nastyJson,
              payload: nastyJson,
            })
            .map((r) => JSON.stringify({ projects: [r], users: [r], allocations: [r] })),
          nastyJson.map((v) => JSON.stringify(v) ?? 'null'),
          nasty,
        ),
        contentType,
        async (kind, q, id, body, type) => {
          await expectSane(await send('PUT', `/directory/${kind}`, { key: TEST_ADMIN_KEY, type, body }), body.slice(0, 200));
          await expectSane(await send('GET', `/directory/${kind}?${q}`, { key: TEST_ADMIN_KEY }), q);
          await expectSane(await send('GET', `/allocations?${q}`, { key: TEST_READ_KEY }), q);
          await expectSane(await send('GET', `/allocations/${id}/balance`, { key: TEST_READ_KEY }), id);
          await expectSane(await send('GET', `/admin/alerts?${q}`, { key: TEST_ADMIN_KEY }), q);
          await expectSane(await send('POST', `/admin/alerts/${id}/silence`, { key: TEST_ADMIN_KEY, type, body }), `${id} ${body.slice(0, 200)}`);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
    await expectSane(await send('GET', '/metrics', { key: TEST_READ_KEY }), '/metrics');
  });
});

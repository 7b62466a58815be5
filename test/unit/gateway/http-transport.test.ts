/**
 * Spec §3 transport rules checked with plain fetch (and the driver where it matters): routing,
 * CORS, headers, body parsing, limits, parameter conversion, array mode and connection errors.
 */
import { neon } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_KEYS } from '../../../src/local/gateway/protocol.ts';
import { type FakePostgres, startFakePostgres } from '../../support/fake-postgres.ts';
import { backends, caught, type Harness, postSql, startHarness, uid } from '../../support/gateway-harness.ts';

let harness: Harness;
let fake: FakePostgres;
beforeAll(async () => {
  [harness, fake] = await Promise.all([startHarness(), startFakePostgres()]);
});
afterAll(async () => {
  await Promise.all([harness?.close(), fake?.close()]);
});

const MiB = 1024 * 1024;

function expectJsonCors(headers: Headers): void {
  expect(headers.get('content-type')).toBe('application/json');
  expect(headers.get('access-control-allow-origin')).toBe('*');
}

/** A gateway (non-PostgreSQL) error body: all 17 keys, code and severity "", the rest null. */
function gatewayError(message: string | RegExp) {
  const body: Record<string, unknown> = Object.fromEntries(ERROR_KEYS.map((k) => [k, null]));
  body.message = typeof message === 'string' ? message : expect.stringMatching(message);
  body.code = '';
  body.severity = '';
  return body;
}

describe('routing and CORS', () => {
  it('OPTIONS /sql answers 200 with Allow and CORS headers and an empty body', async () => {
    const res = await fetch(harness.gateway.sqlUrl, { method: 'OPTIONS' });
    expect(res.status).toBe(200);
    expect(res.headers.get('allow')).toBe('OPTIONS, POST');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-max-age')).toBe('86400');
    const allowed = res.headers
      .get('access-control-allow-headers')!
      .split(/,\s*/)
      .map((h) => h.toLowerCase());
    for (const h of [
      'authorization',
      'neon-connection-string',
      'neon-raw-text-output',
      'neon-array-mode',
      'neon-batch-isolation-level',
      'neon-batch-read-only',
      'neon-batch-deferrable',
    ]) {
      expect(allowed).toContain(h);
    }
    expect(await res.text()).toBe('');
  });

  it.each([
    ['GET', '/sql'],
    ['PUT', '/sql'],
    ['DELETE', '/sql'],
    ['POST', '/other'],
    ['GET', '/'],
    ['OPTIONS', '/sql/extra'],
  ])('%s %s answers 400 "query is not supported"', async (method, path) => {
    const res = await fetch(`${harness.gateway.url}${path}`, { method });
    expect(res.status).toBe(400);
    expectJsonCors(res.headers);
    expect(await res.json()).toBe('query is not supported');
  });

  it('POST /sql?x=1 is still the query endpoint (the query string is ignored)', async () => {
    const res = await fetch(`${harness.gateway.sqlUrl}?x=1`, {
      method: 'POST',
      headers: { 'Neon-Connection-String': backends[0]!.url, 'Neon-Array-Mode': 'true', 'Neon-Raw-Text-Output': 'true' },
      body: JSON.stringify({ query: 'SELECT 1 AS one', params: [] }),
    });
    expect(res.status).toBe(200);
    expectJsonCors(res.headers);
    expect(res.headers.get('neon-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toMatchObject({ rows: [['1']], command: 'SELECT', rowCount: 1, rowAsArray: true });
  });
});

describe('request errors', () => {
  const conn = { 'Neon-Connection-String': backends[0]!.url };

  it('a missing Neon-Connection-String is 400 with all 17 keys and code ""', async () => {
    const res = await postSql(harness.gateway, { query: 'SELECT 1', params: [] });
    expect(res.status).toBe(400);
    expectJsonCors(res.headers);
    expect(Object.keys(res.json as object)).toEqual([...ERROR_KEYS]);
    expect(res.json).toEqual(gatewayError('invalid header: neon-connection-string'));
  });

  it('an invalid isolation level is refused even for a single statement', async () => {
    for (const level of ['serializable', 'Chaos', '']) {
      const headers = { ...conn, 'Neon-Batch-Isolation-Level': level };
      const res = await postSql(harness.gateway, { query: 'SELECT 1', params: [] }, headers);
      expect(res.status).toBe(400);
      expectJsonCors(res.headers);
      expect(res.json).toEqual(gatewayError('invalid isolation level'));
    }
  });

  it.each([
    ['not JSON', '{"query": '],
    ['a JSON array', '[1, 2]'],
    ['an object with neither query nor queries', '{"sql": "SELECT 1"}'],
    ['a non-string query', '{"query": 42}'],
    ['params that are not an array', '{"query": "SELECT 1", "params": "x"}'],
  ])('%s is 400 "could not parse the HTTP request body"', async (_what, body) => {
    const res = await postSql(harness.gateway, body, conn);
    expect(res.status).toBe(400);
    expectJsonCors(res.headers);
    expect(res.json).toEqual(gatewayError(/^could not parse the HTTP request body: ./));
  });

  it('the body is parsed as JSON whatever its Content-Type says', async () => {
    const headers = { ...conn, 'Content-Type': 'application/x-www-form-urlencoded' };
    const res = await postSql(harness.gateway, { query: 'SELECT 2 AS two', params: [] }, headers);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ rows: [['2']] });
  });

  it('a body over 10 MiB is 413', async () => {
    const res = await postSql(harness.gateway, { query: 'SELECT $1::text', params: ['x'.repeat(10 * MiB)] }, conn);
    expect(res.status).toBe(413);
    expectJsonCors(res.headers);
    expect(res.json).toEqual(gatewayError('request is too large (max is 10485760 bytes)'));
  });

  it('a streamed (chunked) body over 10 MiB is 413 too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(MiB));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 11) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(harness.gateway.sqlUrl, { method: 'POST', headers: conn, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expectJsonCors(res.headers);
  });

  it('through the driver, an oversize body is "Server error (HTTP status 413)"', async () => {
    const err = await caught(() => neon(backends[0]!.url).query('SELECT $1::text AS t', ['y'.repeat(10 * MiB + 1)]));
    expect(err.name).toBe('NeonDbError');
    expect(err.message).toMatch(/^Server error \(HTTP status 413\): .*request is too large/);
  });

  it('a host that is not allowed is 400 with code ""', async () => {
    const headers = { 'Neon-Connection-String': 'postgresql://u:p@db.example.com/x' };
    const res = await postSql(harness.gateway, { query: 'SELECT 1', params: [] }, headers);
    expect(res.status).toBe(400);
    expectJsonCors(res.headers);
    expect(res.json).toEqual(gatewayError(/host 'db\.example\.com' is not allowed/));
    const err = await caught(() => neon('postgresql://u:p@ep-cool-123.eu-central-1.aws.neon.tech/x').query('SELECT 1'));
    expect(err).toMatchObject({ name: 'NeonDbError', code: '' });
  });

  it('a wrong password is 400 `password authentication failed for user \'<user>\'` with code ""', async () => {
    // The server's own 28P01 comes from a stand-in (the test PostgreSQL trusts every login).
    const url = `postgresql://alice%40corp:wr%6Fng@127.0.0.1:${fake.port}/appdb`;
    const res = await postSql(harness.gateway, { query: 'SELECT 1', params: [] }, { 'Neon-Connection-String': url });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(gatewayError("password authentication failed for user 'alice@corp'"));
    expect(fake.attempts.at(-1)).toEqual({ user: 'alice@corp', password: 'wrong' });
    const err = await caught(() => neon(url).query('SELECT 1'));
    expect(err).toMatchObject({ name: 'NeonDbError', code: '', message: "password authentication failed for user 'alice@corp'" });
  });

  it('a PostgreSQL that cannot be reached is a 500 gateway error', async () => {
    const port = fake.port;
    await fake.close();
    const headers = { 'Neon-Connection-String': `postgresql://u:p@127.0.0.1:${port}/db` };
    const res = await postSql(harness.gateway, { query: 'SELECT 1', params: [] }, headers);
    expect(res.status).toBe(500);
    expectJsonCors(res.headers);
    expect(res.json).toEqual(gatewayError(/^could not connect to the database/));
    fake = await startFakePostgres();
  });
});

describe.each(backends)('wire format on $name', (backend) => {
  const conn = { 'Neon-Connection-String': backend.url };

  it('batch options are echoed in response headers (only when set to true / given)', async () => {
    const res = await postSql(
      harness.gateway,
      { queries: [{ query: 'SELECT 1', params: [] }] },
      {
        ...conn,
        'Neon-Batch-Isolation-Level': 'Serializable',
        'Neon-Batch-Read-Only': 'true',
        'Neon-Batch-Deferrable': 'true',
      },
    );
    expect(res.status).toBe(200);
    expectJsonCors(res.headers);
    expect(res.headers.get('neon-batch-isolation-level')).toBe('Serializable');
    expect(res.headers.get('neon-batch-read-only')).toBe('true');
    expect(res.headers.get('neon-batch-deferrable')).toBe('true');
    const plain = await postSql(
      harness.gateway,
      { queries: [{ query: 'SELECT 1', params: [] }] },
      {
        ...conn,
        'Neon-Batch-Read-Only': 'false',
        'Neon-Batch-Deferrable': 'yes',
      },
    );
    expect([...plain.headers.keys()].filter((h) => h.startsWith('neon-batch'))).toEqual([]);
    const single = await postSql(harness.gateway, { query: 'SELECT 1', params: [] }, { ...conn, 'Neon-Batch-Isolation-Level': 'ReadCommitted' });
    expect(single.status).toBe(200);
    expect(single.headers.get('neon-batch-isolation-level')).toBeNull();
  });

  it('non-string JSON params are converted (§3.4)', async () => {
    const res = await postSql(
      harness.gateway,
      {
        query: `SELECT $1::int AS a, $2::bool AS b, $3::jsonb AS c, $4::text[] AS d, $5::int[] AS e,
                     $6::jsonb[] AS f, $7::text AS g, $8::numeric AS h, $9::text AS i, $10::bool[] AS j`,
        params: [
          42,
          true,
          { a: 1, b: [null] },
          ['x', 'y z', null, 'q"'],
          [
            [1, 2],
            [3, 4],
          ],
          [{ a: 1 }],
          null,
          1.5,
          'plain',
          [true, false],
        ],
      },
      conn,
    );
    expect(res.status).toBe(200);
    expect((res.json as { rows: unknown[] }).rows).toEqual([
      ['42', 't', '{"a": 1, "b": [null]}', '{x,"y z",NULL,"q\\""}', '{{1,2},{3,4}}', '{"{\\"a\\": 1}"}', null, '1.5', 'plain', '{t,f}'],
    ]);
  });

  it('a per-statement arrayMode overrides the Neon-Array-Mode header', async () => {
    const objects = await postSql(harness.gateway, { query: 'SELECT 1 AS a, 2 AS b', params: [], arrayMode: false }, conn);
    expect(objects.json).toMatchObject({ rows: [{ a: '1', b: '2' }], rowAsArray: false });
    const arrays = await postSql(harness.gateway, { query: 'SELECT 1 AS a', arrayMode: true }, { ...conn, 'Neon-Array-Mode': 'false' });
    expect(arrays.json).toMatchObject({ rows: [['1']], rowAsArray: true });
    const batch = await postSql(
      harness.gateway,
      {
        queries: [{ query: 'SELECT 1 AS a' }, { query: 'SELECT 2 AS a', arrayMode: false }],
      },
      conn,
    );
    expect(batch.json).toMatchObject({
      results: [
        { rows: [['1']], rowAsArray: true },
        { rows: [{ a: '2' }], rowAsArray: false },
      ],
    });
  });

  it('without Neon-Raw-Text-Output, values are typed JSON (§3.8)', async () => {
    const res = await postSql(
      harness.gateway,
      {
        query: `SELECT true AS t, 7::int2 AS s, 42 AS i, 1.5::float8 AS f, 'NaN'::float8 AS nan, '{"a":[1]}'::jsonb AS j,
                     9007199254740993::int8 AS big, 1.50::numeric AS n, NULL::int AS z, '2024-01-02'::date AS d`,
        params: [],
      },
      { ...conn, 'Neon-Raw-Text-Output': 'false' },
    );
    expect(res.json).toMatchObject({
      rows: [[true, 7, 42, 1.5, 'NaN', { a: [1] }, '9007199254740993', '1.50', null, '2024-01-02']],
    });
  });

  it('without Neon-Raw-Text-Output, arrays are JSON arrays of converted elements (§3.8)', async () => {
    const res = await postSql(
      harness.gateway,
      {
        query: `SELECT ARRAY[1, NULL, 3] AS ints, '{{1,2},{3,4}}'::int[] AS grid, '{}'::int[] AS empty,
                     ARRAY['a', 'b,c', '"q"', NULL, 'NULL', 'back\\slash', '{x}'] AS texts, ARRAY[true, false] AS bools,
                     ARRAY['{"k":[1]}'::jsonb, 'null'] AS jsons, ARRAY[1.5::float8, 'NaN'] AS floats,
                     ARRAY[1, 9007199254740993]::int8[] AS bigs, '[0:1]={7,8}'::int[] AS bounded,
                     ARRAY['2024-01-02'::date] AS dates`,
        params: [],
      },
      { ...conn, 'Neon-Raw-Text-Output': 'false', 'Neon-Array-Mode': 'false' },
    );
    expect((res.json as { rows: unknown[] }).rows).toEqual([
      {
        ints: [1, null, 3],
        grid: [
          [1, 2],
          [3, 4],
        ],
        empty: [],
        texts: ['a', 'b,c', '"q"', null, 'NULL', 'back\\slash', '{x}'],
        bools: [true, false],
        jsons: [{ k: [1] }, null],
        floats: [1.5, 'NaN'],
        bigs: ['1', '9007199254740993'],
        bounded: [7, 8],
        dates: ['2024-01-02'],
      },
    ]);
  });

  it('an empty batch answers {"results": []}', async () => {
    const res = await postSql(harness.gateway, { queries: [] }, conn);
    expect(res).toMatchObject({ status: 200, json: { results: [] } });
  });

  it('a Bearer token is accepted with a password-less connection string', async () => {
    const url = backend.url.replace(/:[^:@/]*@/, '@');
    const res = await postSql(
      harness.gateway,
      { query: 'SELECT current_user AS u', params: [] },
      {
        'Neon-Connection-String': url,
        Authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.',
      },
    );
    expect(res.status).toBe(200);
  });
});

describe.each(backends.filter((b) => b.name === 'postgres'))('connection strings on $name', (backend) => {
  it('an unknown database is 400 with the real 3D000 fields', async () => {
    const url = new URL(backend.url);
    url.pathname = `/no_such_db_${uid()}`;
    const res = await postSql(harness.gateway, { query: 'SELECT 1', params: [] }, { 'Neon-Connection-String': url.href });
    expect(res.status).toBe(400);
    expectJsonCors(res.headers);
    expect(Object.keys(res.json as object)).toEqual([...ERROR_KEYS]);
    expect(res.json).toMatchObject({ code: '3D000', severity: 'FATAL', message: `database "${url.pathname.slice(1)}" does not exist` });
    const err = await caught(() => neon(url.href).query('SELECT 1'));
    expect(err).toMatchObject({ name: 'NeonDbError', code: '3D000' });
  });

  it('user and database are percent-decoded', async () => {
    const url = new URL(backend.url);
    const db = url.pathname.slice(1);
    url.pathname = `/${[...db].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}`;
    url.username = [...decodeURIComponent(url.username)].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    const rows = await neon(url.href)`SELECT current_database() AS db, current_user AS u`;
    expect(rows).toEqual([{ db, u: decodeURIComponent(new URL(backend.url).username) }]);
  });
});

/**
 * A real relay process (`src/relay/main.ts`) on loopback, reading its own temporary accounting folder:
 * health, the NDJSON stream and its summary, request signing, query parameters, paths.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemSchema } from '../../../src/contracts/problem.ts';
import { signRelayRequest } from '../../../src/contracts/relay-signing.ts';
import {
  parseJobStream,
  rawRelayRequest,
  type RelayProcess,
  startRelayProcess,
  TEST_RELAY_SECRET,
  TEST_RELAY_SECRET_NEXT,
} from '../../support/relay-process.ts';

const DAY = Date.parse('2025-11-19T00:00:00Z') / 1000;
const stamp = (epoch: number) => {
  const d = new Date(epoch * 1000).toISOString(); // the relay runs in UTC (RELAY_TIMEZONE unset)
  return `${d.slice(5, 7)}/${d.slice(8, 10)}/${d.slice(0, 4)} ${d.slice(11, 19)}`;
};
const endRecord = (id: string, end: number) =>
  `${stamp(end)};E;${id};user=alice group=users project=proj-1 queue=workq ctime=${end - 7200} qtime=${end - 7200} ` +
  `etime=${end - 7200} start=${end - 3600} end=${end} Exit_status=0 Resource_List.ncpus=2 Resource_List.walltime=02:00:00 ` +
  `resources_used.cput=01:50:00 resources_used.mem=1024kb resources_used.walltime=01:00:00 exec_host=node1/0*2`;

/** 40 jobs ending through the day, a queued record (skipped), a broken line (malformed). */
const DAY_FILE = [
  ...Array.from({ length: 40 }, (_, i) => endRecord(`${1000 + i}.pbs-test`, DAY + 600 + i * 1800)),
  `${stamp(DAY + 60)};Q;2000.pbs-test;queue=workq`,
  'this is not an accounting line',
  '',
].join('\n');
const NEXT_DAY_FILE = `${endRecord('3000.pbs-test', DAY + 86_400 + 60)}\n`;

const WINDOW = '/v1/jobs?from=2025-11-19T00:00:00Z&to=2025-11-20T00:00:00Z';

let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelayProcess({ accountingFiles: { '20251119': DAY_FILE, '20251120': NEXT_DAY_FILE } });
  // Something a traversal would love to reach: a valid day file just outside the accounting folder.
  mkdirSync(join(relay.scratchDir, 'outside'));
  writeFileSync(join(relay.scratchDir, 'outside', '20251119'), `${endRecord('6666.outside', DAY + 1000)}\n`);
  writeFileSync(join(relay.scratchDir, '20251119'), `${endRecord('6667.outside', DAY + 1000)}\n`);
});

afterAll(async () => {
  await relay?.stop();
  expect(
    relay
      ?.logs()
      .map((l) => l.msg)
      .slice(-2),
  ).toEqual(['stopping', 'stopped']); // SIGTERM: a clean stop
  // Never a secret or a signature in the log, whatever was asked.
  const log = relay?.output() ?? '';
  for (const secret of [TEST_RELAY_SECRET, TEST_RELAY_SECRET_NEXT]) expect(log).not.toContain(secret);
  expect(log).not.toMatch(/[0-9a-f]{64}/);
});

async function problem(res: Response | { status: number; headers: Record<string, unknown>; body: string }) {
  const type = res instanceof Response ? res.headers.get('content-type') : res.headers['content-type'];
  expect(type).toBe('application/problem+json');
  return ProblemSchema.parse(res instanceof Response ? await res.json() : JSON.parse(res.body));
}

describe('relay process: health and jobs', () => {
  it('answers a signed health check with its sources', async () => {
    const res = await relay.fetch('/v1/health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; sources: string[]; time: string };
    expect(body).toMatchObject({ status: 'ok', sources: ['accounting'] });
    expect(Math.abs(Date.parse(body.time) - Date.now())).toBeLessThan(60_000);
  });

  it('streams the jobs that ended in [from, to) as NDJSON, closed by one summary line', async () => {
    const res = await relay.fetch(WINDOW);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const stream = parseJobStream(await res.text());
    expect(stream.records).toHaveLength(40);
    expect(new Set(stream.records.map((r) => r.job_id)).size).toBe(40);
    expect(stream.records[0]).toMatchObject({
      job_id: '1000.pbs-test',
      user: 'alice',
      end: '2025-11-19T00:10:00Z',
      ncpus: 2,
      walltime_used_seconds: 3600,
      origin: { source: 'accounting', record: 'E', file: '20251119', line: 1 },
    });
    expect(stream.summary).toMatchObject({ count: 40, malformed: 1 });
    expect(stream.summary!.skipped).toBeGreaterThanOrEqual(2); // the Q record, the job of the next day
    expect(stream.summary!.malformed_examples[0]).toMatch(/^20251119:42: /);

    const line = await relay.waitForLog((l) => l.msg === 'request' && l.path === '/v1/jobs' && l.records === 40);
    expect(line).toMatchObject({ method: 'GET', status: 200, complete: true, source: 'all' });
    expect(typeof line.duration_ms).toBe('number');
  });

  it('takes offsets (encoded or not) and an explicit source', async () => {
    // 2025-11-19T01:00:00+01:00 = midnight UTC; `to` excludes the job ending at 12:10 UTC and later
    for (const plus of ['%2B', '+']) {
      const path = `/v1/jobs?from=2025-11-19T01:00:00${plus}01:00&to=2025-11-19T14:00:00${plus}02:00&source=accounting`;
      const stream = parseJobStream(await (await relay.fetch(path)).text());
      expect(stream.summary?.count).toBe(24); // ends 00:10, 00:40, … 11:40 UTC
      expect(stream.records.at(-1)?.end).toBe('2025-11-19T11:40:00Z');
    }
  });
});

describe('relay process: signatures', () => {
  const unauthorized = async (res: Response) => {
    expect(res.status).toBe(401);
    const { requestId, ...body } = await problem(res);
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    return body;
  };

  it('accepts either secret while rotating', async () => {
    for (const secret of [TEST_RELAY_SECRET, TEST_RELAY_SECRET_NEXT]) {
      const res = await relay.fetch(WINDOW, { secret });
      expect(res.status).toBe(200);
      expect(parseJobStream(await res.text()).summary?.count).toBe(40);
    }
  });

  it('refuses anything unsigned, badly signed or skewed with one and the same 401', async () => {
    // The clock is read just before signing; the relay's may tick one second on before it checks, which
    // only ever makes a past timestamp older, but a future one less far ahead: hence +302.
    const now = () => Math.floor(Date.now() / 1000);
    const refused = [
      await relay.fetch(WINDOW, { secret: 'a-secret-the-relay-does-not-know' }),
      await fetch(`${relay.url}${WINDOW}`), // no headers at all
      await relay.fetch(WINDOW, { headers: { 'X-Relay-Signature': '' } }),
      await relay.fetch(WINDOW, { headers: { 'X-Relay-Timestamp': 'yesterday' } }),
      await relay.fetch(WINDOW, { nowSeconds: now() - 301 }),
      await relay.fetch(WINDOW, { nowSeconds: now() + 302 }),
      await relay.fetch('/v1/nothing-here', { secret: 'a-secret-the-relay-does-not-know' }), // before routing
    ];
    const bodies = [];
    for (const res of refused) bodies.push(await unauthorized(res));
    for (const body of bodies) expect(body).toEqual(bodies[0]);
    expect(bodies[0]).toMatchObject({ status: 401, code: 'unauthorized', type: '/problems/unauthorized' });
    expect(JSON.stringify(bodies[0])).not.toMatch(/skew|missing|malformed|secret is/);

    // the reason is in the log only
    const reasons = relay
      .logs()
      .filter((l) => l.status === 401)
      .map((l) => l.auth);
    expect(reasons).toEqual(expect.arrayContaining(['signature', 'missing', 'malformed', 'skew']));
  });

  it('accepts a clock 299 s off, within the allowed skew', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    expect((await relay.fetch('/v1/health', { nowSeconds: now() - 299 })).status).toBe(200);
    expect((await relay.fetch('/v1/health', { nowSeconds: now() + 299 })).status).toBe(200);
  });

  it('signs the path and query exactly as sent: a signature for one query does not cover another', async () => {
    const signedFor = await rawRelayRequest(relay.url, WINDOW);
    expect(signedFor.status).toBe(200);
    const headers = await signRelayRequest(TEST_RELAY_SECRET, 'GET', WINDOW);
    const other = await rawRelayRequest(relay.url, WINDOW.replace('20T', '21T'), { secret: null, headers });
    expect(other.status).toBe(401);
    const reordered = await rawRelayRequest(relay.url, '/v1/jobs?to=2025-11-20T00:00:00Z&from=2025-11-19T00:00:00Z', {
      secret: null,
      headers,
    });
    expect(reordered.status).toBe(401);
  });
});

describe('relay process: parameters and paths', () => {
  const badRequest = async (query: string, parameter: string) => {
    const res = await relay.fetch(`/v1/jobs?${query}`);
    expect(res.status, query).toBe(400);
    const body = await problem(res);
    expect(body.code).toBe('bad_request');
    expect(body.errors?.[0]?.path, query).toBe(parameter);
    expect(body.detail).toContain(`'${parameter}'`);
    return body;
  };

  it('names the bad parameter', async () => {
    await badRequest('to=2025-11-20T00:00:00Z', 'from');
    await badRequest('from=2025-11-19T00:00:00Z', 'to');
    await badRequest('from=2025-11-19&to=2025-11-20T00:00:00Z', 'from');
    await badRequest('from=2025-11-19T00:00:00&to=2025-11-20T00:00:00Z', 'from'); // no offset
    await badRequest('from=2025-11-19T00:00:00Z&to=1763596800', 'to');
    await badRequest('from=2025-02-29T00:00:00Z&to=2025-03-01T00:00:00Z', 'from');
    await badRequest('from=2025-11-19T00:00:00Z&to=2025-11-19T00:00:00Z', 'to');
    await badRequest('from=2025-11-20T00:00:00Z&to=2025-11-19T00:00:00Z', 'to');
    const long = await badRequest('from=2025-10-01T00:00:00Z&to=2025-11-01T00:00:01Z', 'to');
    expect(long.detail).toMatch(/longer than 31 days/);
    expect((await relay.fetch('/v1/jobs?from=2025-10-01T00:00:00Z&to=2025-11-01T00:00:00Z')).status).toBe(200);
    await badRequest('from=2025-11-19T00:00:00Z&to=2025-11-20T00:00:00Z&source=slurm', 'source');
    const unconfigured = await badRequest('from=2025-11-19T00:00:00Z&to=2025-11-20T00:00:00Z&source=qstat', 'source');
    expect(unconfigured.detail).toMatch(/not configured.*accounting/);
    await badRequest('from=2025-11-19T00:00:00Z&from=2025-11-18T00:00:00Z&to=2025-11-20T00:00:00Z', 'from');
    await badRequest('from=2025-11-19T00:00:00Z&to=2025-11-20T00:00:00Z&cluster=x', 'cluster');
    await badRequest('from=%E0%A4%A&to=2025-11-20T00:00:00Z', 'from');
  });

  it('never reads outside the accounting folder, whatever the path or source says', async () => {
    const q = 'from=2025-11-19T00:00:00Z&to=2025-11-20T00:00:00Z';
    const attempts: Array<[string, number]> = [
      [`/v1/jobs?${q}&source=../..`, 400],
      [`/v1/jobs?${q}&source=..%2F..%2Foutside`, 400],
      [`/v1/jobs?${q}&source=%2e%2e%2f`, 400],
      [`/v1/jobs?${q}&source=accounting%00`, 400],
      [`/v1/jobs/../../outside/20251119?${q}`, 404],
      [`/v1/%2e%2e/%2e%2e/outside/20251119?${q}`, 404],
      [`/v1/jobs%2F..%2F..%2Foutside?${q}`, 404],
      [`/v1/jobs/?${q}`, 404],
      [`//v1/jobs?${q}`, 404],
      [`/../20251119?${q}`, 404],
      [`/v1/jobs;source=../..?${q}`, 404],
    ];
    for (const [path, status] of attempts) {
      const res = await rawRelayRequest(relay.url, path);
      expect(res.status, path).toBe(status);
      expect(res.body, path).not.toContain('outside');
      expect(res.headers['content-type'], path).toBe('application/problem+json');
    }
    const all = await rawRelayRequest(relay.url, `/v1/jobs?${q}`);
    expect(all.status).toBe(200);
    expect(all.body).not.toContain('outside');
    expect(parseJobStream(all.body).summary?.count).toBe(40);
  });

  it('answers an unknown path with 404 and another method with 405, both as problems', async () => {
    const missing = await relay.fetch('/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect((await problem(missing)).code).toBe('not_found');
    const post = await relay.fetch(WINDOW, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect((await problem(post)).code).toBe('method_not_allowed');
  });

  it('logs one line per request, with the path but never the query', async () => {
    const ids: string[] = [];
    for (const path of [`${WINDOW}&source=accounting`, '/v1/jobs?from=oops&to=2025-11-20T00:00:00Z']) {
      const res = await relay.fetch(path);
      await res.text();
      ids.push(res.headers.get('x-request-id')!);
    }
    const lines = await Promise.all(ids.map((id) => relay.waitForLog((l) => l.request_id === id)));
    await new Promise((r) => setTimeout(r, 100));
    expect(relay.logs().filter((l) => ids.includes(String(l.request_id)))).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatchObject({ msg: 'request', method: 'GET', path: '/v1/jobs' });
      expect(Object.keys(line)).toEqual(expect.arrayContaining(['status', 'records', 'duration_ms', 'request_id']));
      expect(JSON.stringify(line)).not.toContain('oops');
    }
    expect(lines[0]).toMatchObject({ status: 200, records: 40, source: 'accounting', from: '2025-11-19T00:00:00.000Z' });
  });
});

describe('relay process: the built relay parses on threads and serves the same bytes', () => {
  it('a generated day with noise: the same NDJSON body from the bundle (2 parse threads) as from the sources (main thread)', async () => {
    const { writeDemoAccountingLog } = await import('../../../src/local/demo-accounting.ts');
    const threaded = await startRelayProcess({ accountingFiles: {}, bundle: true, env: { RELAY_TIMEZONE: 'Europe/Prague' } });
    try {
      await writeDemoAccountingLog({ dir: threaded.accountingDir, days: ['2026-02-10'], jobsPerDay: 3000, timeZone: 'Europe/Prague', seed: 9 });
      writeFileSync(join(threaded.accountingDir, '20260210'), 'garbage line\n\n', { flag: 'a' });
      const single = await startRelayProcess({
        accountingFiles: {},
        env: { RELAY_TIMEZONE: 'Europe/Prague', RELAY_ACCOUNTING_DIR: threaded.accountingDir },
      });
      try {
        const started = await threaded.waitForLog((l) => l.msg === 'listening');
        expect(started.parse_threads).toBe(2);
        // Memory budget: the built relay loads zod (14 MB resident) only with a database source.
        const { readFileSync } = await import('node:fs');
        expect(readFileSync(new URL('../../../dist/relay/main.mjs', import.meta.url), 'utf8')).not.toMatch(/from ["']zod["']/);
        expect((await single.waitForLog((l) => l.msg === 'listening')).parse_threads).toBe(0);
        const path = '/v1/jobs?from=2026-02-10T00:00:00Z&to=2026-02-11T00:00:00Z';
        const [a, b] = await Promise.all([threaded.fetch(path).then((r) => r.text()), single.fetch(path).then((r) => r.text())]);
        const stream = parseJobStream(a);
        expect(stream.records).toHaveLength(3000);
        expect(stream.summary).toMatchObject({ count: 3000, malformed: 1 });
        expect(a).toBe(b);

        // Clients that go away after the first bytes, more of them than the pool has blocks of memory:
        // every block comes back to the pool, and the next full request is served whole.
        for (let i = 0; i < 8; i++) {
          const controller = new AbortController();
          const res = await threaded.fetch(path, { signal: controller.signal });
          await res.body!.getReader().read();
          controller.abort();
        }
        // A leaked block of memory would leave this request waiting: fail in seconds, not at the test's timeout.
        expect(await threaded.fetch(path, { signal: AbortSignal.timeout(15_000) }).then((r) => r.text())).toBe(b);
      } finally {
        await single.stop();
      }
    } finally {
      await threaded.stop();
    }
  }, 60_000);
});

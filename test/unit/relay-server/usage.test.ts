/**
 * `GET /v1/usage` (the PBS transform run on site) and gzip on the relay's NDJSON routes: in process with
 * sources a test can watch (a failing source, a client that goes away), and through real relay
 * processes, the built one folding on its parse threads and the sources folding on the main thread.
 */
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../../src/contracts/job-record.ts';
import { PbsUsageFold } from '../../../src/contracts/pbs-usage.ts';
import { signRelayRequest } from '../../../src/contracts/relay-signing.ts';
import { UsageLineSchema, UsageStreamSummarySchema } from '../../../src/contracts/usage-line.ts';
import { acceptsGzip, type RelayLogEntry, type RelayServer, startRelayServer } from '../../../src/relay/server.ts';
import type { JobSource } from '../../../src/relay/source.ts';
import { makeJob } from '../../support/jobs.ts';
import { parseJobStream, type RelayProcess, splitRelayStream, startRelayProcess, TEST_RELAY_SECRET } from '../../support/relay-process.ts';

const WINDOW = 'from=2025-11-19T00:00:00Z&to=2025-11-20T00:00:00Z';

function parseUsage(text: string) {
  const { values, summary, error } = splitRelayStream(text);
  return {
    lines: values.map((v) => UsageLineSchema.parse(v)),
    summary: summary ? UsageStreamSummarySchema.parse(summary).summary : null,
    error,
  };
}

const jobAt = (n: number, user = `u${n % 3}`): JobRecord =>
  makeJob({ job_id: `${n}.pbs`, user, project: `p${n % 2}`, end: '2025-11-19T12:00:00Z', ncpus: 2, walltime_used_seconds: 100 + n });

let server: RelayServer | undefined;
const logs: RelayLogEntry[] = [];

async function start(sources: JobSource[]): Promise<RelayServer> {
  server = await startRelayServer({ port: 0, secrets: [TEST_RELAY_SECRET], maxWindowDays: 31, sources, log: (e) => logs.push(e) });
  return server;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  logs.length = 0;
});

async function get(url: string, path: string, headers: Record<string, string> = {}) {
  const signed = await signRelayRequest(TEST_RELAY_SECRET, 'GET', path);
  return new Promise<{ status: number; encoding: string | undefined; body: Buffer }>((resolve, reject) => {
    const req = request(`${url}${path}`, { headers: { ...signed, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const until = async (check: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('Accept-Encoding', () => {
  it('gzip when it is accepted with a weight above 0, never when refused', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('br, gzip;q=0.5')).toBe(true);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('GZIP')).toBe(true);
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('*, gzip;q=0')).toBe(false);
    expect(acceptsGzip('br')).toBe(false);
  });
});

describe('relay /v1/usage, in process', () => {
  it('one line per (project, user, day) with the fold of the jobs /v1/jobs serves, and the totals in the summary', async () => {
    const records = [...Array.from({ length: 30 }, (_, i) => jobAt(i)), makeJob({ end: '2025-11-21T00:00:00Z' })];
    const source: JobSource = {
      kind: 'accounting',
      async *jobs(_w, stats) {
        stats.inputs.push({ name: 'mem' });
        stats.malformed++;
        yield* records;
      },
    };
    const relay = await start([source]);
    const usage = parseUsage((await get(relay.url, `/v1/usage?${WINDOW}`)).body.toString());
    const jobs = parseJobStream((await get(relay.url, `/v1/jobs?${WINDOW}`)).body.toString());
    const fold = new PbsUsageFold();
    for (const j of jobs.records) fold.add(j);
    expect(usage.lines).toEqual(fold.lines());
    expect(usage.lines).toHaveLength(6);
    expect(usage.summary).toEqual({ count: 6, jobs: 30, records: 30, malformed: 1, skipped: 1, inputs: [{ name: 'mem' }], malformed_examples: [] });
    expect(logs.find((l) => l.path === '/v1/usage')).toMatchObject({ status: 200, records: 6, complete: true, encoding: 'identity' });
  });

  it('a source failing part-way gives the error line and no usage line (never a partial aggregate)', async () => {
    const source: JobSource = {
      kind: 'accounting',
      async *jobs() {
        yield jobAt(1);
        throw new Error('disk on fire');
      },
    };
    const relay = await start([source]);
    for (const headers of [{}, { 'accept-encoding': 'gzip' }]) {
      const res = await get(relay.url, `/v1/usage?${WINDOW}`, headers);
      const text = res.encoding === 'gzip' ? gunzipSync(res.body).toString() : res.body.toString();
      expect(parseUsage(text)).toEqual({ lines: [], summary: null, error: { source: 'accounting', message: 'disk on fire' } });
    }
  });

  it('a client that disconnects stops the source', async () => {
    let aborted = false;
    let closed = false;
    const source: JobSource = {
      kind: 'accounting',
      async *jobs(_w, _s, signal) {
        signal.addEventListener('abort', () => (aborted = true));
        try {
          for (let n = 0; ; n++) {
            yield jobAt(n);
            await new Promise((r) => setTimeout(r, 1));
          }
        } finally {
          closed = true;
        }
      },
    };
    const relay = await start([source]);
    const path = `/v1/usage?${WINDOW}`;
    const signed = await signRelayRequest(TEST_RELAY_SECRET, 'GET', path);
    const req = request(`${relay.url}${path}`, { headers: signed });
    req.on('error', () => {});
    req.end();
    await new Promise((r) => setTimeout(r, 200));
    req.destroy();
    await until(() => closed);
    expect(aborted).toBe(true);
    await until(() => logs.length === 1);
    expect(logs[0]).toMatchObject({ path: '/v1/usage', aborted: true, complete: false });
  });

  it('gzip on /v1/jobs and /v1/usage: the same NDJSON, compressed, when asked for', async () => {
    const records = Array.from({ length: 2000 }, (_, i) => jobAt(i, `user-${i % 40}`));
    const source: JobSource = {
      kind: 'accounting',
      async *jobs() {
        yield* records;
      },
    };
    const relay = await start([source]);
    for (const path of [`/v1/jobs?${WINDOW}`, `/v1/usage?${WINDOW}`]) {
      const plain = await get(relay.url, path);
      const zipped = await get(relay.url, path, { 'accept-encoding': 'gzip, deflate' });
      expect(plain.encoding).toBeUndefined();
      expect(zipped.encoding).toBe('gzip');
      expect(gunzipSync(zipped.body).toString()).toBe(plain.body.toString());
      expect(zipped.body.length).toBeLessThan(plain.body.length / 5);
    }
    expect(logs.map((l) => l.encoding)).toEqual(['identity', 'gzip', 'identity', 'gzip']);
  });
});

describe('relay /v1/usage, real processes', () => {
  it('the built relay folds on its parse threads: the same body as the sources folding on the main thread, and as folding /v1/jobs', async () => {
    const { writeDemoAccountingLog } = await import('../../../src/local/demo-accounting.ts');
    const threaded: RelayProcess = await startRelayProcess({ accountingFiles: {}, bundle: true, env: { RELAY_TIMEZONE: 'Europe/Prague' } });
    try {
      const log = await writeDemoAccountingLog({
        dir: threaded.accountingDir,
        days: ['2026-02-10'],
        jobsPerDay: 20_000,
        timeZone: 'Europe/Prague',
        seed: 4,
      });
      writeFileSync(join(threaded.accountingDir, log.files[0]!), 'garbage line\n\n', { flag: 'a' });
      const single = await startRelayProcess({
        accountingFiles: {},
        env: { RELAY_TIMEZONE: 'Europe/Prague', RELAY_ACCOUNTING_DIR: threaded.accountingDir },
      });
      try {
        expect((await threaded.waitForLog((l) => l.msg === 'listening')).parse_threads).toBe(2);
        const window = 'from=2026-02-10T00:00:00Z&to=2026-02-11T00:00:00Z';
        const [a, b, jobsText] = await Promise.all([
          threaded.fetch(`/v1/usage?${window}`).then((r) => r.text()),
          single.fetch(`/v1/usage?${window}`).then((r) => r.text()),
          single.fetch(`/v1/jobs?${window}`).then((r) => r.text()),
        ]);
        expect(a).toBe(b);
        const usage = parseUsage(a);
        const jobs = parseJobStream(jobsText);
        const fold = new PbsUsageFold();
        for (const j of jobs.records) fold.add(j);
        expect(usage.lines).toEqual(fold.lines());
        expect(usage.summary).toMatchObject({
          count: fold.size,
          jobs: fold.totals.jobs,
          records: jobs.records.length,
          malformed: jobs.summary!.malformed,
          skipped: jobs.summary!.skipped,
        });
        expect(usage.summary!.malformed).toBeGreaterThanOrEqual(1);
        // Kilobytes where /v1/jobs sends megabytes.
        expect(a.length * 50).toBeLessThan(jobsText.length);

        // gzip through the threads too, and clients that go away: every block of memory comes back.
        const zipped = await get(threaded.url, `/v1/usage?${window}`, { 'accept-encoding': 'gzip' });
        expect(gunzipSync(zipped.body).toString()).toBe(a);
        for (let i = 0; i < 8; i++) {
          const controller = new AbortController();
          const pending = threaded.fetch(`/v1/usage?${window}`, { signal: controller.signal }).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 30));
          controller.abort();
          await pending;
        }
        await threaded.waitForLog((l) => l.msg === 'request' && l.aborted === true);
        expect(await threaded.fetch(`/v1/usage?${window}`, { signal: AbortSignal.timeout(20_000) }).then((r) => r.text())).toBe(a);
      } finally {
        await single.stop();
      }
    } finally {
      await threaded.stop();
    }
  }, 120_000);
});

describe('relay parse threads and the memory budget', () => {
  it('clamps RELAY_PARSE_THREADS to the count that fits in 100 MB, and says so at start-up', async () => {
    const relay = await startRelayProcess({ accountingFiles: {}, bundle: true, env: { RELAY_PARSE_THREADS: '8' } });
    try {
      expect((await relay.waitForLog((l) => l.msg === 'listening')).parse_threads).toBe(2);
      expect(relay.logs().find((l) => l.level === 'warn')).toMatchObject({ parse_threads_asked: 8, parse_threads: 2 });
    } finally {
      await relay.stop();
    }
  }, 60_000);
});

/**
 * The stream itself, in process, with sources whose every step a test can watch: backpressure, abort on
 * disconnect, a source failing mid-stream. (relay-process.test.ts covers the same through a real relay.)
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../../src/contracts/job-record.ts';
import { signRelayRequest } from '../../../src/contracts/relay-signing.ts';
import { type RelayLogEntry, type RelayServer, startRelayServer } from '../../../src/relay/server.ts';
import type { JobSource } from '../../../src/relay/source.ts';
import { parseJobStream, TEST_RELAY_SECRET } from '../../support/relay-process.ts';

const FROM = '2025-11-19T00:00:00Z';
const TO = '2025-11-20T00:00:00Z';
const JOBS = `/v1/jobs?from=${FROM}&to=${TO}`;

function job(n: number, end = '2025-11-19T12:00:00Z'): JobRecord {
  return {
    job_id: `${n}.pbs-test`,
    user: 'alice',
    group: 'users',
    project: 'proj-1',
    account: null,
    queue: 'workq',
    jobname: `job-${n}-${'x'.repeat(400)}`,
    ctime: null,
    qtime: null,
    etime: null,
    start: '2025-11-19T11:00:00Z',
    end,
    walltime_used_seconds: 3600,
    walltime_requested_seconds: 7200,
    cpu_time_seconds: 3500,
    cpu_percent: 97,
    mem_used_bytes: 1024,
    vmem_used_bytes: null,
    mem_requested_bytes: 4096,
    ncpus: 1,
    ngpus: 0,
    nodes: 1,
    exit_status: 0,
    run_count: 1,
    exec_host: 'node1/0',
    origin: { source: 'accounting', record: 'E', file: '20251119', line: n },
  };
}

/** A source that says what happened to it. */
function watchedSource(body: (signal: AbortSignal, seen: { produced: number; aborted: boolean; closed: boolean }) => AsyncGenerator<JobRecord>) {
  const seen = { produced: 0, aborted: false, closed: false };
  const source: JobSource = {
    kind: 'accounting',
    async *jobs(_window, stats, signal) {
      stats.inputs.push({ name: 'watched' });
      signal.addEventListener('abort', () => (seen.aborted = true));
      try {
        yield* body(signal, seen);
      } finally {
        seen.closed = true;
      }
    },
  };
  return { source, seen };
}

let server: RelayServer | undefined;
const logs: RelayLogEntry[] = [];

async function start(sources: JobSource[], nowSeconds?: () => number, stalledClientMs?: number): Promise<RelayServer> {
  server = await startRelayServer({
    port: 0,
    ...(stalledClientMs ? { stalledClientMs } : {}),
    secrets: [TEST_RELAY_SECRET],
    maxWindowDays: 31,
    sources,
    log: (e) => logs.push(e),
    ...(nowSeconds ? { nowSeconds } : {}),
  });
  return server;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  logs.length = 0;
});

/** GET with node:http so that the test controls reading (pause) and the socket (destroy). */
async function open(url: string, path: string) {
  const headers = await signRelayRequest(TEST_RELAY_SECRET, 'GET', path);
  return new Promise<{ res: import('node:http').IncomingMessage; destroy: () => void }>((resolve, reject) => {
    const req = request(`${url}${path}`, { headers }, (res) => resolve({ res, destroy: () => req.destroy() }));
    req.on('error', reject);
    req.end();
  });
}

const until = async (check: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('relay clock skew', () => {
  it('accepts a timestamp up to 300 s off and refuses 301 s, either way', async () => {
    const NOW = 1_763_500_000;
    const relay = await start([], () => NOW);
    const status = async (signedAt: number) => {
      const headers = await signRelayRequest(TEST_RELAY_SECRET, 'GET', '/v1/health', signedAt);
      return (await fetch(`${relay.url}/v1/health`, { headers })).status;
    };
    expect([await status(NOW - 300), await status(NOW + 300), await status(NOW)]).toEqual([200, 200, 200]);
    expect([await status(NOW - 301), await status(NOW + 301)]).toEqual([401, 401]);
    expect(logs.filter((l) => l.status === 401).map((l) => l.auth)).toEqual(['skew', 'skew']);
  });
});

describe('relay job stream', () => {
  it('stops pulling from the source while the client does not read (backpressure)', async () => {
    const { source, seen } = watchedSource(async function* (signal) {
      for (let n = 1; !signal.aborted; n++) {
        seen.produced++;
        yield job(n);
      }
    });
    const relay = await start([source]);
    const { res, destroy } = await open(relay.url, JOBS);
    res.pause();
    await new Promise((r) => setTimeout(r, 400));
    const stalled = seen.produced;
    await new Promise((r) => setTimeout(r, 300));
    // socket buffers hold a few MB (~500 bytes a record); an unbounded relay would be at millions by now
    expect(stalled).toBeLessThan(50_000);
    expect(seen.produced).toBe(stalled);

    let received = 0;
    res.on('data', (chunk: Buffer) => (received += chunk.length));
    res.resume();
    await until(() => seen.produced > stalled + 1000);
    destroy();
    await until(() => seen.closed);
    expect(seen.aborted).toBe(true);
    expect(received).toBeGreaterThan(0);
  });

  it('drops a client that stops reading, and closes the source', async () => {
    const { source, seen } = watchedSource(async function* (signal) {
      for (let n = 1; !signal.aborted; n++) yield job(n);
    });
    const relay = await start([source], undefined, 300);
    const { res } = await open(relay.url, JOBS);
    res.pause();
    await until(() => seen.closed);
    await until(() => logs.length === 1);
    expect(logs[0]).toMatchObject({
      level: 'error',
      complete: false,
      aborted: true,
      error: { source: 'client', message: 'the client read nothing for 300 ms' },
    });
    res.destroy();
  });

  it('aborts the source when the client disconnects, and logs it', async () => {
    const { source, seen } = watchedSource(async function* (signal) {
      yield job(1);
      await new Promise((resolve) => signal.addEventListener('abort', resolve)); // a slow source
      throw signal.reason;
    });
    const relay = await start([source]);
    const { res, destroy } = await open(relay.url, JOBS);
    await new Promise((resolve) => res.once('data', resolve));
    destroy();
    await until(() => seen.closed);
    expect(seen.aborted).toBe(true);
    await until(() => logs.length === 1);
    expect(logs[0]).toMatchObject({ msg: 'request', status: 200, records: 1, aborted: true, complete: false });
  });

  it('ends the stream with an error line instead of the summary when a source fails mid-stream', async () => {
    const { source } = watchedSource(async function* () {
      yield job(1);
      yield job(2);
      throw new Error('disk on fire');
    });
    const relay = await start([source]);
    const { res } = await open(relay.url, JOBS);
    let body = '';
    for await (const chunk of res) body += String(chunk);
    const stream = parseJobStream(body);
    expect(stream.records.map((r) => r.job_id)).toEqual(['1.pbs-test', '2.pbs-test']);
    expect(stream.summary).toBeNull();
    expect(stream.error).toEqual({ source: 'accounting', message: 'disk on fire' });
    expect(logs[0]).toMatchObject({
      level: 'error',
      status: 200,
      records: 2,
      complete: false,
      error: { source: 'accounting', message: 'disk on fire' },
    });
  });

  it('reads every configured source in turn and counts what it leaves out of the window', async () => {
    const a = watchedSource(async function* () {
      yield job(1);
      yield job(2, '2025-11-20T00:00:00Z'); // `to` is exclusive
    });
    const b: JobSource = {
      kind: 'qstat',
      async *jobs(_w, stats) {
        stats.inputs.push({ name: 'qstat -x -f -F json', lines: 1 });
        stats.malformed++;
        stats.malformed_examples.push('job 9: bad walltime');
        yield { ...job(3), origin: { source: 'qstat', record: 'E' } };
      },
    };
    const relay = await start([a.source, b]);
    const { res } = await open(relay.url, JOBS);
    let body = '';
    for await (const chunk of res) body += String(chunk);
    const stream = parseJobStream(body);
    expect(stream.records.map((r) => [r.job_id, r.origin.source])).toEqual([
      ['1.pbs-test', 'accounting'],
      ['3.pbs-test', 'qstat'],
    ]);
    expect(stream.summary).toEqual({
      count: 2,
      malformed: 1,
      skipped: 1,
      inputs: [{ name: 'watched' }, { name: 'qstat -x -f -F json', lines: 1 }],
      malformed_examples: ['job 9: bad walltime'],
    });
  });
});

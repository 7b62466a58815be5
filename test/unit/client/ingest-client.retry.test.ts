import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type BatchResult,
  createIngestClient,
  type IngestClientEvent,
  type IngestClientOptions,
  type SendFailure,
} from '../../../src/client/index.ts';
import { makeEvents, problem, type ScriptedServer, startScriptedServer } from './scripted-server.ts';

const KEY = 'unit-client-key-8c4e2a6f0d1b';
let server: ScriptedServer;

beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

/** A client whose sleeps are recorded instead of waited, and whose progress notes are kept. */
function client(opts: Partial<IngestClientOptions> = {}) {
  const delays: number[] = [];
  const notes: IngestClientEvent[] = [];
  const c = createIngestClient({
    endpoint: server.url,
    apiKey: KEY,
    sleep: async (ms) => void delays.push(ms),
    onEvent: (e) => notes.push(e),
    ...opts,
  });
  return { send: c.send, delays, notes };
}

function failureOf(b: BatchResult | undefined): SendFailure {
  if (b?.outcome !== 'failed') throw new Error(`expected a failed batch, got ${b?.outcome}`);
  return b.failure;
}

describe('retries', () => {
  it('honours Retry-After on 503 and 429, bounded by maxDelayMs', async () => {
    server.script(problem(503, 'database_unavailable', 'retry later', { headers: { 'Retry-After': '2' } }), {
      status: 429,
      headers: { 'Retry-After': '120' },
      body: 'slow down',
    });
    const { send, delays } = client({ maxDelayMs: 5000 });
    const report = await send(makeEvents(3));
    expect(server.requests).toHaveLength(3);
    expect(server.requests[2]!.body).toEqual(server.requests[0]!.body);
    expect(delays).toEqual([2000, 5000]);
    expect(report.ok).toBe(true);
    expect(report.batches[0]).toMatchObject({ outcome: 'ok', attempts: 3, status: 200 });
  });

  it('reads a problem whose code this client does not know yet (a newer server)', async () => {
    server.script(problem(429, 'rate_limited', 'too many requests', { headers: { 'Retry-After': '1' } }));
    const { send, notes, delays } = client({ maxAttempts: 1 });
    const report = await send(makeEvents(1));
    expect(server.requests).toHaveLength(1);
    expect(delays).toEqual([]);
    expect(failureOf(report.batches[0])).toMatchObject({
      kind: 'http',
      status: 429,
      message: 'HTTP 429 rate_limited: too many requests',
      problem: { code: 'rate_limited', status: 429 },
    });
    expect(notes).toMatchObject([{ type: 'batch', outcome: 'failed', status: 429, attempts: 1 }]);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 3000).toUTCString();
    server.script({ status: 503, headers: { 'Retry-After': at } });
    const { send, delays } = client();
    await send(makeEvents(1));
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThan(1000);
    expect(delays[0]).toBeLessThanOrEqual(3000);
  });

  it('backs off exponentially with full jitter, capped, then reports the batch failed and goes on', async () => {
    server.script('ok', ...Array(4).fill({ status: 500, body: 'boom' }));
    const randoms = [0.999, 0.5, 0.999];
    const { send, delays, notes } = client({
      batchMax: 2,
      maxAttempts: 4,
      baseDelayMs: 100,
      maxDelayMs: 250,
      random: () => randoms.shift()!,
    });
    const report = await send(makeEvents(6));

    // batch 0: 1 request; batch 1: 4 attempts; batch 2: 1 request.
    expect(server.requests).toHaveLength(6);
    expect(delays).toEqual([99, 100, 249]); // 0.999×100, 0.5×200, 0.999×min(250, 400)
    expect(report.ok).toBe(false);
    expect(report.stopped).toBeUndefined();
    expect(report.totals).toEqual({ events: 6, inserted: 4, updated: 0, unchanged: 0, failed: 2, skipped: 0 });
    expect(report.batches.map((b) => [b.outcome, b.attempts, b.status])).toEqual([
      ['ok', 1, 200],
      ['failed', 4, 500],
      ['ok', 1, 200],
    ]);
    expect(failureOf(report.batches[1])).toEqual({ kind: 'http', status: 500, message: 'HTTP 500: boom', body: 'boom' });
    expect(notes.filter((n) => n.type === 'retry').map((n) => n.type === 'retry' && n.attempt)).toEqual([1, 2, 3]);
  });

  it('retries a reset connection', async () => {
    server.script('destroy');
    const { send, notes } = client();
    const report = await send(makeEvents(2));
    expect(server.requests).toHaveLength(2);
    expect(report.batches[0]).toMatchObject({ outcome: 'ok', attempts: 2 });
    expect(notes[0]).toMatchObject({ type: 'retry', kind: 'network', status: null });
  });

  it('reports a network failure after the last attempt', async () => {
    server.script('destroy', 'destroy');
    const report = await client({ maxAttempts: 2 }).send(makeEvents(1));
    expect(server.requests).toHaveLength(2);
    expect(report.batches[0]).toMatchObject({ outcome: 'failed', attempts: 2, status: null });
    expect(failureOf(report.batches[0]).kind).toBe('network');
  });

  it('times out an attempt that gets no answer, and retries it', async () => {
    server.script('hang', 'hang');
    const began = Date.now();
    const report = await client({ maxAttempts: 2, timeoutMs: 100 }).send(makeEvents(1));
    expect(Date.now() - began).toBeLessThan(1500);
    expect(server.requests).toHaveLength(2);
    expect(report.batches[0]).toMatchObject({ outcome: 'failed', attempts: 2, status: null });
    expect(failureOf(report.batches[0])).toEqual({ kind: 'timeout', message: 'no complete answer within 100 ms' });
  });

  it('times out an injected fetch that ignores the abort signal', async () => {
    const report = await client({ maxAttempts: 1, timeoutMs: 50, fetch: () => new Promise<Response>(() => {}) }).send(makeEvents(1));
    expect(failureOf(report.batches[0]).kind).toBe('timeout');
  });
});

describe('no retry', () => {
  it.each([
    [400, 'bad_request'],
    [413, 'payload_too_large'],
    [415, 'unsupported_media_type'],
    [422, 'validation_failed'],
  ])('%i: one request, the problem in the report, the next batch still sent', async (status, code) => {
    server.script(problem(status, code, `refused with ${status}`));
    const { send, delays } = client({ batchMax: 1 });
    const report = await send(makeEvents(2));
    expect(server.requests).toHaveLength(2);
    expect(delays).toEqual([]);
    expect(report.batches.map((b) => [b.outcome, b.attempts, b.status])).toEqual([
      ['failed', 1, status],
      ['ok', 1, 200],
    ]);
    const failure = failureOf(report.batches[0]);
    expect(failure).toMatchObject({ kind: 'http', status, message: `HTTP ${status} ${code}: refused with ${status}` });
    expect(failure.kind === 'http' && failure.problem).toMatchObject({ status, code, detail: `refused with ${status}` });
  });

  it('keeps a non-problem error body as text', async () => {
    server.script({ status: 400, headers: { 'Content-Type': 'text/html' }, body: '<h1>Bad</h1>' });
    const report = await client().send(makeEvents(1));
    expect(failureOf(report.batches[0])).toEqual({ kind: 'http', status: 400, message: 'HTTP 400: <h1>Bad</h1>', body: '<h1>Bad</h1>' });
  });

  it('does not retry a 200 that is not an IngestResponse', async () => {
    server.script({ status: 200, headers: { 'Content-Type': 'application/json' }, body: { ok: true } });
    const report = await client().send(makeEvents(1));
    expect(server.requests).toHaveLength(1);
    expect(failureOf(report.batches[0])).toMatchObject({ kind: 'parse', status: 200, body: '{"ok":true}' });
  });
});

describe('stopping', () => {
  it('401 stops the whole send at once; the rest is skipped', async () => {
    server.script(problem(401, 'unauthorized', 'missing or unknown X-Zeus-Collector-Key'));
    const { send, notes } = client({ batchMax: 100 });
    const report = await send(makeEvents(250));
    expect(server.requests).toHaveLength(1);
    expect(report.ok).toBe(false);
    expect(report.stopped).toBe('unauthorized');
    expect(report.batches.map((b) => [b.outcome, b.start, b.end, b.attempts])).toEqual([
      ['failed', 0, 100, 1],
      ['skipped', 100, 200, 0],
      ['skipped', 200, 250, 0],
    ]);
    expect(report.totals).toMatchObject({ failed: 100, skipped: 150, inserted: 0 });
    expect(notes.at(-1)).toEqual({ type: 'stopped', reason: 'unauthorized', batch: 0, skippedBatches: 2, skippedEvents: 150 });
  });

  it('stopOnError stops after a batch that failed its retries', async () => {
    server.script('ok', { status: 502 }, { status: 502 });
    const report = await client({ batchMax: 1, maxAttempts: 2, stopOnError: true }).send(makeEvents(3));
    expect(server.requests).toHaveLength(3);
    expect(report.stopped).toBe('stop_on_error');
    expect(report.batches.map((b) => b.outcome)).toEqual(['ok', 'failed', 'skipped']);
    expect(report.totals).toMatchObject({ inserted: 1, failed: 1, skipped: 1 });
  });
});

describe('the API key', () => {
  it('is nowhere in reports, failures or progress notes, even when the server echoes it', async () => {
    server.script(
      { status: 503, headers: { 'Content-Type': 'text/plain' }, body: `no backend for key ${KEY}` },
      problem(422, 'validation_failed', `key ${KEY} may not write here`),
      problem(401, 'unauthorized', `unknown key ${KEY}`),
    );
    const { send, notes } = client({ batchMax: 1 });
    const report = await send(makeEvents(3));
    expect(server.requests.every((r) => r.headers['x-zeus-collector-key'] === KEY)).toBe(true);
    const everything = JSON.stringify({ report, notes });
    expect(everything).toContain('[redacted]');
    expect(everything).not.toContain(KEY);
  });

  it('is not in a network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const report = await client({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 }).send(makeEvents(1));
    const failure = failureOf(report.batches[0]);
    expect(failure).toMatchObject({ kind: 'network', message: expect.stringMatching(/ECONNREFUSED/) });
    expect(JSON.stringify(report)).not.toContain(KEY);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIngestClient, IngestValidationError, type IngestClientOptions } from '../../../src/client/index.ts';
import { makeEvents, problem, type ScriptedServer, startScriptedServer } from './scripted-server.ts';

const KEY = 'unit-client-key-3f9a1c7e5b2d';
let server: ScriptedServer;

beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

function client(opts: Partial<IngestClientOptions> = {}) {
  return createIngestClient({ endpoint: server.url, apiKey: KEY, sleep: async () => {}, ...opts });
}

describe('batching', () => {
  it('sends 250 events as 100/100/50 with the key, and maps indexes back to the caller list', async () => {
    const events = makeEvents(250);
    const report = await client({ batchMax: 100 }).send(events);

    expect(server.requests.map((r) => r.body.events.length)).toEqual([100, 100, 50]);
    for (const r of server.requests) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('/collector/resource-usage');
      expect(r.headers['x-zeus-collector-key']).toBe(KEY);
      expect(r.headers['content-type']).toBe('application/json');
    }
    // Order kept, defaults applied (schema_version), nothing else changed.
    const sent = server.requests.flatMap((r) => r.body.events);
    expect(sent.map((e) => (e.context as { jobname: string }).jobname)).toEqual(events.map((e) => e.context!.jobname));
    expect(sent[0]).toEqual({ schema_version: '1.0', ...events[0] });

    expect(report.ok).toBe(true);
    expect(report.stopped).toBeUndefined();
    expect(report.totals).toEqual({ events: 250, inserted: 250, updated: 0, unchanged: 0, failed: 0, skipped: 0 });
    expect(report.batches.map((b) => [b.batch, b.start, b.end, b.outcome, b.status, b.attempts])).toEqual([
      [0, 0, 100, 'ok', 200, 1],
      [1, 100, 200, 'ok', 200, 1],
      [2, 200, 250, 'ok', 200, 1],
    ]);
    const indexes = report.batches.flatMap((b) => (b.outcome === 'ok' ? b.response.events.map((e) => e.index) : []));
    expect(indexes).toEqual(Array.from({ length: 250 }, (_, i) => i));
    for (const b of report.batches) expect(b.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('defaults to batches of 100 (COLLECTOR_BATCH_MAX) and sends nothing for an empty list', async () => {
    await client().send(makeEvents(101));
    expect(server.requests.map((r) => r.body.events.length)).toEqual([100, 1]);

    server.reset();
    const empty = await client().send([]);
    expect(server.requests).toHaveLength(0);
    expect(empty).toMatchObject({ ok: true, batches: [], totals: { events: 0 } });
  });

  it('refuses a batchMax above MAX_EVENTS_PER_REQUEST or below 1', () => {
    expect(() => client({ batchMax: 1001 })).toThrow(RangeError);
    expect(() => client({ batchMax: 0 })).toThrow(/batchMax must be an integer from 1 to 1000/);
    expect(() => client({ batchMax: 1000 })).not.toThrow();
  });

  it('maps problem paths of a later batch back to caller positions', async () => {
    server.script(
      'ok',
      problem(422, 'validation_failed', '1 invalid field: events[1].context', {
        errors: [{ path: 'events[1].context', message: 'unknown cluster' }],
      }),
    );
    const report = await client({ batchMax: 2 }).send(makeEvents(4));
    const failed = report.batches[1]!;
    expect(failed.outcome).toBe('failed');
    if (failed.outcome !== 'failed' || failed.failure.kind !== 'http') throw new Error('expected an http failure');
    expect(failed.failure.problem?.errors).toEqual([{ path: 'events[3].context', message: 'unknown cluster' }]);
    expect(failed.failure.problem?.detail).toBe('1 invalid field: events[1].context');
  });
});

describe('local validation', () => {
  it('refuses bad events naming every path, and sends nothing', async () => {
    const events = makeEvents(10);
    events[3] = { ...events[3]!, metrics: { cpu_time_seconds: -1 } };
    events[7] = { ...events[7]!, time_window_end: '2025-11-18T00:00:00Z' };

    const err = await client()
      .send(events)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestValidationError);
    const issues = (err as IngestValidationError).issues;
    expect(issues).toEqual([
      { index: 3, path: 'events[3].metrics.cpu_time_seconds', message: 'must not be negative' },
      { index: 7, path: 'events[7].time_window_end', message: 'must be after time_window_start' },
    ]);
    expect((err as Error).message).toContain('events[7].time_window_end');
    expect(server.requests).toHaveLength(0);
  });

  it('names array positions inside an event', async () => {
    const events = makeEvents(1);
    events.push({
      ...events[0]!,
      identities: [
        { scheme: 'perun_user', value: 'ok' },
        { scheme: 'nope' as 'oidc_sub', value: 'x' },
      ],
    });
    const err = (await client()
      .send(events)
      .catch((e: unknown) => e)) as IngestValidationError;
    expect(err.issues.map((i) => i.path)).toEqual(['events[1].identities[1].scheme']);
    expect(server.requests).toHaveLength(0);
  });
});

describe('endpoint and key', () => {
  it('appends the ingest path to a base URL with or without a path, and keeps a full one', async () => {
    await client({ endpoint: `${server.url}/zeus/` }).send(makeEvents(1));
    await client({ endpoint: `${server.url}/collector/resource-usage` }).send(makeEvents(1));
    expect(server.requests.map((r) => r.url)).toEqual(['/zeus/collector/resource-usage', '/collector/resource-usage']);
  });

  it('refuses a missing or malformed key without quoting it, and a non-http endpoint', () => {
    expect(() => client({ apiKey: '' })).toThrow(/apiKey is required/);
    const bad = 'secret with spaces';
    let message = '';
    try {
      client({ apiKey: bad });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/apiKey must be printable ASCII/);
    expect(message).not.toContain('secret');
    expect(() => client({ endpoint: 'ftp://x' })).toThrow(/http/);
    expect(() => client({ endpoint: 'not a url' })).toThrow(/absolute/);
  });
});

import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createIngestClient } from '../../src/client/index.ts';
import type { UsageEventInput } from '../../src/contracts/usage-event.ts';
import { TEST_COLLECTOR_KEY } from '../support/keys.ts';

/** 250 distinct events under one project name of their own, so runs never see each other's rows. */
function makeEvents(project: string, n: number): UsageEventInput[] {
  return Array.from({ length: n }, (_, i) => ({
    source: 'pbs' as const,
    time_window_start: '2025-11-19T00:00:00Z',
    time_window_end: '2025-11-20T00:00:00Z',
    collected_at: '2025-11-20T01:00:00Z',
    metrics: { cpu_time_seconds: 3600 + i, vcpus_allocated: 4, walltime_used: 6800, cpu_core_seconds: 27200 },
    identities: [{ scheme: 'perun_user' as const, value: `user${i % 7}`, authority: 'perun.cesnet.cz' }],
    context: { cluster: 'metacentrum', project, jobname: `${i}.meta`, job_count: 1 },
  }));
}

describe('ingest client against the real Worker', () => {
  const client = createIngestClient({
    endpoint: 'http://worker.test',
    apiKey: TEST_COLLECTOR_KEY,
    batchMax: 100,
    maxAttempts: 1,
    fetch: (req) => exports.default.fetch(req),
  });

  it('stores 250 events in 3 batches, and sending them again changes nothing', async () => {
    const events = makeEvents(`client-${crypto.randomUUID()}`, 250);

    const first = await client.send(events);
    expect(first.batches.map((b) => [b.start, b.end, b.outcome, b.status, b.attempts])).toEqual([
      [0, 100, 'ok', 200, 1],
      [100, 200, 'ok', 200, 1],
      [200, 250, 'ok', 200, 1],
    ]);
    expect(first.ok).toBe(true);
    expect(first.totals).toEqual({ events: 250, inserted: 250, updated: 0, unchanged: 0, failed: 0, skipped: 0 });
    const results = first.batches.flatMap((b) => (b.outcome === 'ok' ? b.response.events : []));
    expect(results.map((e) => e.index)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(new Set(results.map((e) => e.id)).size).toBe(250);

    const again = await client.send(events);
    expect(again.ok).toBe(true);
    expect(again.totals).toEqual({ events: 250, inserted: 0, updated: 0, unchanged: 250, failed: 0, skipped: 0 });
    const ids = again.batches.flatMap((b) => (b.outcome === 'ok' ? b.response.events.map((e) => [e.index, e.id]) : []));
    expect(ids).toEqual(results.map((e) => [e.index, e.id]));
  });

  it('stops at a 401 from the Worker without sending the other batches', async () => {
    const wrongKey = createIngestClient({
      endpoint: 'http://worker.test',
      apiKey: 'not-a-valid-collector-key-000000',
      batchMax: 100,
      fetch: (req) => exports.default.fetch(req),
    });
    const report = await wrongKey.send(makeEvents(`client-${crypto.randomUUID()}`, 150));
    expect(report.stopped).toBe('unauthorized');
    expect(report.batches.map((b) => [b.outcome, b.status])).toEqual([
      ['failed', 401],
      ['skipped', null],
    ]);
    const failure = report.batches[0]!.outcome === 'failed' ? report.batches[0]!.failure : undefined;
    expect(failure).toMatchObject({ kind: 'http', status: 401, problem: { code: 'unauthorized', status: 401 } });
    expect(JSON.stringify(report)).not.toContain('not-a-valid-collector-key');
  });
});

import { env, exports } from 'cloudflare:workers';
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import { type Config, parseConfig } from '../../src/config.ts';
import { JobRecordSchema, JobStreamSummarySchema } from '../../src/contracts/job-record.ts';
import { signRelayRequest } from '../../src/contracts/relay-signing.ts';
import { consumeCollect } from '../../src/collector/consume.ts';
import { ingestWriter } from '../../src/collector/write-events.ts';
import { getServices } from '../../src/services.ts';
import { CRON_TEST_CLOUD, CRON_TEST_CLUSTER, TEST_ADMIN_KEY, TEST_RELAY_SECRET } from '../support/keys.ts';
import { uniqueId } from '../support/events.ts';
import { db } from './helpers.ts';

const ADMIN = { authorization: `Bearer ${TEST_ADMIN_KEY}` };

async function relayJobs(relayUrl: string, day: string) {
  const from = `${day}T00:00:00.000Z`;
  const to = new Date(Date.parse(from) + 86_400_000).toISOString();
  const path = `/v1/jobs?${new URLSearchParams({ from, to })}`;
  const res = await fetch(`${relayUrl}${path}`, { headers: await signRelayRequest(TEST_RELAY_SECRET, 'GET', path) });
  const lines = (await res.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const summary = JobStreamSummarySchema.parse(lines.pop()).summary;
  return { jobs: lines.map((l) => JobRecordSchema.parse(l)), summary };
}

async function eventTotals(cluster: string) {
  const { rows } = await db.execute<{ events: number; cpu: number; wall: number; core: number; jobs: number }>(sql`
    SELECT count(*)::int AS events,
      coalesce(sum((metrics->>'cpu_time_seconds')::numeric), 0)::float8 AS cpu,
      coalesce(sum((metrics->>'walltime_used')::numeric), 0)::float8 AS wall,
      coalesce(sum((metrics->>'cpu_core_seconds')::numeric), 0)::float8 AS core,
      coalesce(sum((context->>'job_count')::int), 0)::int AS jobs
    FROM resource_usage_events WHERE source = 'pbs' AND context->>'cluster' = ${cluster}`);
  return rows[0]!;
}

async function runsOf(cluster: string) {
  const res = await exports.default.fetch(`http://worker.test/admin/collection/runs?cluster=${cluster}&limit=100`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return ((await res.json()) as { runs: Record<string, unknown>[] }).runs;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the daily collection, end to end (cron → queue → relay process → transform → ingest)', () => {
  it('collects every day not yet collected, conserves totals, advances the watermark; re-running changes nothing', async () => {
    const cluster = CRON_TEST_CLUSTER;
    // This cluster and cloud are this test's alone: start from nothing, whatever an earlier run left.
    for (const name of [cluster, CRON_TEST_CLOUD]) {
      await db.batch([
        db.execute(sql`DELETE FROM collection_runs WHERE cluster = ${name}`),
        db.execute(sql`DELETE FROM collection_days WHERE cluster = ${name}`),
        db.execute(sql`DELETE FROM collection_watermarks WHERE cluster = ${name}`),
        db.execute(sql`DELETE FROM resource_usage_events WHERE context->>'cluster' = ${name}`),
      ]);
    }
    type Scheduler = { scheduled(options: { scheduledTime: Date; cron: string }): Promise<unknown> };
    await (exports.default as unknown as Scheduler).scheduled({ scheduledTime: new Date('2026-03-05T02:15:00Z'), cron: '15 2 * * *' });

    const runs = await waitFor('four collection runs', async () => {
      const r = await runsOf(cluster);
      return r.filter((x) => x.status === 'succeeded').length >= 4 ? r : undefined;
    });
    expect(runs.map((r) => r.day).sort()).toEqual(['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04']);
    expect(runs.every((r) => r.status === 'succeeded' && r.trigger === 'cron')).toBe(true);
    const byDay = Object.fromEntries(runs.map((r) => [r.day, r]));
    expect(byDay['2026-03-02']).toMatchObject({ malformed: 2 });
    expect(byDay['2026-03-04']).toMatchObject({ jobs: 0, events: 0 });

    // Totals over the stored events equal totals over the relay's jobs.
    let cpu = 0,
      wall = 0,
      core = 0,
      jobs = 0;
    for (const day of ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04']) {
      const r = await relayJobs(inject('relayUrl'), day);
      for (const j of r.jobs) {
        cpu += j.cpu_time_seconds!;
        wall += j.walltime_used_seconds!;
        core += j.ncpus! * j.walltime_used_seconds!;
        jobs++;
      }
      expect(byDay[day]).toMatchObject({ jobs: r.jobs.length });
    }
    expect(jobs).toBe(450);
    expect(await eventTotals(cluster)).toMatchObject({ cpu, wall, core, jobs });

    // The cloud in RELAYS (kind openstack) was planned and collected by the same cron, day by day.
    const cloudRuns = await waitFor('four runs of the cloud', async () => {
      const r = await runsOf(CRON_TEST_CLOUD);
      return r.filter((x) => x.status === 'succeeded').length >= 4 ? r : undefined;
    });
    expect(cloudRuns.map((r) => r.day).sort()).toEqual(['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04']);
    expect(cloudRuns.every((r) => r.status === 'succeeded' && (r.jobs as number) > 0 && (r.events as number) > 0)).toBe(true);

    const status = await exports.default.fetch('http://worker.test/admin/collection/status', { headers: ADMIN });
    expect(await status.json()).toMatchObject({
      clusters: [
        { cluster, through_day: '2026-03-04', queued: 0, failed: 0 },
        { cluster: CRON_TEST_CLOUD, through_day: '2026-03-04', queued: 0, failed: 0 },
      ],
    });
    // The operator page shows the cloud as a cloud: servers, not jobs.
    const page = await (await exports.default.fetch(`http://worker.test/operator?cluster=${CRON_TEST_CLOUD}`, { headers: ADMIN })).text();
    expect(page).toContain('<th class="num">servers</th>');
    expect(page).toMatch(/<dt>relay<\/dt><dd>http:\/\/127\.0\.0\.1:\d+ \(OpenStack\)<\/dd>/);

    // Re-collecting the same days changes nothing.
    const before = await eventTotals(cluster);
    const backfill = await exports.default.fetch('http://worker.test/admin/collection/backfill', {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ cluster, from: '2026-03-01', to: '2026-03-03' }),
    });
    expect(backfill.status).toBe(202);
    expect(await backfill.json()).toMatchObject({ enqueued: 3 });
    const again = await waitFor('three backfill runs', async () => {
      const r = (await runsOf(cluster)).filter((x) => x.trigger === 'backfill' && x.status === 'succeeded');
      return r.length >= 3 ? r : undefined;
    });
    for (const r of again) expect(r).toMatchObject({ inserted: 0, updated: 0 });
    expect(again.reduce((s, r) => s + (r.unchanged as number), 0)).toBe(before.events - 0 /* day 4 had none */);
    expect(await eventTotals(cluster)).toEqual(before);

    // A cloud's days are backfilled the same way, and re-collecting them changes nothing either.
    const cloudBackfill = await exports.default.fetch('http://worker.test/admin/collection/backfill', {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ cluster: CRON_TEST_CLOUD, from: '2026-03-02', to: '2026-03-02' }),
    });
    expect(await cloudBackfill.json()).toMatchObject({ enqueued: 1 });
    const [cloudAgain] = await waitFor('the cloud backfill run', async () => {
      const r = (await runsOf(CRON_TEST_CLOUD)).filter((x) => x.trigger === 'backfill' && x.status === 'succeeded');
      return r.length >= 1 ? r : undefined;
    });
    const firstRun = cloudRuns.find((r) => r.day === '2026-03-02')!;
    expect(cloudAgain).toMatchObject({ inserted: 0, updated: 0, unchanged: firstRun.events, jobs: firstRun.jobs });
  }, 90_000);
});

describe('collection faults: the window fails, the message is retried, the watermark stays', () => {
  function configFor(cluster: string, url: string, overrides: Partial<Record<string, string>> = {}): Config {
    return parseConfig({ ...env, RELAYS: JSON.stringify([{ cluster, url, authority: 'demo.local' }]), ...overrides });
  }

  async function collectOnce(config: Config, cluster: string, day = '2026-03-02', now?: () => Date) {
    const batch = createMessageBatch('zeus-collect', [{ id: 'm1', timestamp: new Date(), attempts: 1, body: { cluster, day, trigger: 'cron' } }]);
    const ctx = createExecutionContext();
    await consumeCollect(batch, {
      config,
      db,
      write: async () => {
        throw new Error('nothing should be written');
      },
      ...(now ? { now } : {}),
    });
    const result = await getQueueResult(batch, ctx);
    const { rows } = await db.execute<{ status: string; error: string | null }>(sql`
      SELECT status, error FROM collection_runs WHERE cluster = ${cluster} ORDER BY started_at DESC LIMIT 1`);
    const { rows: days } = await db.execute<{ status: string }>(sql`SELECT status FROM collection_days WHERE cluster = ${cluster}`);
    return { result, run: rows[0], days };
  }

  it('relay down', async () => {
    const cluster = uniqueId('down');
    const { result, run, days } = await collectOnce(configFor(cluster, 'http://127.0.0.1:9'), cluster);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['m1']);
    expect(result.explicitAcks).toEqual([]);
    expect(run).toMatchObject({ status: 'failed' });
    expect(run!.error).toMatch(/network/);
    expect(days).toEqual([{ status: 'failed' }]);
  });

  it('a stream cut off half-way is never taken as complete', async () => {
    const cluster = uniqueId('cut');
    const { result, run } = await collectOnce(configFor(cluster, inject('cutoffRelayUrl')), cluster);
    expect(result.retryMessages).toHaveLength(1);
    expect(run!.error).toMatch(/cut off|stream broke/);
  });

  it('a bad signature (wrong secret) is refused by the relay', async () => {
    const cluster = uniqueId('sig');
    const config = configFor(cluster, inject('relayUrl'), { RELAY_SECRET: 'not-the-relay-secret-0123456789' });
    const { result, run } = await collectOnce(config, cluster);
    expect(result.retryMessages).toHaveLength(1);
    expect(run!.error).toMatch(/http 401/);
  });

  it('a clock more than 300 s off is refused by the relay', async () => {
    const cluster = uniqueId('skew');
    const { run } = await collectOnce(configFor(cluster, inject('relayUrl')), cluster, '2026-03-02', () => new Date(Date.now() + 400_000));
    expect(run!.error).toMatch(/http 401/);
  });

  it('an invalid message or an unknown cluster is acknowledged, not retried', async () => {
    const batch = createMessageBatch('zeus-collect', [
      { id: 'bad', timestamp: new Date(), attempts: 1, body: { cluster: 'x', day: 'yesterday' } },
      { id: 'unknown', timestamp: new Date(), attempts: 1, body: { cluster: uniqueId('nowhere'), day: '2026-03-02', trigger: 'cron' } },
    ]);
    const ctx = createExecutionContext();
    await consumeCollect(batch, { config: parseConfig(env as never), db, write: async () => ({ inserted: 0, updated: 0, unchanged: 0 }) });
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(['bad', 'unknown']);
    expect(result.retryMessages).toEqual([]);
  });
});

describe('usage mode (the default) and jobs mode', () => {
  async function collectDays(cluster: string, mode: 'usage' | 'jobs' | undefined, days: string[]) {
    const config = parseConfig({
      ...env,
      RELAYS: JSON.stringify([{ cluster, url: inject('relayUrl'), authority: 'demo.local', ...(mode ? { mode } : {}) }]),
    });
    const write = ingestWriter(getServices(env));
    for (const day of days) {
      const batch = createMessageBatch('zeus-collect', [
        { id: `m-${day}`, timestamp: new Date(), attempts: 1, body: { cluster, day, trigger: 'cron' } },
      ]);
      const ctx = createExecutionContext();
      await consumeCollect(batch, { config, db, write });
      expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual([`m-${day}`]);
    }
    const { rows: runs } = await db.execute<Record<string, unknown>>(sql`
      SELECT day::text, status, jobs, events, malformed, skipped, details->>'mode' AS mode, error
      FROM collection_runs WHERE cluster = ${cluster} ORDER BY day`);
    const { rows: events } = await db.execute<Record<string, unknown>>(sql`
      SELECT time_window_start::text, time_window_end::text, metrics, identities, context - 'cluster' AS context
      FROM resource_usage_events WHERE source = 'pbs' AND context->>'cluster' = ${cluster}
      ORDER BY time_window_start, context->>'project', identities::text`);
    return { runs, events };
  }

  it('store the same events from the same logs, with the same counts per run', async () => {
    const days = ['2026-03-01', '2026-03-02', '2026-03-03'];
    const usage = await collectDays(uniqueId('usage'), undefined, days);
    const jobs = await collectDays(uniqueId('jobs'), 'jobs', days);
    expect(usage.runs.map((r) => r.mode)).toEqual(['usage', 'usage', 'usage']);
    expect(jobs.runs.map((r) => r.mode)).toEqual(['jobs', 'jobs', 'jobs']);
    const counts = (runs: Record<string, unknown>[]) => runs.map(({ mode: _m, ...r }) => r);
    expect(counts(usage.runs)).toEqual(counts(jobs.runs));
    expect(usage.runs.every((r) => r.status === 'succeeded' && (r.jobs as number) > 0)).toBe(true);
    expect(usage.runs[1]).toMatchObject({ malformed: 2 });
    expect(usage.events.length).toBeGreaterThan(10);
    expect(usage.events).toEqual(jobs.events);
  }, 60_000);

  it('workerd decodes the gzip body the relay sends when asked (Accept-Encoding: gzip)', async () => {
    const day = '2026-03-02';
    const path = `/v1/jobs?${new URLSearchParams({ from: `${day}T00:00:00.000Z`, to: `${day}T23:59:59.000Z` })}`;
    // Each request signed afresh: the relay refuses a signature it has seen.
    const plain = await (await fetch(`${inject('relayUrl')}${path}`, { headers: await signRelayRequest(TEST_RELAY_SECRET, 'GET', path) })).text();
    const res = await fetch(`${inject('relayUrl')}${path}`, {
      headers: { ...(await signRelayRequest(TEST_RELAY_SECRET, 'GET', path)), 'Accept-Encoding': 'gzip' },
    });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(await res.text()).toBe(plain);
  });

  it('a cut-off stream fails the window in either mode, gzip or not', async () => {
    for (const mode of ['usage', 'jobs'] as const) {
      const cluster = uniqueId(`cut-${mode}`);
      const config = parseConfig({ ...env, RELAYS: JSON.stringify([{ cluster, url: inject('cutoffRelayUrl'), authority: 'demo.local', mode }]) });
      const batch = createMessageBatch('zeus-collect', [
        { id: 'm1', timestamp: new Date(), attempts: 1, body: { cluster, day: '2026-03-02', trigger: 'cron' } },
      ]);
      const ctx = createExecutionContext();
      await consumeCollect(batch, { config, db, write: async () => Promise.reject(new Error('nothing should be written')) });
      expect((await getQueueResult(batch, ctx)).retryMessages).toHaveLength(1);
      const { rows } = await db.execute<{ status: string; error: string }>(sql`SELECT status, error FROM collection_runs WHERE cluster = ${cluster}`);
      expect(rows).toEqual([{ status: 'failed', error: expect.stringMatching(/cut off|stream broke/) }]);
    }
  });
});

describe('operator routes', () => {
  it('need the operator key', async () => {
    const res = await exports.default.fetch('http://worker.test/admin/collection/runs');
    expect(res.status).toBe(401);
    const wrong = await exports.default.fetch('http://worker.test/admin/collection/runs', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  it('refuse a backfill for an unknown cluster, an unfinished day or a reversed range', async () => {
    const post = (body: unknown) =>
      exports.default.fetch('http://worker.test/admin/collection/backfill', {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ cluster: 'nowhere', from: '2026-03-01', to: '2026-03-02' })).status).toBe(404);
    const future = await post({ cluster: CRON_TEST_CLUSTER, from: '2026-03-01', to: '2999-01-01' });
    expect(future.status).toBe(422);
    const reversed = await post({ cluster: CRON_TEST_CLUSTER, from: '2026-03-02', to: '2026-03-01' });
    expect(reversed.status).toBe(422);
    expect(((await reversed.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('to');
  });
});

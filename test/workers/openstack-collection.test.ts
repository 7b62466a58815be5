/**
 * An OpenStack cloud collected through the Worker (workerd), end to end: the collect queue's real
 * consumer → a real relay process → the stand-in Keystone, Nova and Prometheus → the transform →
 * ingest → stored events → link mapping to the project's OpenStack GitOps allocation. On whichever
 * backend the run uses (PGlite, or PostgreSQL with TEST_DATABASE_URL).
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { consumeCollect } from '../../src/collector/consume.ts';
import { ingestWriter } from '../../src/collector/write-events.ts';
import { getServices } from '../../src/services.ts';
import { makeGitOpsAllocation, makeProject } from '../support/directory.ts';
import { uniqueId } from '../support/events.ts';
import { GONE_PROJECT_CPU_SECONDS, PROJECTS, RULES_DAY, ruleCases } from '../support/openstack-rules.ts';
import { db, type StoredEvent, waitForLinks } from './helpers.ts';

const GPUS: Record<string, number> = { 'g-pci': 3, 'g-placement': 3 };

/** What the events of RULES_DAY must hold, per OpenStack project, from the rules' expected intervals (docs/architecture.md §5). */
function expectedByProject() {
  const out = new Map<string, { held: number; running: number; core: number; gpu: number; ram: number; disk: number; servers: number }>();
  for (const c of ruleCases()) {
    if (c.expected === 'skipped') continue;
    const f = c.server.flavor;
    const held = c.expected.intervals.reduce((s, [a, b, state]) => s + (state === 'SHELVED' ? 0 : (b - a) * 3600), 0);
    const running = c.expected.intervals.reduce((s, [a, b, state]) => s + (state === 'ACTIVE' ? (b - a) * 3600 : 0), 0);
    const p = out.get(c.server.tenant_id) ?? { held: 0, running: 0, core: 0, gpu: 0, ram: 0, disk: 0, servers: 0 };
    p.held += held;
    p.running += running;
    p.core += f.vcpus * held;
    p.gpu += (GPUS[f.id] ?? 0) * held;
    p.ram += f.ram * 2 ** 20 * held;
    p.disk += (f.disk + f.ephemeral) * 2 ** 30 * held;
    p.servers++;
    out.set(c.server.tenant_id, p);
  }
  return out;
}

async function collect(cloud: string, url: string, attempts = 1) {
  const config = parseConfig({ ...env, RELAYS: JSON.stringify([{ cluster: cloud, url, kind: 'openstack' }]) });
  const write = ingestWriter(getServices(env));
  const batch = createMessageBatch('zeus-collect', [
    { id: 'm1', timestamp: new Date(), attempts, body: { cluster: cloud, day: RULES_DAY, trigger: 'cron' } },
  ]);
  const ctx = createExecutionContext();
  await consumeCollect(batch, { config, db, write });
  const result = await getQueueResult(batch, ctx);
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    SELECT status, jobs, events, inserted, updated, unchanged, malformed, skipped, details, error
    FROM collection_runs WHERE cluster = ${cloud} ORDER BY started_at DESC LIMIT 1`);
  return { result, run: rows[0]! };
}

async function eventsOf(cloud: string) {
  const { rows } = await db.execute<StoredEvent & { source: string; time_window_start: string }>(sql`
    SELECT id::text, source, time_window_start::text, metrics, collected_at::text, context, identities, extra
    FROM resource_usage_events WHERE context->>'cluster' = ${cloud} ORDER BY context->>'openstack_project_id'`);
  return rows;
}

describe('an OpenStack cloud collected through the Worker', () => {
  it('stores one event per project and day with the metrics of its servers, mapped to the GitOps allocation; re-collecting changes nothing', async () => {
    const cloud = uniqueId('cloud');
    // The allocation system's record of the `demo` project's cloud grant (the mapping that already existed).
    const project = await makeProject(db);
    const allocation = await makeGitOpsAllocation(db, project.id, {
      payload: { source: 'gitops', openstack: { project_id: PROJECTS.demo.id, project_name: 'demo' } },
    });

    const { result, run } = await collect(cloud, inject('openstackRelayUrl'));
    expect(result.explicitAcks).toEqual(['m1']);
    const expected = expectedByProject();
    const servers = [...expected.values()].reduce((s, p) => s + p.servers, 0);
    expect(run).toMatchObject({ status: 'succeeded', jobs: servers, events: 3, inserted: 3, malformed: 0, skipped: 3, error: null });
    expect(run.details).toMatchObject({ nova_microversion: '2.69', cpu_time: { status: 'measured' } });

    const events = await eventsOf(cloud);
    expect(events).toHaveLength(3);
    for (const e of events) {
      const want = expected.get(e.context.openstack_project_id as string)!;
      expect(e.source).toBe('openstack');
      expect(e.identities).toEqual([]);
      expect(e.context).toMatchObject({ cluster: cloud, instance_count: want.servers });
      expect(e.metrics).toMatchObject({
        walltime_allocated: want.held,
        walltime_used: want.running,
        cpu_core_seconds: want.core,
        gpu_time_seconds: want.gpu,
      });
      expect(e.metrics.vcpus_allocated).toBeCloseTo(want.core / 86_400, 9);
      expect(e.metrics.ram_bytes_allocated! / (want.ram / 86_400)).toBeCloseTo(1, 12);
      expect(e.metrics.storage_bytes_allocated! / (want.disk / 86_400)).toBeCloseTo(1, 12);
    }
    const byProject = new Map(events.map((e) => [e.context.openstack_project_id, e]));
    expect(byProject.get(PROJECTS.demo.id)!.context.project).toBe('demo');
    expect(byProject.get(PROJECTS.altDemo.id)!.context.project).toBe('alt_demo');
    expect(byProject.get(PROJECTS.gone.id)!.context).not.toHaveProperty('project');
    // Measured CPU time only where every server that ran was measured: the gone project's one server.
    expect(byProject.get(PROJECTS.gone.id)!.metrics).toMatchObject({ cpu_time_seconds: GONE_PROJECT_CPU_SECONDS, used_cpu_percent: 25 });
    expect(byProject.get(PROJECTS.demo.id)!.metrics).not.toHaveProperty('cpu_time_seconds');

    // Mapping: the demo project's usage goes to its GitOps allocation (no identity, so no user: resolved); the
    // others name no known project.
    const links = new Map((await waitForLinks(events.map((e) => e.id))).map((l) => [l.event_id, l]));
    expect(links.get(byProject.get(PROJECTS.demo.id)!.id)).toMatchObject({
      project_id: project.id,
      allocation_id: allocation.id,
      user_id: null,
      status: 'resolved',
    });
    expect(links.get(byProject.get(PROJECTS.gone.id)!.id)).toMatchObject({ project_id: null, allocation_id: null, status: 'unresolved' });

    // The same day again: the same events, unchanged (the relay reads the same cloud).
    const again = await collect(cloud, inject('openstackRelayUrl'));
    expect(again.run).toMatchObject({ status: 'succeeded', inserted: 0, updated: 0, unchanged: 3 });
    expect((await eventsOf(cloud)).map((e) => e.id)).toEqual(events.map((e) => e.id));
  }, 60_000);

  it('a page that fails half-way fails the day: retried, nothing stored, the run says what failed', async () => {
    const cloud = uniqueId('cloud-fail');
    await db.execute(sql`INSERT INTO collection_watermarks (cluster, through_day) VALUES (${cloud}, '2026-03-01')`);
    const { result, run } = await collect(cloud, inject('openstackFailingRelayUrl'), 2);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['m1']);
    expect(run).toMatchObject({ status: 'failed', events: 0 });
    expect(run.error).toMatch(
      /^relay cloud-fail-[^:]+: upstream: its openstack source failed after \d+ records: nova: GET \/compute-public\/v2\.1\/servers\/detail\?all_tenants=1&limit=200&marker=[0-9a-f-]+ \(page 2\) answered 503 Service Unavailable/,
    );
    expect(await eventsOf(cloud)).toEqual([]);
    const { rows } = await db.execute<{ through_day: string; status: string }>(sql`
      SELECT w.through_day::text, d.status FROM collection_watermarks w JOIN collection_days d ON d.cluster = w.cluster WHERE w.cluster = ${cloud}`);
    expect(rows).toEqual([{ through_day: '2026-03-01', status: 'failed' }]);
  });
});

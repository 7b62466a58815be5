import { describe, expect, it } from 'vitest';
import { UsageEventSchema } from '../../../src/contracts/usage-event.ts';
import { PbsEventBuilder } from '../../../src/collector/transform/pbs-events.ts';
import { makeJob } from '../../support/jobs.ts';

const COLLECTED = '2026-03-02T02:00:00.000Z';

function build(jobs: ReturnType<typeof makeJob>[]) {
  const b = new PbsEventBuilder({ cluster: 'c1', authority: 'perun.test' });
  for (const j of jobs) b.add(j);
  return { builder: b, events: b.events(COLLECTED) };
}

describe('PBS transform', () => {
  it('makes one event per (project, user, UTC day of end) with the metrics of §3', () => {
    const { events } = build([
      makeJob({ ncpus: 4, ngpus: 1, walltime_used_seconds: 100, cpu_time_seconds: 300, walltime_requested_seconds: 200, mem_requested_bytes: 10 }),
      makeJob({ ncpus: 2, ngpus: 0, walltime_used_seconds: 50, cpu_time_seconds: 50, walltime_requested_seconds: 60, mem_requested_bytes: 5 }),
    ]);
    expect(events).toHaveLength(1);
    const [e] = events;
    expect(e).toMatchObject({
      source: 'pbs',
      time_window_start: '2026-03-01T00:00:00.000Z',
      time_window_end: '2026-03-02T00:00:00.000Z',
      collected_at: COLLECTED,
      identities: [{ scheme: 'perun_username', value: 'alice', authority: 'perun.test' }],
      context: { cluster: 'c1', project: 'astro', job_count: 2 },
    });
    expect(e!.metrics).toEqual({
      cpu_time_seconds: 350,
      walltime_used: 150,
      walltime_allocated: 260,
      cpu_core_seconds: 4 * 100 + 2 * 50,
      gpu_time_seconds: 100,
      vcpus_allocated: 6,
      ram_bytes_allocated: 15,
      used_cpu_percent: (100 * 350) / 500,
    });
    expect(() => UsageEventSchema.parse(e)).not.toThrow();
  });

  it('splits by project, by user and by the UTC day the job ended (not the day it started)', () => {
    const { events } = build([
      makeJob({ start: '2026-03-01T23:00:00Z', end: '2026-03-02T01:00:00Z' }),
      makeJob({ end: '2026-03-01T23:59:59Z' }),
      makeJob({ user: 'bob' }),
      makeJob({ project: '_pbs_project_default' }),
      makeJob({ project: null, user: null }),
    ]);
    expect(events.map((e) => [e.time_window_start.slice(0, 10), e.context?.project ?? null, e.identities?.[0]?.value ?? null])).toEqual([
      ['2026-03-01', '_pbs_project_default', 'alice'],
      ['2026-03-01', 'astro', 'alice'],
      ['2026-03-01', 'astro', 'bob'],
      ['2026-03-01', null, null],
      ['2026-03-02', 'astro', 'alice'],
    ]);
  });

  it('adds the usage of a requeued attempt (R) to the job but counts the job and its allocation once', () => {
    const { events, builder } = build([
      makeJob({ job_id: '7.s', origin: { source: 'accounting', record: 'R' }, walltime_used_seconds: 10, cpu_time_seconds: 10, ncpus: 2 }),
      makeJob({ job_id: '7.s', walltime_used_seconds: 30, cpu_time_seconds: 20, ncpus: 2 }),
    ]);
    expect(events[0]!.context?.job_count).toBe(1);
    expect(events[0]!.metrics).toMatchObject({ walltime_used: 40, cpu_time_seconds: 30, cpu_core_seconds: 80, vcpus_allocated: 2 });
    expect(builder.totals).toEqual({ jobs: 1, records: 2, withoutEnd: 0 });
  });

  it('conserves totals over many random jobs', () => {
    const jobs = Array.from({ length: 2000 }, (_, i) =>
      makeJob({
        user: `u${i % 7}`,
        project: `p${i % 5}`,
        end: new Date(Date.UTC(2026, 2, 1 + (i % 3), i % 24)).toISOString().replace('.000', ''),
        ncpus: 1 + (i % 8),
        ngpus: i % 3,
        walltime_used_seconds: 17 * i,
        cpu_time_seconds: 13 * i,
        walltime_requested_seconds: 20 * i,
        mem_requested_bytes: 1024 * i,
      }),
    );
    const { events } = build(jobs);
    const sumEvents = (k: string) => events.reduce((s, e) => s + ((e.metrics as Record<string, number>)[k] ?? 0), 0);
    const sumJobs = (f: (j: (typeof jobs)[number]) => number) => jobs.reduce((s, j) => s + f(j), 0);
    expect(sumEvents('cpu_time_seconds')).toBe(sumJobs((j) => j.cpu_time_seconds!));
    expect(sumEvents('walltime_used')).toBe(sumJobs((j) => j.walltime_used_seconds!));
    expect(sumEvents('walltime_allocated')).toBe(sumJobs((j) => j.walltime_requested_seconds!));
    expect(sumEvents('cpu_core_seconds')).toBe(sumJobs((j) => j.ncpus! * j.walltime_used_seconds!));
    expect(sumEvents('gpu_time_seconds')).toBe(sumJobs((j) => j.ngpus! * j.walltime_used_seconds!));
    expect(sumEvents('vcpus_allocated')).toBe(sumJobs((j) => j.ncpus!));
    expect(sumEvents('ram_bytes_allocated')).toBe(sumJobs((j) => j.mem_requested_bytes!));
    expect(events.reduce((s, e) => s + (e.context?.job_count as number), 0)).toBe(2000);
    expect(events).toHaveLength(5 * 7 * 3); // every (project, user, day) combination occurs
  });
});

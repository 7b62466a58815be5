import type { UsageEventInput } from '../../src/contracts/usage-event.ts';

/** The seed design's curl example (README, "Try it"), exactly as existing collectors send it. */
export const SEED_CURL_EVENT = {
  schema_version: '1.0',
  source: 'pbs',
  time_window_start: '2025-11-19T00:00:00Z',
  time_window_end: '2025-11-20T00:00:00Z',
  collected_at: '2025-11-20T01:00:00Z',
  metrics: {
    cpu_time_seconds: 3600,
    ram_bytes_allocated: 8589934592,
    vcpus_allocated: 4,
    used_cpu_percent: 72,
    walltime_allocated: 7200,
    walltime_used: 6800,
  },
  identities: [{ scheme: 'perun_user', value: 'user123', authority: 'perun.cesnet.cz' }],
  context: { cluster: 'metacentrum', project: 'test-project-1', jobname: '12345.meta', job_count: 10 },
} as const;

export const uniqueId = (prefix = 'p') => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** A valid event in its own project (so tests never see each other's rows); override any field. */
export function makeEvent(overrides: Partial<UsageEventInput> & { project?: string; day?: number } = {}): UsageEventInput {
  const { project = uniqueId(), day = 0, ...rest } = overrides;
  const start = new Date(Date.UTC(2026, 0, 1 + day));
  const end = new Date(start.getTime() + 86_400_000);
  return {
    schema_version: '1.0',
    source: 'pbs',
    time_window_start: start.toISOString(),
    time_window_end: end.toISOString(),
    // An hour after the window, but never in the future (the contract refuses collected_at past now + 1 day).
    collected_at: new Date(Math.min(end.getTime() + 3_600_000, Date.now())).toISOString(),
    metrics: { cpu_time_seconds: 100, walltime_used: 50, cpu_core_seconds: 200 },
    identities: [{ scheme: 'perun_username', value: 'alice', authority: 'perun.example' }],
    context: { cluster: 'test-cluster', project, jobname: 'daily', job_count: 2 },
    ...rest,
  };
}

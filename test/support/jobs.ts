import type { JobRecord } from '../../src/contracts/job-record.ts';

let seq = 0;

/** A finished job record; override any field. */
export function makeJob(overrides: Partial<JobRecord> = {}): JobRecord {
  seq++;
  return {
    job_id: `${seq}.pbs.test`,
    user: 'alice',
    group: 'users',
    project: 'astro',
    account: null,
    queue: 'workq',
    jobname: `job${seq}`,
    ctime: '2026-03-01T08:00:00Z',
    qtime: '2026-03-01T08:00:00Z',
    etime: '2026-03-01T08:00:00Z',
    start: '2026-03-01T09:00:00Z',
    end: '2026-03-01T10:00:00Z',
    walltime_used_seconds: 3600,
    walltime_requested_seconds: 7200,
    cpu_time_seconds: 7000,
    cpu_percent: 194,
    mem_used_bytes: 1 << 30,
    vmem_used_bytes: null,
    mem_requested_bytes: 4 * (1 << 30),
    ncpus: 2,
    ngpus: 0,
    nodes: 1,
    exit_status: 0,
    run_count: 1,
    exec_host: 'node1/0*2',
    origin: { source: 'accounting', record: 'E', file: '20260301', line: seq },
    ...overrides,
  };
}

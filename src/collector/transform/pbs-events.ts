import type { JobRecord } from '../../contracts/job-record.ts';
import type { UsageEventInput } from '../../contracts/usage-event.ts';
import { DAY_MS } from '../../lib/utc-day.ts';

/**
 * The PBS transform (docs/architecture.md §3), pure and streaming: feed it job records one at a time, then
 * take one usage event per (project, user, UTC day of the job's end). Memory grows with the number
 * of groups, never with the number of jobs. Totals are conserved: every metric of the events sums
 * to the same metric summed over the jobs.
 */
export interface TransformOptions {
  cluster: string;
  /** Authority of the perun_username identities (the cluster's user namespace). */
  authority?: string;
}

interface Group {
  project: string | null;
  user: string | null;
  day: string;
  /** Jobs that ended (E records); a requeued attempt (R) adds usage but is not another job. */
  jobs: number;
  cpuTime: number;
  walltimeUsed: number;
  walltimeRequested: number;
  coreSeconds: number;
  gpuSeconds: number;
  vcpus: number;
  ramRequested: number;
}

export interface TransformTotals {
  /** Jobs that ended (E records). */
  jobs: number;
  /** Every record fed in (E and R). */
  records: number;
  /** Records left out because they carry no end time (never happens for a relay window, counted anyway). */
  withoutEnd: number;
}

export class PbsEventBuilder {
  private readonly groups = new Map<string, Group>();
  private records = 0;
  private withoutEnd = 0;
  private jobs = 0;

  constructor(private readonly options: TransformOptions) {}

  add(job: JobRecord): void {
    this.records++;
    if (!job.end) {
      this.withoutEnd++;
      return;
    }
    const day = job.end.slice(0, 10);
    const key = JSON.stringify([job.project, job.user, day]);
    let g = this.groups.get(key);
    if (!g) {
      g = {
        project: job.project,
        user: job.user,
        day,
        jobs: 0,
        cpuTime: 0,
        walltimeUsed: 0,
        walltimeRequested: 0,
        coreSeconds: 0,
        gpuSeconds: 0,
        vcpus: 0,
        ramRequested: 0,
      };
      this.groups.set(key, g);
    }
    const wall = job.walltime_used_seconds ?? 0;
    g.cpuTime += job.cpu_time_seconds ?? 0;
    g.walltimeUsed += wall;
    g.walltimeRequested += job.walltime_requested_seconds ?? 0;
    g.coreSeconds += (job.ncpus ?? 0) * wall;
    g.gpuSeconds += (job.ngpus ?? 0) * wall;
    // A requeued attempt (R) and the final run (E) are one job: its usage is summed over both, but the
    // job and what it was allocated count once, with the E record.
    if (job.origin.record === 'E') {
      g.jobs++;
      this.jobs++;
      g.vcpus += job.ncpus ?? 0;
      g.ramRequested += job.mem_requested_bytes ?? 0;
    }
  }

  get totals(): TransformTotals {
    return { jobs: this.jobs, records: this.records, withoutEnd: this.withoutEnd };
  }

  get size(): number {
    return this.groups.size;
  }

  /** The events, in a stable order (day, project, user). */
  events(collectedAt: string): UsageEventInput[] {
    const { cluster, authority } = this.options;
    return [...this.groups.values()]
      .sort((a, b) => (a.day + a.project + a.user < b.day + b.project + b.user ? -1 : 1))
      .map((g) => {
        const start = new Date(`${g.day}T00:00:00Z`);
        return {
          schema_version: '1.0' as const,
          source: 'pbs' as const,
          time_window_start: start.toISOString(),
          time_window_end: new Date(start.getTime() + DAY_MS).toISOString(),
          collected_at: collectedAt,
          metrics: {
            cpu_time_seconds: g.cpuTime,
            walltime_used: g.walltimeUsed,
            walltime_allocated: g.walltimeRequested,
            cpu_core_seconds: g.coreSeconds,
            gpu_time_seconds: g.gpuSeconds,
            vcpus_allocated: g.vcpus,
            ram_bytes_allocated: g.ramRequested,
            ...(g.coreSeconds > 0 ? { used_cpu_percent: (100 * g.cpuTime) / g.coreSeconds } : {}),
          },
          identities: g.user ? [{ scheme: 'perun_username' as const, value: g.user, ...(authority ? { authority } : {}) }] : [],
          context: {
            cluster,
            ...(g.project ? { project: g.project } : {}),
            job_count: g.jobs,
          },
        };
      });
  }
}

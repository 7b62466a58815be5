import type { JobRecord } from './job-record.ts';

/**
 * The PBS transform's fold (docs/architecture.md §3), pure and without a schema library: job records in,
 * one usage line per (project, user, UTC day of the job's `end`) out. The relay runs it on site for
 * `GET /v1/usage` (on its parse threads, merging their partial folds), and the Worker runs the same
 * code over `/v1/jobs` records (src/collector/transform/pbs-events.ts), so both modes store the same
 * events. Memory grows with the number of groups, never with the number of jobs; totals are conserved:
 * every metric summed over the lines equals the same sum over the jobs.
 */

/** The metrics of one group (docs/metrics.md): sums over its jobs, and the CPU efficiency of those sums. */
export interface UsageMetrics {
  cpu_time_seconds: number;
  walltime_used: number;
  walltime_allocated: number;
  cpu_core_seconds: number;
  gpu_time_seconds: number;
  vcpus_allocated: number;
  ram_bytes_allocated: number;
  /** 100 × Σ cpu time ÷ Σ (ncpus × walltime used), only when that is above 0. */
  used_cpu_percent?: number;
}

/** One line of `GET /v1/usage`: a (project, user, UTC day) group (wire schema: usage-line.ts). */
export interface UsageLine {
  /** YYYY-MM-DD, the UTC day of the jobs' `end`. */
  day: string;
  project: string | null;
  user: string | null;
  /** Jobs that ended (E records); a requeued attempt (R) adds usage but is not another job. */
  jobs: number;
  metrics: UsageMetrics;
}

/** A group's running sums: a usage line without the derived `used_cpu_percent` (what parse threads hand back). */
export interface UsageSums {
  day: string;
  project: string | null;
  user: string | null;
  jobs: number;
  cpu: number;
  wall: number;
  wallRequested: number;
  coreSeconds: number;
  gpuSeconds: number;
  vcpus: number;
  ram: number;
}

export interface UsageTotals {
  /** Jobs that ended (E records). */
  jobs: number;
  /** Every record folded in (E and R). */
  records: number;
  /** Records left out because they carry no end time (a relay window never yields one; counted anyway). */
  withoutEnd: number;
}

/** The numeric fields of UsageSums, in the order `packed()` writes them. */
const PACKED_FIELDS = ['jobs', 'cpu', 'wall', 'wallRequested', 'coreSeconds', 'gpuSeconds', 'vcpus', 'ram'] as const;

/** A fold's groups as `packed()` hands them to another thread. */
export interface PackedUsage {
  /** Each group's key (JSON of [project, user, day]). */
  keys: string[];
  /** 8 sums a group, in the order of `keys`. */
  values: Float64Array;
  totals: UsageTotals;
}

/** What the fold reads of a job record. */
export type UsageJob = Pick<
  JobRecord,
  'project' | 'user' | 'end' | 'walltime_used_seconds' | 'walltime_requested_seconds' | 'cpu_time_seconds' | 'ncpus' | 'ngpus' | 'mem_requested_bytes'
> & { origin: Pick<JobRecord['origin'], 'record'> };

/** The order lines (and so events) come in: day, then project, then user (null after any name). */
function compareGroups(a: UsageSums, b: UsageSums): number {
  return a.day + a.project + a.user < b.day + b.project + b.user ? -1 : 1;
}

export class PbsUsageFold {
  private readonly groups = new Map<string, UsageSums>();
  private readonly counts: UsageTotals = { jobs: 0, records: 0, withoutEnd: 0 };

  add(job: UsageJob): void {
    this.counts.records++;
    if (!job.end) {
      this.counts.withoutEnd++;
      return;
    }
    const g = this.group(job.end.slice(0, 10), job.project, job.user);
    const wall = job.walltime_used_seconds ?? 0;
    g.cpu += job.cpu_time_seconds ?? 0;
    g.wall += wall;
    g.wallRequested += job.walltime_requested_seconds ?? 0;
    g.coreSeconds += (job.ncpus ?? 0) * wall;
    g.gpuSeconds += (job.ngpus ?? 0) * wall;
    // A requeued attempt (R) and the final run (E) are one job: its usage is summed over both, but the
    // job and what it was allocated count once, with the E record.
    if (job.origin.record === 'E') {
      g.jobs++;
      this.counts.jobs++;
      g.vcpus += job.ncpus ?? 0;
      g.ram += job.mem_requested_bytes ?? 0;
    }
  }

  /**
   * The groups packed for another thread: their keys, and their sums in one Float64Array (8 a group,
   * in PACKED_FIELDS order) that can be transferred rather than copied object by object.
   */
  packed(): PackedUsage {
    const keys: string[] = [];
    const values = new Float64Array(this.groups.size * PACKED_FIELDS.length);
    let at = 0;
    for (const [key, g] of this.groups) {
      keys.push(key);
      for (const field of PACKED_FIELDS) values[at++] = g[field];
    }
    return { keys, values, totals: this.totals };
  }

  /** Add the groups of `packed()` (a parse thread's fold of one block). */
  mergePacked({ keys, values, totals }: PackedUsage): void {
    let at = 0;
    for (const key of keys) {
      let g = this.groups.get(key);
      if (!g) {
        const [project, user, day] = JSON.parse(key) as [string | null, string | null, string];
        g = this.group(day, project, user);
      }
      for (const field of PACKED_FIELDS) g[field] += values[at++]!;
    }
    this.counts.jobs += totals.jobs;
    this.counts.records += totals.records;
    this.counts.withoutEnd += totals.withoutEnd;
  }

  /** Add another fold's groups and totals. */
  merge(sums: readonly UsageSums[], totals: UsageTotals): void {
    for (const s of sums) {
      const g = this.group(s.day, s.project, s.user);
      g.jobs += s.jobs;
      g.cpu += s.cpu;
      g.wall += s.wall;
      g.wallRequested += s.wallRequested;
      g.coreSeconds += s.coreSeconds;
      g.gpuSeconds += s.gpuSeconds;
      g.vcpus += s.vcpus;
      g.ram += s.ram;
    }
    this.counts.jobs += totals.jobs;
    this.counts.records += totals.records;
    this.counts.withoutEnd += totals.withoutEnd;
  }

  get totals(): UsageTotals {
    return { ...this.counts };
  }

  get size(): number {
    return this.groups.size;
  }

  /** The groups' running sums, in no particular order (for `merge` elsewhere). */
  sums(): UsageSums[] {
    return [...this.groups.values()];
  }

  /** The usage lines, in a stable order (day, project, user). */
  lines(): UsageLine[] {
    return this.sums().sort(compareGroups).map(usageLineOf);
  }

  private group(day: string, project: string | null, user: string | null): UsageSums {
    const key = JSON.stringify([project, user, day]);
    let g = this.groups.get(key);
    if (!g) {
      g = { day, project, user, jobs: 0, cpu: 0, wall: 0, wallRequested: 0, coreSeconds: 0, gpuSeconds: 0, vcpus: 0, ram: 0 };
      this.groups.set(key, g);
    }
    return g;
  }
}

export function usageLineOf(g: UsageSums): UsageLine {
  return {
    day: g.day,
    project: g.project,
    user: g.user,
    jobs: g.jobs,
    metrics: {
      cpu_time_seconds: g.cpu,
      walltime_used: g.wall,
      walltime_allocated: g.wallRequested,
      cpu_core_seconds: g.coreSeconds,
      gpu_time_seconds: g.gpuSeconds,
      vcpus_allocated: g.vcpus,
      ram_bytes_allocated: g.ram,
      ...(g.coreSeconds > 0 ? { used_cpu_percent: (100 * g.cpu) / g.coreSeconds } : {}),
    },
  };
}

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

/**
 * What a fold added since its last `packed()`, as it goes to another thread: numbers, and each group's
 * key only the first time that fold sends the group (a parse thread's fold sends its groups block after
 * block; their keys, cloned and parsed per block, cost more than the parse).
 */
export interface PackedUsage {
  /** The fold that packed it (its `source`): groups are numbered per fold. */
  source: string;
  /** The number of the first group in `keys`: the groups this fold sent before. */
  first: number;
  /** The keys (JSON of [project, user, day]) of groups `first`, `first` + 1, …, sent for the first time. */
  keys: string[];
  /** The numbers of the groups added to. */
  groups: Int32Array;
  /** 8 sums a group, in PACKED_FIELDS order, in the order of `groups`. */
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

/** A group as the fold keeps it: its sums, its number, and whether packed() is to send it. */
interface Group extends UsageSums {
  /** Its number in the fold (the order groups were made in). */
  n: number;
  touched: boolean;
}

let foldsMade = 0;

export class PbsUsageFold {
  constructor(source = '') {
    this.source = `${source}#${++foldsMade}`;
  }

  /** The groups by day, project and user (looked up a line at a time: no key is built). */
  private readonly index = new Map<string, Map<string | null, Map<string | null, Group>>>();
  /** The groups by their number. */
  private readonly all: Group[] = [];
  /** The groups whose keys packed() has sent. */
  private keysSent = 0;
  /** Per fold whose packed() were merged here: its groups by their number there. */
  private readonly sources = new Map<string, Group[]>();
  /** This fold's name in what it packs: `source` (the thread's, say) made unique. */
  readonly source: string;
  /** The groups added to since the last packed(). */
  private touched: Group[] = [];
  private readonly counts: UsageTotals = { jobs: 0, records: 0, withoutEnd: 0 };
  /** The totals as of the last packed(). */
  private readonly packedCounts: UsageTotals = { jobs: 0, records: 0, withoutEnd: 0 };

  add(job: UsageJob): void {
    this.addJob(
      job.origin.record === 'E',
      job.end ? job.end.slice(0, 10) : null,
      job.project,
      job.user,
      job.walltime_used_seconds,
      job.walltime_requested_seconds,
      job.cpu_time_seconds,
      job.ncpus,
      job.ngpus,
      job.mem_requested_bytes,
    );
  }

  /**
   * {@link add} for a record given by its values (what a parse thread reads off a line without building
   * the record): `day` is the UTC day of its end (YYYY-MM-DD, see {@link utcDayOf}), null without one.
   */
  addJob(
    ended: boolean,
    day: string | null,
    project: string | null,
    user: string | null,
    walltimeUsed: number | null,
    walltimeRequested: number | null,
    cpuTime: number | null,
    ncpus: number | null,
    ngpus: number | null,
    memRequested: number | null,
  ): void {
    this.counts.records++;
    if (day === null) {
      this.counts.withoutEnd++;
      return;
    }
    const g = this.group(day, project, user);
    const wall = walltimeUsed ?? 0;
    g.cpu += cpuTime ?? 0;
    g.wall += wall;
    g.wallRequested += walltimeRequested ?? 0;
    g.coreSeconds += (ncpus ?? 0) * wall;
    g.gpuSeconds += (ngpus ?? 0) * wall;
    // A requeued attempt (R) and the final run (E) are one job: its usage is summed over both, but the
    // job and what it was allocated count once, with the E record.
    if (ended) {
      g.jobs++;
      this.counts.jobs++;
      g.vcpus += ncpus ?? 0;
      g.ram += memRequested ?? 0;
    }
  }

  /**
   * What was added since the last packed() (everything, the first time), packed for another thread
   * (PackedUsage): the groups' numbers, their sums in one Float64Array (in `room` when given and large
   * enough), and the keys of groups not sent before. Those sums then start again from 0,
   * so one fold can take block after block (a parse thread's does) and each packed() holds exactly one
   * block's usage.
   */
  packed(room?: Uint8Array): PackedUsage {
    const touched = this.touched;
    this.touched = [];
    const first = this.keysSent;
    const keys: string[] = [];
    for (let n = first; n < this.all.length; n++) keys.push(groupKey(this.all[n]!));
    this.keysSent = this.all.length;
    // In `room` (shared memory a block travels in) when it fits: a buffer of its own per block, moved to
    // another thread, is freed only when that thread collects garbage, and they piled up by megabytes.
    const size = touched.length;
    const fits = room !== undefined && room.byteOffset % 8 === 0 && room.byteLength >= size * 68;
    const values = fits ? new Float64Array(room.buffer, room.byteOffset, size * 8) : new Float64Array(size * 8);
    const groups = fits ? new Int32Array(room.buffer, room.byteOffset + size * 64, size) : new Int32Array(size);
    let at = 0;
    for (let i = 0; i < touched.length; i++) {
      const g = touched[i]!;
      groups[i] = g.n;
      // Field by field, by name: a loop over PACKED_FIELDS reads them by a variable key, several times slower.
      values[at] = g.jobs;
      values[at + 1] = g.cpu;
      values[at + 2] = g.wall;
      values[at + 3] = g.wallRequested;
      values[at + 4] = g.coreSeconds;
      values[at + 5] = g.gpuSeconds;
      values[at + 6] = g.vcpus;
      values[at + 7] = g.ram;
      at += 8;
      g.jobs = g.cpu = g.wall = g.wallRequested = g.coreSeconds = g.gpuSeconds = g.vcpus = g.ram = 0;
      g.touched = false;
    }
    const totals = {
      jobs: this.counts.jobs - this.packedCounts.jobs,
      records: this.counts.records - this.packedCounts.records,
      withoutEnd: this.counts.withoutEnd - this.packedCounts.withoutEnd,
    };
    Object.assign(this.packedCounts, this.counts);
    return { source: this.source, first, keys, groups, values, totals };
  }

  /**
   * Add what another fold packed (a parse thread's fold, one block). A fold's packs must come in the
   * order it made them (a thread answers in order, and its blocks are merged in file order).
   */
  mergePacked({ source, first, keys, groups, values, totals }: PackedUsage): void {
    let known = this.sources.get(source);
    if (!known) this.sources.set(source, (known = []));
    if (first !== known.length) throw new Error(`usage packed by ${source} merged out of order: group ${first} after ${known.length}`);
    for (const key of keys) {
      const [project, user, day] = JSON.parse(key) as [string | null, string | null, string];
      known.push(this.find(day, project, user));
    }
    let at = 0;
    for (let i = 0; i < groups.length; i++) {
      const g = known[groups[i]!];
      if (g === undefined) throw new Error(`usage packed by ${source} names group ${groups[i]} it never sent`);
      this.touch(g);
      g.jobs += values[at]!;
      g.cpu += values[at + 1]!;
      g.wall += values[at + 2]!;
      g.wallRequested += values[at + 3]!;
      g.coreSeconds += values[at + 4]!;
      g.gpuSeconds += values[at + 5]!;
      g.vcpus += values[at + 6]!;
      g.ram += values[at + 7]!;
      at += 8;
    }
    this.counts.jobs += totals.jobs;
    this.counts.records += totals.records;
    this.counts.withoutEnd += totals.withoutEnd;
  }

  /** Add another fold's groups and totals. */
  merge(sums: readonly UsageSums[], totals: UsageTotals): void {
    for (const s of sums) {
      const g = this.group(s.day, s.project, s.user);
      for (const field of PACKED_FIELDS) g[field] += s[field];
    }
    this.counts.jobs += totals.jobs;
    this.counts.records += totals.records;
    this.counts.withoutEnd += totals.withoutEnd;
  }

  get totals(): UsageTotals {
    return { ...this.counts };
  }

  /** Groups kept, whether packed() has emptied them or not: what the fold's memory grows with. */
  get kept(): number {
    return this.all.length;
  }

  /** Groups added to since the last packed() (every group, for a fold never packed). */
  get size(): number {
    return this.touched.length;
  }

  /** The running sums of those groups, in no particular order (for `merge` elsewhere). */
  sums(): UsageSums[] {
    return this.touched.map(({ n: _n, touched: _touched, ...sums }) => sums);
  }

  /** The usage lines, in a stable order (day, project, user). */
  lines(): UsageLine[] {
    return this.sums().sort(compareGroups).map(usageLineOf);
  }

  /** The group, marked as added to since the last packed(). */
  private group(day: string, project: string | null, user: string | null): Group {
    const g = this.find(day, project, user);
    this.touch(g);
    return g;
  }

  private touch(g: Group): void {
    if (!g.touched) {
      g.touched = true;
      this.touched.push(g);
    }
  }

  private find(day: string, project: string | null, user: string | null): Group {
    let projects = this.index.get(day);
    if (!projects) this.index.set(day, (projects = new Map()));
    let users = projects.get(project);
    if (!users) projects.set(project, (users = new Map()));
    let g = users.get(user);
    if (!g) {
      g = {
        day,
        project,
        user,
        jobs: 0,
        cpu: 0,
        wall: 0,
        wallRequested: 0,
        coreSeconds: 0,
        gpuSeconds: 0,
        vcpus: 0,
        ram: 0,
        n: this.all.length,
        touched: false,
      };
      users.set(user, g);
      this.all.push(g);
    }
    return g;
  }
}

const groupKey = (g: UsageSums) => JSON.stringify([g.project, g.user, g.day]);

let lastDay = Number.NaN;
let lastDayText = '';

/** The UTC day (YYYY-MM-DD) of a time in unix seconds, as `end.slice(0, 10)` of its RFC 3339 form; the last one is kept. */
export function utcDayOf(seconds: number): string {
  const day = Math.floor(seconds / 86_400);
  if (day !== lastDay) {
    lastDay = day;
    lastDayText = new Date(day * 86_400_000).toISOString().slice(0, 10);
  }
  return lastDayText;
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

import type { InstanceRecord } from '../../contracts/instance-record.ts';
import type { UsageEventInput } from '../../contracts/usage-event.ts';

/**
 * The OpenStack transform (docs/architecture.md §5, docs/openstack.md), pure and streaming: feed it instance
 * records one at a time, then take one usage event per (OpenStack project, UTC day). With h = the
 * seconds a server held its flavor that day (every state but SHELVED) and r = the seconds it ran
 * (ACTIVE):
 *   walltime_allocated = Σ h; walltime_used = Σ r; cpu_core_seconds = Σ vcpus × h;
 *   gpu_time_seconds = Σ gpus × h; vcpus_allocated = Σ vcpus × h / 86400;
 *   ram_bytes_allocated = Σ ram_mb × 2^20 × h / 86400; storage_bytes_allocated = Σ (disk + ephemeral) GiB × 2^30 × h / 86400;
 *   cpu_time_seconds = Σ measured CPU time and used_cpu_percent = 100 × cpu / Σ vcpus × r, only when
 *   every server that ran that day was measured (never derived from vCPUs × time).
 * Memory grows with the number of (project, day) groups, never with the number of servers.
 */
export interface OpenStackTransformOptions {
  /** The RELAYS entry's name for the cloud (`context.cluster`). */
  cluster: string;
}

interface Group {
  projectId: string;
  projectName: string | null;
  day: string;
  servers: number;
  held: number;
  running: number;
  coreSeconds: number;
  gpuSeconds: number;
  ramByteSeconds: number;
  diskByteSeconds: number;
  runningVcpuSeconds: number;
  cpuTime: number;
  /** Some server ran that day without a measured CPU time. */
  cpuUnknown: boolean;
}

export interface OpenStackTotals {
  /** Records fed in. */
  servers: number;
  /** Σ held seconds, Σ running seconds over every record (for conservation checks). */
  held: number;
  running: number;
}

const DAY_MS = 86_400_000;
const DAY_S = 86_400;
const MIB = 2 ** 20;
const GIB = 2 ** 30;

/** Seconds held and running per UTC day, from a record's intervals. */
function perDay(record: InstanceRecord): Map<string, { held: number; running: number }> {
  const days = new Map<string, { held: number; running: number }>();
  for (const interval of record.intervals) {
    const end = Date.parse(interval.end);
    for (let t = Date.parse(interval.start); t < end; ) {
      const dayStart = t - (t % DAY_MS);
      const until = Math.min(end, dayStart + DAY_MS);
      const seconds = (until - t) / 1000;
      const day = new Date(dayStart).toISOString().slice(0, 10);
      let d = days.get(day);
      if (!d) days.set(day, (d = { held: 0, running: 0 }));
      if (interval.state !== 'SHELVED') d.held += seconds;
      if (interval.state === 'ACTIVE') d.running += seconds;
      t = until;
    }
  }
  return days;
}

export class OpenStackEventBuilder {
  private readonly groups = new Map<string, Group>();
  private readonly totals_: OpenStackTotals = { servers: 0, held: 0, running: 0 };

  constructor(private readonly options: OpenStackTransformOptions) {}

  add(record: InstanceRecord): void {
    this.totals_.servers++;
    const days = perDay(record);
    // Measured CPU time belongs to the record's window: it can be put on a day only when the record has one.
    const cpu = days.size === 1 ? record.cpu_time_seconds : null;
    const f = record.flavor;
    for (const [day, { held, running }] of days) {
      this.totals_.held += held;
      this.totals_.running += running;
      if (held <= 0) continue;
      const key = JSON.stringify([record.project_id, day]);
      let g = this.groups.get(key);
      if (!g) {
        g = {
          projectId: record.project_id,
          projectName: null,
          day,
          servers: 0,
          held: 0,
          running: 0,
          coreSeconds: 0,
          gpuSeconds: 0,
          ramByteSeconds: 0,
          diskByteSeconds: 0,
          runningVcpuSeconds: 0,
          cpuTime: 0,
          cpuUnknown: false,
        };
        this.groups.set(key, g);
      }
      g.projectName = record.project_name ?? g.projectName;
      g.servers++;
      g.held += held;
      g.running += running;
      g.coreSeconds += f.vcpus * held;
      g.gpuSeconds += f.gpus * held;
      g.ramByteSeconds += f.ram_mb * MIB * held;
      g.diskByteSeconds += (f.disk_gb + f.ephemeral_gb) * GIB * held;
      g.runningVcpuSeconds += f.vcpus * running;
      if (cpu !== null) g.cpuTime += cpu;
      else if (running > 0) g.cpuUnknown = true;
    }
  }

  get totals(): OpenStackTotals {
    return { ...this.totals_ };
  }

  get size(): number {
    return this.groups.size;
  }

  /**
   * The events, in a stable order (day, project). `cpuMeasured`: the relay measured CPU time for the
   * window (its summary says so); without it no event carries CPU time.
   */
  events(collectedAt: string, opts: { cpuMeasured: boolean }): UsageEventInput[] {
    return [...this.groups.values()]
      .sort((a, b) => (a.day === b.day ? (a.projectId < b.projectId ? -1 : 1) : a.day < b.day ? -1 : 1))
      .map((g) => {
        const start = new Date(`${g.day}T00:00:00Z`);
        const cpu = opts.cpuMeasured && !g.cpuUnknown;
        return {
          schema_version: '1.0' as const,
          source: 'openstack' as const,
          time_window_start: start.toISOString(),
          time_window_end: new Date(start.getTime() + DAY_MS).toISOString(),
          collected_at: collectedAt,
          metrics: {
            walltime_allocated: g.held,
            walltime_used: g.running,
            cpu_core_seconds: g.coreSeconds,
            gpu_time_seconds: g.gpuSeconds,
            vcpus_allocated: g.coreSeconds / DAY_S,
            ram_bytes_allocated: g.ramByteSeconds / DAY_S,
            storage_bytes_allocated: g.diskByteSeconds / DAY_S,
            ...(cpu ? { cpu_time_seconds: g.cpuTime } : {}),
            ...(cpu && g.runningVcpuSeconds > 0 ? { used_cpu_percent: (100 * g.cpuTime) / g.runningVcpuSeconds } : {}),
          },
          identities: [],
          context: {
            cluster: this.options.cluster,
            openstack_project_id: g.projectId,
            ...(g.projectName ? { project: g.projectName } : {}),
            instance_count: g.servers,
          },
        };
      });
  }
}

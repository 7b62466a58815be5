import type { JobRecord } from '../../contracts/job-record.ts';
import { PbsUsageFold, type UsageLine, type UsageTotals } from '../../contracts/pbs-usage.ts';
import type { UsageEventInput } from '../../contracts/usage-event.ts';
import { DAY_MS } from '../../lib/utc-day.ts';

/**
 * The PBS transform (docs/architecture.md §3) on the Worker's side. The fold itself is
 * contracts/pbs-usage.ts, the code the relay runs on site for `GET /v1/usage`; here its usage lines
 * become usage events, whether they were folded here from `/v1/jobs` records (`PbsEventBuilder`, jobs
 * mode) or arrive folded from the relay (`usageEvent`, usage mode): the same lines give the same events.
 */
export interface TransformOptions {
  cluster: string;
  /** Authority of the perun_username identities (the cluster's user namespace). */
  authority?: string;
}

export type TransformTotals = UsageTotals;

/** One usage line as a usage event of the cluster. */
export function usageEvent(line: UsageLine, options: TransformOptions, collectedAt: string): UsageEventInput {
  const { cluster, authority } = options;
  const start = new Date(`${line.day}T00:00:00Z`);
  return {
    schema_version: '1.0' as const,
    source: 'pbs' as const,
    time_window_start: start.toISOString(),
    time_window_end: new Date(start.getTime() + DAY_MS).toISOString(),
    collected_at: collectedAt,
    metrics: { ...line.metrics },
    identities: line.user ? [{ scheme: 'perun_username' as const, value: line.user, ...(authority ? { authority } : {}) }] : [],
    context: {
      cluster,
      ...(line.project ? { project: line.project } : {}),
      job_count: line.jobs,
    },
  };
}

/**
 * Jobs mode: feed job records one at a time, then take one usage event per (project, user, UTC day of
 * the job's end), in a stable order (day, project, user).
 */
export class PbsEventBuilder {
  private readonly fold = new PbsUsageFold();

  constructor(private readonly options: TransformOptions) {}

  add(job: JobRecord): void {
    this.fold.add(job);
  }

  get totals(): TransformTotals {
    return this.fold.totals;
  }

  get size(): number {
    return this.fold.size;
  }

  events(collectedAt: string): UsageEventInput[] {
    return this.fold.lines().map((line) => usageEvent(line, this.options, collectedAt));
  }
}

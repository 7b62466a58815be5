/**
 * The link-mapping rules (docs/architecture.md §4), as data the SQL in map-events.ts follows, and the pure
 * helpers of the consumer. Raise RULE_VERSION whenever a rule changes: every link records the
 * version that wrote it, so links from older rules can be found and re-run.
 */
import { DAY_MS } from '../lib/utc-day.ts';

/**
 * 2: an event with no identity at all (OpenStack usage) is `resolved` when its project and allocation are,
 * with no user; one whose identities match no user is still `partial`.
 */
export const RULE_VERSION = 2;

/** The PBS project name that means "the user's default project". */
export const PBS_DEFAULT_PROJECT = '_pbs_project_default';

/** Allocations a non-OpenStack event may be charged to (OpenStack usage goes to its GitOps allocation). */
export const BATCH_ALLOCATION_KIND = 'hpc';

export interface TimeRange {
  from: string;
  to: string;
}

/**
 * Merge overlapping or touching ranges (so that no event is mapped twice in one statement), as
 * ISO strings in UTC, sorted.
 */
export function mergeRanges(ranges: readonly TimeRange[]): TimeRange[] {
  const sorted = ranges
    .map((r) => ({ from: Date.parse(r.from), to: Date.parse(r.to) }))
    .filter((r) => r.to > r.from)
    .sort((a, b) => a.from - b.from);
  const out: { from: number; to: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out.map((r) => ({ from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString() }));
}

/** Cut [from, to) at UTC midnights: the re-run sends one queue message per day. */
export function splitByUtcDay(range: TimeRange): TimeRange[] {
  const end = Date.parse(range.to);
  const out: TimeRange[] = [];
  for (let start = Date.parse(range.from); start < end; ) {
    const next = Math.min(end, (Math.floor(start / DAY_MS) + 1) * DAY_MS);
    out.push({ from: new Date(start).toISOString(), to: new Date(next).toISOString() });
    start = next;
  }
  return out;
}

/** Seconds before a failed batch is tried again: 10 s, 20 s, 40 s … at most 15 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(900, 10 * 2 ** Math.max(0, attempts - 1));
}

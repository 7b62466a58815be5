/**
 * What the operator page shows, read in two round trips (five statements): per cluster the last
 * collection runs and the watermark; over the last USAGE_DAYS UTC days, the links not resolved by
 * status and by reason, and core-hours per project per day. Usage whose link names no project
 * (unresolved, partial without a project, or not mapped yet) is kept, with a null project: the page
 * shows it as unmapped. Bounding links by the same days keeps the cost independent of history.
 */
import { sql } from 'drizzle-orm';
import type { RelayTarget } from '../config.ts';
import type { LinkStatus, ReasonCode } from '../contracts/event-link.ts';
import { MAX_METRIC_VALUE } from '../contracts/usage-event.ts';
import type { Database } from '../db/client.ts';
import { clusterStatus } from '../db/queries/collection.ts';
import { type CollectionRun, collectionRuns } from '../db/schema/collection.ts';
import { projects, resourceUsageEventLinks, resourceUsageEvents, users } from '../db/schema/index.ts';
import { addDays, utcDay } from '../lib/utc-day.ts';
import { type AllocationShare, allocationShares } from './allocation-balances.ts';

/** Runs shown per cluster, newest first. */
export const RUNS_PER_CLUSTER = 7;
/** UTC days in the usage chart, today included. */
export const USAGE_DAYS = 30;

export type RunSummary = Pick<
  CollectionRun,
  | 'id'
  | 'cluster'
  | 'day'
  | 'trigger'
  | 'attempt'
  | 'status'
  | 'started_at'
  | 'duration_ms'
  | 'jobs'
  | 'events'
  | 'inserted'
  | 'updated'
  | 'unchanged'
  | 'malformed'
  | 'skipped'
  | 'error'
>;

export interface ClusterOverview {
  cluster: string;
  /** The relay URL when the cluster is in RELAYS; null: it has runs but is no longer configured. */
  relay: string | null;
  /** What its relay serves (RELAYS `kind`): a PBS cluster's jobs or an OpenStack cloud's servers; null when not configured. */
  kind: RelayTarget['kind'] | null;
  /** Every UTC day up to this one is collected; null: never. */
  through_day: string | null;
  queued: number;
  failed: number;
  runs: RunSummary[];
}

export interface UnresolvedOverview {
  /** Links of the days' events not resolved, by status. */
  by_status: Record<Extract<LinkStatus, 'unresolved' | 'partial'>, number>;
  /** Links with each reason (a link has one reason per missing part), most frequent first. */
  by_reason: { part: string; code: ReasonCode; links: number }[];
}

export type UsageCell = {
  /** UTC day of the events' time_window_start, YYYY-MM-DD. */
  day: string;
  /** null: unmapped (the link names no project, or the event is not mapped yet). */
  project_id: string | null;
  project: string | null;
  core_seconds: number;
  events: number;
};

export interface UsageOverview {
  /** Every UTC day of the chart, oldest first. */
  days: string[];
  /** Days and projects with core-seconds above zero. */
  cells: UsageCell[];
}

/** The reasons that a directory entry would clear, and what names the entry to add. */
export const WAITING_REASONS = [
  'user_not_found',
  'project_not_found',
  'openstack_project_not_found',
  'no_allocation_at_time',
  'no_default_project',
] as const;
export type WaitingReason = (typeof WAITING_REASONS)[number];
/** Events that wait for one directory entry: the reason and what names the entry (an identity, a project name…). */
export type WaitingEntry = { code: WaitingReason; what: string | null; events: number; first: string; last: string };
/** Rows of waiting entries shown, most events first. */
export const WAITING_ROWS = 20;

export interface OperatorOverview {
  generated_at: string;
  /** Only this cluster, when asked for. */
  cluster: string | null;
  clusters: ClusterOverview[];
  unresolved: UnresolvedOverview;
  usage: UsageOverview;
  /** Each granted metric of each active allocation, with its share used. */
  allocations: AllocationShare[];
  /** The days' events not resolved for want of a directory entry, by reason and entry. */
  waiting: WaitingEntry[];
}

/** The overview at `now`, for every cluster or only `cluster`. */
export async function operatorOverview(
  db: Database,
  opts: { relays: readonly RelayTarget[]; now: Date; cluster?: string | undefined },
): Promise<OperatorOverview> {
  const cluster = opts.cluster ?? null;
  const last = utcDay(opts.now);
  const days = Array.from({ length: USAGE_DAYS }, (_, i) => addDays(last, i - USAGE_DAYS + 1));
  const [from, to] = [`${days[0]}T00:00:00Z`, `${addDays(last, 1)}T00:00:00Z`];
  const ofCluster = (column: ReturnType<typeof sql>) => (cluster === null ? sql`true` : sql`${column} = ${cluster}`);
  const inRange = (column: ReturnType<typeof sql>) => sql`${column} >= ${from}::timestamptz AND ${column} < ${to}::timestamptz`;
  // Links of the range's events; with a cluster, of its events only (a link holds its event's key: id and time_window_start).
  const linkJoin =
    cluster === null
      ? sql``
      : sql`JOIN ${resourceUsageEvents} e ON e.id = l.event_id AND e.time_window_start = l.event_time
          AND e.context ->> 'cluster' = ${cluster} AND ${inRange(sql`e.time_window_start`)}`;
  const notResolved = sql`${inRange(sql`l.event_time`)} AND l.status IN ('unresolved', 'partial')`;

  // Each stored value counted as at most MAX_METRIC_VALUE (rows stored before that limit): the sum stays a finite float8.
  const cap = sql.raw(MAX_METRIC_VALUE.toFixed(0));
  const value = sql`(u.metrics ->> 'cpu_core_seconds')::numeric`;
  const coreSeconds = sql`(CASE WHEN ${value} > ${cap} THEN ${cap} ELSE ${value} END)`;
  const [runs, statuses, reasons, usage, waiting] = await db.batch([
    db.execute<RunSummary>(sql`
      SELECT id::text, cluster, day::text AS day, trigger, attempt, status,
        to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS started_at,
        duration_ms, jobs, events, inserted, updated, unchanged, malformed, skipped, error
      FROM (
        SELECT r.*, row_number() OVER (PARTITION BY r.cluster ORDER BY r.started_at DESC, r.id) AS rn
        FROM ${collectionRuns} r WHERE ${ofCluster(sql`r.cluster`)}
      ) x
      WHERE rn <= ${RUNS_PER_CLUSTER}
      ORDER BY cluster, started_at DESC, id`),
    db.execute<{ status: 'unresolved' | 'partial'; links: number }>(sql`
      SELECT l.status, count(*)::int AS links
      FROM ${resourceUsageEventLinks} l ${linkJoin}
      WHERE ${notResolved}
      GROUP BY l.status`),
    db.execute<{ part: string; code: ReasonCode; links: number }>(sql`
      SELECT r ->> 'part' AS part, r ->> 'code' AS code, count(*)::int AS links
      FROM ${resourceUsageEventLinks} l ${linkJoin}
      CROSS JOIN LATERAL jsonb_array_elements(l.reasons) AS r
      WHERE ${notResolved}
      GROUP BY 1, 2
      ORDER BY links DESC, CASE r ->> 'part' WHEN 'user' THEN 0 WHEN 'project' THEN 1 ELSE 2 END, code`),
    db.execute<UsageCell>(sql`
      SELECT to_char((u.time_window_start AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day,
        p.id::text AS project_id, p.name AS project,
        sum(${coreSeconds})::float8 AS core_seconds,
        count(*)::int AS events
      FROM ${resourceUsageEvents} u
      -- The range on the link too: PostgreSQL does not carry a range across the join's equality.
      LEFT JOIN ${resourceUsageEventLinks} l ON l.event_id = u.id AND l.event_time = u.time_window_start
        AND ${inRange(sql`l.event_time`)}
      LEFT JOIN ${projects} p ON p.id = l.project_id
      WHERE ${inRange(sql`u.time_window_start`)}
        AND u.metrics ->> 'cpu_core_seconds' IS NOT NULL
        AND ${ofCluster(sql`u.context ->> 'cluster'`)}
      GROUP BY 1, 2, 3
      HAVING sum(${coreSeconds}) > 0
      ORDER BY 1, 3 NULLS LAST`),
    db.execute<WaitingEntry>(sql`
      SELECT r ->> 'code' AS code,
        CASE r ->> 'code'
          WHEN 'user_not_found' THEN (SELECT string_agg(format('%s %s', i ->> 'scheme', i ->> 'value'), ', ' ORDER BY i ->> 'scheme')
            FROM jsonb_array_elements(CASE jsonb_typeof(ev.identities) WHEN 'array' THEN ev.identities ELSE '[]'::jsonb END) i)
          WHEN 'project_not_found' THEN ev.context ->> 'project'
          WHEN 'openstack_project_not_found' THEN coalesce(ev.context ->> 'openstack_project_id', ev.context ->> 'project')
          WHEN 'no_allocation_at_time' THEN p.name
          WHEN 'no_default_project' THEN coalesce(u.username, u.email, u.id::text)
        END AS what,
        count(*)::int AS events,
        to_char(min(l.event_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS first,
        to_char(max(l.event_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS last
      FROM ${resourceUsageEventLinks} l
      JOIN ${resourceUsageEvents} ev ON ev.id = l.event_id AND ev.time_window_start = l.event_time AND ${inRange(sql`ev.time_window_start`)}
        AND ${ofCluster(sql`ev.context ->> 'cluster'`)}
      CROSS JOIN LATERAL jsonb_array_elements(l.reasons) AS r
      LEFT JOIN ${projects} p ON p.id = l.project_id
      LEFT JOIN ${users} u ON u.id = l.user_id
      WHERE ${notResolved} AND r ->> 'code' IN (${sql.join(
        WAITING_REASONS.map((c) => sql`${c}`),
        sql`, `,
      )})
      GROUP BY 1, 2
      ORDER BY events DESC, 1, 2
      LIMIT ${WAITING_ROWS}`),
  ]);
  const shares = await allocationShares(db, { activeOnly: true });

  const relayUrl = new Map(opts.relays.map((r) => [r.cluster, r.url]));
  const relayKind = new Map(opts.relays.map((r) => [r.cluster, r.kind]));
  const names = cluster === null ? [...new Set([...relayUrl.keys(), ...runs.rows.map((r) => r.cluster)])].sort() : [cluster];
  const status = await clusterStatus(db, names);
  const clusters = status.map((s) => ({
    ...s,
    relay: relayUrl.get(s.cluster) ?? null,
    kind: relayKind.get(s.cluster) ?? null,
    runs: runs.rows.filter((r) => r.cluster === s.cluster).map((r) => ({ ...r, attempt: Number(r.attempt) })),
  }));

  const by_status = { unresolved: 0, partial: 0 };
  for (const s of statuses.rows) by_status[s.status] = Number(s.links);
  return {
    generated_at: opts.now.toISOString(),
    cluster,
    clusters,
    unresolved: { by_status, by_reason: reasons.rows.map((r) => ({ ...r, links: Number(r.links) })) },
    usage: {
      days,
      cells: usage.rows.map((c) => ({ ...c, core_seconds: Number(c.core_seconds), events: Number(c.events) })),
    },
    allocations: shares,
    waiting: waiting.rows.map((w) => ({ ...w, events: Number(w.events) })),
  };
}

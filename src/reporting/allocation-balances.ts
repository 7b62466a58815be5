import { type SQL, sql } from 'drizzle-orm';
import { type AllocationBalance, type BalancesPage, GRANT_METRICS, type GrantMetric, type Grants } from '../contracts/directory.ts';
import type { Database } from '../db/client.ts';
import { decodeIdCursor, encodeIdCursor } from '../db/queries/directory.ts';
import { allocationCharges, allocations, projects, resourceUsageEventLinks, resourceUsageEvents } from '../db/schema/index.ts';

/** One granted metric of one allocation: what the alerts and /metrics read (ids are the allocation system's). */
export type AllocationShare = {
  allocation_id: string;
  project_id: string;
  metric: GrantMetric;
  granted: number;
  used: number;
  used_share: number;
};

type BalanceRow = {
  id: string;
  allocation_id: string;
  project_id: string;
  kind: AllocationBalance['kind'];
  valid_from: string;
  valid_to: string | null;
  active: boolean;
  grants: Grants;
} & Record<GrantMetric, string | number | null>;

const ts = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
const sums = sql.raw(GRANT_METRICS.map((m) => `sum(${m}) AS ${m}`).join(', '));
const eventSums = sql.raw(GRANT_METRICS.map((m) => `sum((e.metrics ->> '${m}')::float8) AS ${m}`).join(', '));
const chargeSums = sql.raw(GRANT_METRICS.map((m) => `sum(c.${m}) AS ${m}`).join(', '));

/** Events of allocation `b` (resolved or manual links) with time_window_start in [from, to): exact, from the links. */
const exactly = (from: SQL, to: SQL) => sql`
  SELECT ${eventSums} FROM ${resourceUsageEventLinks} l
  JOIN ${resourceUsageEvents} e ON e.id = l.event_id AND e.time_window_start = l.event_time
  WHERE l.allocation_id = b.id AND l.status IN ('resolved', 'manual') AND l.event_time >= ${from} AND l.event_time < ${to}`;

/**
 * The balance rows of the allocations `filter` keeps, in the order of their allocation-system ids. `used` is
 * the sum over the events linked to the allocation (resolved or manual) whose time_window_start is in its
 * validity [valid_from, valid_to): the whole UTC days inside it from allocation_charges (one row per day), the
 * partial days at either end (a validity that does not start or end at midnight UTC) from the links themselves.
 */
async function balanceRows(db: Database, filter: SQL, limit?: number): Promise<BalanceRow[]> {
  const { rows } = await db.execute<BalanceRow>(sql`
    WITH a AS (
      SELECT a.id, coalesce(a.directory_id, a.id::text) AS allocation_id, coalesce(p.directory_id, p.id::text) AS project_id,
        a.kind, a.valid_from, a.valid_to, a.active, a.grants
      FROM ${allocations} a JOIN ${projects} p ON p.id = a.project_id
      WHERE ${filter}
      ORDER BY 2 ${limit === undefined ? sql`` : sql`LIMIT ${limit}`}
    ), b AS (
      SELECT a.*, (a.valid_from AT TIME ZONE 'UTC')::date
          + CASE WHEN (a.valid_from AT TIME ZONE 'UTC')::time = '00:00' THEN 0 ELSE 1 END AS first_day,
        (a.valid_to AT TIME ZONE 'UTC')::date AS end_day
      FROM a
    )
    SELECT b.id::text AS id, b.allocation_id, b.project_id, b.kind, ${ts('b.valid_from')} AS valid_from,
      ${ts('b.valid_to')} AS valid_to, b.active, b.grants, ${sql.raw(GRANT_METRICS.map((m) => `u.${m}`).join(', '))}
    FROM b CROSS JOIN LATERAL (
      SELECT ${sums} FROM (
        SELECT ${chargeSums} FROM ${allocationCharges} c
        WHERE c.allocation_id = b.id AND c.day >= b.first_day AND (b.end_day IS NULL OR c.day < b.end_day)
        UNION ALL ${exactly(sql`b.valid_from`, sql`least(b.first_day::timestamp AT TIME ZONE 'UTC', coalesce(b.valid_to, 'infinity'))`)}
        UNION ALL ${exactly(sql`greatest(b.end_day::timestamp AT TIME ZONE 'UTC', b.first_day::timestamp AT TIME ZONE 'UTC')`, sql`b.valid_to`)}
      ) parts
    ) u
    ORDER BY b.allocation_id`);
  return rows;
}

const metricsOf = (row: BalanceRow): AllocationBalance['metrics'] => {
  const metrics: AllocationBalance['metrics'] = {};
  for (const metric of GRANT_METRICS) {
    const granted = row.grants?.[metric];
    if (typeof granted !== 'number' || granted <= 0) continue;
    const used = Number(row[metric] ?? 0);
    metrics[metric] = { granted, used, remaining: granted - used, used_share: used / granted };
  }
  return metrics;
};

const toBalance = (row: BalanceRow): AllocationBalance => ({
  allocation_id: row.allocation_id,
  project_id: row.project_id,
  kind: row.kind,
  valid_from: row.valid_from,
  valid_to: row.valid_to,
  active: row.active,
  metrics: metricsOf(row),
});

/** GET /allocations/{id}/balance: by the allocation system's id; undefined when there is none. */
export async function allocationBalance(db: Database, directoryId: string): Promise<AllocationBalance | undefined> {
  const [row] = await balanceRows(db, sql`a.directory_id = ${directoryId}`);
  return row ? toBalance(row) : undefined;
}

/** GET /allocations: the balances of the allocations of a project and/or activity, paged by id. */
export async function listBalances(
  db: Database,
  q: { project?: string | undefined; active?: boolean | undefined; limit: number; cursor?: string | undefined },
): Promise<BalancesPage> {
  const after = q.cursor === undefined ? undefined : decodeIdCursor(q.cursor);
  const filter = sql.join(
    [
      sql`a.directory_id IS NOT NULL`,
      q.project === undefined ? undefined : sql`p.directory_id = ${q.project}`,
      q.active === undefined ? undefined : sql`a.active = ${q.active}`,
      after === undefined ? undefined : sql`a.directory_id > ${after}`,
    ].filter((s): s is SQL => s !== undefined),
    sql` AND `,
  );
  const rows = await balanceRows(db, filter, q.limit + 1);
  const page = rows.slice(0, q.limit);
  const { rows: unmapped } = await db.execute<{ n: string }>(sql`
    SELECT count(*) AS n FROM ${resourceUsageEventLinks} l
    WHERE l.allocation_id IS NULL
      ${q.project === undefined ? sql`` : sql`AND l.project_id = (SELECT id FROM ${projects} WHERE directory_id = ${q.project})`}`);
  const last = page[page.length - 1];
  return {
    allocations: page.map(toBalance),
    unmapped_events: Number(unmapped[0]?.n ?? 0),
    next_cursor: rows.length > q.limit && last ? encodeIdCursor(last.allocation_id) : null,
  };
}

/**
 * Every granted metric of every allocation (or only the active ones), with what is used of it: one row per
 * (allocation, granted metric). The one query the alerts (80 % and 100 % of a grant) and /metrics read.
 */
export async function allocationShares(db: Database, opts: { activeOnly?: boolean } = {}): Promise<AllocationShare[]> {
  const rows = await balanceRows(db, opts.activeOnly ? sql`a.active AND a.grants <> '{}'::jsonb` : sql`a.grants <> '{}'::jsonb`);
  return rows.flatMap((row) =>
    Object.entries(metricsOf(row)).map(([metric, m]) => ({
      allocation_id: row.allocation_id,
      project_id: row.project_id,
      metric: metric as GrantMetric,
      granted: m.granted,
      used: m.used,
      used_share: m.used_share,
    })),
  );
}

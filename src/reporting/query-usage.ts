import { sql, type SQL } from 'drizzle-orm';
import { MAX_METRIC_VALUE, METRIC_KEYS } from '../contracts/usage-event.ts';
import { isUuid, MAX_USAGE_ROWS, type UsageDimension, type UsageQuery, type UsageReport, type UsageRow } from '../contracts/usage-report.ts';
import type { Database } from '../db/client.ts';
import { projects, resourceUsageEventLinks, resourceUsageEvents, users } from '../db/schema/index.ts';
import { type Bucketing, bucketStart, detectBucketing } from './bucketing.ts';

/** The report would hold more than `limit` rows (bucket × group). */
export class ReportTooLargeError extends Error {
  override name = 'ReportTooLargeError';
  constructor(readonly limit: number) {
    super(`the report has more than ${limit} rows`);
  }
}

export interface QueryUsageOptions {
  /** Bucket with this function instead of the detected one (tests compare the two). */
  bucketing?: Bucketing;
}

const list = (values: readonly string[], cast = '') =>
  sql.join(
    values.map((v) => sql`${v}${sql.raw(cast)}`),
    sql`, `,
  );
const anyOf = (conditions: (SQL | false)[]) =>
  sql.join(
    conditions.filter((c): c is SQL => c !== false),
    sql` OR `,
  );

/**
 * The projects named by name or id. A semi-join, not `= ANY(ARRAY(…))`: the planner then estimates
 * the links of a project from the column's statistics and probes the link index on
 * (project_id, event_time), then the events' primary key, instead of scanning every event.
 */
function projectIds(values: string[]): SQL {
  const ids = values.filter(isUuid);
  return sql`SELECT id FROM ${projects} WHERE ${anyOf([sql`name IN (${list(values)})`, ids.length > 0 && sql`id IN (${list(ids, '::uuid')})`])}`;
}

/** The users named by username, e-mail (any case), OIDC subject or id. */
function userIds(values: string[]): SQL {
  const ids = values.filter(isUuid);
  return sql`SELECT id FROM ${users} WHERE ${anyOf([
    sql`username IN (${list(values)})`,
    sql`external_id IN (${list(values)})`,
    sql`lower(email) IN (${list(values.map((v) => v.toLowerCase()))})`,
    ids.length > 0 && sql`id IN (${list(ids, '::uuid')})`,
  ])}`;
}

/** Per dimension: the grouping expression (inner), the columns it shows (outer) and its sort keys. */
const DIMENSIONS: Record<UsageDimension, { group: SQL; show: SQL; join?: SQL; order: SQL; mapping: boolean }> = {
  project: {
    group: sql`l.project_id AS project_id`,
    show: sql`p.name AS project, a.project_id::text AS project_id`,
    join: sql`LEFT JOIN ${projects} p ON p.id = a.project_id`,
    order: sql`p.name COLLATE "C" NULLS LAST, a.project_id NULLS LAST`,
    mapping: true,
  },
  user: {
    group: sql`l.user_id AS user_id`,
    show: sql`coalesce(u.username, u.email, u.external_id) AS "user", a.user_id::text AS user_id`,
    join: sql`LEFT JOIN ${users} u ON u.id = a.user_id`,
    order: sql`coalesce(u.username, u.email, u.external_id) COLLATE "C" NULLS LAST, a.user_id NULLS LAST`,
    mapping: true,
  },
  allocation: {
    group: sql`l.allocation_id AS allocation_id`,
    show: sql`a.allocation_id::text AS allocation_id`,
    order: sql`a.allocation_id NULLS LAST`,
    mapping: true,
  },
  cluster: {
    group: sql`e.context ->> 'cluster' AS cluster`,
    show: sql`a.cluster`,
    order: sql`a.cluster COLLATE "C" NULLS LAST`,
    mapping: false,
  },
  source: { group: sql`e.source AS source`, show: sql`a.source`, order: sql`a.source COLLATE "C"`, mapping: false },
};

const ID_COLUMN: Partial<Record<UsageDimension, string>> = { project: 'project_id', user: 'user_id', allocation: 'allocation_id' };

/** The one statement of a report. Exported for the benchmark's EXPLAIN and the direct baseline. */
export function usageStatement(q: UsageQuery, bucketing: Bucketing, maxRows: number): SQL {
  const groupBy = q.group_by ?? [];
  const dims = groupBy.map((d) => DIMENSIONS[d]);
  // A filter on a link id keeps only linked events: the link index on (project_id, event_time) can then drive.
  const linkFilters: SQL[] = [];
  if (q.project) linkFilters.push(sql`l.project_id IN (${projectIds(q.project)})`);
  if (q.user) linkFilters.push(sql`l.user_id IN (${userIds(q.user)})`);
  if (q.allocation) linkFilters.push(sql`l.allocation_id IN (${list(q.allocation, '::uuid')})`);
  if (linkFilters.length) linkFilters.push(sql`l.event_time >= ${q.from}::timestamptz AND l.event_time < ${q.to}::timestamptz`);
  const filters = [
    sql`e.time_window_start >= ${q.from}::timestamptz AND e.time_window_start < ${q.to}::timestamptz`,
    ...linkFilters,
    ...(q.cluster ? [sql`e.context ->> 'cluster' IN (${list(q.cluster)})`] : []),
    ...(q.source ? [sql`e.source IN (${list(q.source)})`] : []),
  ];
  const mappingIds = groupBy.flatMap((d) => (ID_COLUMN[d] ? [sql.raw(`a.${ID_COLUMN[d]} IS NULL`)] : []));
  // Exact sums (numeric, never float8), each stored value counted as at most MAX_METRIC_VALUE (rows stored
  // before the contract had that limit), so every total is finite; used_cpu_percent is recomputed, not summed.
  // (A CASE, not least(): least() ignores a NULL, and an event without the metric must add nothing.)
  const cap = MAX_METRIC_VALUE.toFixed(0);
  const value = (k: string) => `(CASE WHEN (e.metrics ->> '${k}')::numeric > ${cap} THEN ${cap} ELSE (e.metrics ->> '${k}')::numeric END)`;
  const metricSums = METRIC_KEYS.map((k) =>
    k === 'used_cpu_percent'
      ? sql.raw(
          `CASE WHEN coalesce(sum(${value('cpu_core_seconds')}), 0) > 0 THEN round(100 * coalesce(sum(${value('cpu_time_seconds')}), 0) / sum(${value('cpu_core_seconds')}), 6) END AS ${k}`,
        )
      : sql.raw(`coalesce(sum(${value(k)}), 0) AS ${k}`),
  );
  const comma = (parts: SQL[]) => sql.join(parts, sql`, `);

  return sql`
WITH a AS (
  SELECT ${bucketStart(bucketing, q.bucket, sql`e.time_window_start`)} AS bucket,
    ${comma([...dims.map((d) => d.group), sql`count(*) AS events`])},
    count(*) FILTER (WHERE l.status IS NULL OR l.status NOT IN ('resolved', 'manual')) AS unmapped_events,
    ${comma(metricSums)}
  FROM ${resourceUsageEvents} e
  LEFT JOIN ${resourceUsageEventLinks} l ON l.event_id = e.id AND l.event_time = e.time_window_start
  WHERE ${sql.join(filters, sql` AND `)}
  GROUP BY ${sql.raw(Array.from({ length: dims.length + 1 }, (_, i) => i + 1).join(', '))}
)
SELECT to_char(a.bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS bucket_start,
  ${comma([...dims.map((d) => d.show), mappingIds.length ? sql`(${sql.join(mappingIds, sql` OR `)}) AS unmapped` : sql`false AS unmapped`])},
  a.events::text AS events, a.unmapped_events::text AS unmapped_events,
  ${comma(METRIC_KEYS.map((k) => sql.raw(`a.${k}::text AS ${k}`)))}
FROM a ${sql.join(
    dims.flatMap((d) => (d.join ? [d.join] : [])),
    sql` `,
  )}
ORDER BY ${comma([sql`a.bucket`, ...dims.map((d) => d.order)])}
LIMIT ${maxRows + 1}`;
}

/**
 * Totals of every metric per UTC bucket of time_window_start and per group, over the events in
 * [from, to), joined to their links. Events without a link, or whose link lacks the project, user or
 * allocation grouped by, are reported under null for it (`unmapped: true`): never dropped.
 * One SQL statement (plus, once per database client, the TimescaleDB probe).
 */
export async function queryUsage(db: Database, q: UsageQuery, opts: QueryUsageOptions = {}): Promise<UsageReport> {
  const maxRows = MAX_USAGE_ROWS;
  const bucketing = opts.bucketing ?? (await detectBucketing(db));
  const { rows } = await db.execute<Record<string, string | boolean | null>>(usageStatement(q, bucketing, maxRows));
  if (rows.length > maxRows) throw new ReportTooLargeError(maxRows);
  const groupBy = q.group_by ?? [];
  return {
    from: q.from,
    to: q.to,
    bucket: q.bucket,
    group_by: groupBy,
    rows: rows.map((r) => toRow(r, groupBy)),
  };
}

function toRow(r: Record<string, string | boolean | null>, groupBy: readonly UsageDimension[]): UsageRow {
  const row: Record<string, unknown> = { bucket_start: r.bucket_start };
  for (const d of groupBy) {
    if (d === 'project') Object.assign(row, { project: r.project, project_id: r.project_id });
    else if (d === 'user') Object.assign(row, { user: r.user, user_id: r.user_id });
    else row[ID_COLUMN[d] ?? d] = r[ID_COLUMN[d] ?? d];
  }
  row.unmapped = r.unmapped === true || r.unmapped === 't';
  row.events = Number(r.events);
  row.unmapped_events = Number(r.unmapped_events);
  for (const k of METRIC_KEYS) row[k] = r[k] === null ? null : Number(r[k]);
  return row as UsageRow;
}

import { z } from '@hono/zod-openapi';
import { DAY_MS } from '../lib/utc-day.ts';
import { inYearRange, YEAR_RANGE_MESSAGE } from './safe-text.ts';
import { MAX_METRIC_VALUE, METRIC_KEYS, type MetricKey, type Source, SOURCES } from './usage-event.ts';

/**
 * `GET /usage`: totals of every metric per time bucket and group. The query parameters, the rows
 * (JSON and CSV have the same columns), and the limits that keep one report bounded.
 */

export const USAGE_BUCKETS = ['day', 'week', 'month'] as const;
export type UsageBucket = (typeof USAGE_BUCKETS)[number];

/** What a report can be grouped by (and filtered on). */
export const USAGE_DIMENSIONS = ['project', 'user', 'allocation', 'cluster', 'source'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

/** Longest span one report may cover: three years (1,096 days). */
export const MAX_USAGE_SPAN_DAYS = 1096;
/** Most rows (bucket × group) one report may hold; more is a 422 `report_too_large`. */
export const MAX_USAGE_ROWS = 10_000;
/** Most values one filter may list. */
export const MAX_FILTER_VALUES = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string) => UUID.test(v);

const isoDate = z.iso.date();
const isoDateTime = z.iso.datetime({ offset: true });

/** A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 date-time with an offset → an ISO instant in UTC. */
const Instant = z.string().transform((v, ctx) => {
  const iso = isoDate.safeParse(v).success ? `${v}T00:00:00.000Z` : isoDateTime.safeParse(v).success ? v : undefined;
  if (iso !== undefined && !inYearRange(iso)) {
    ctx.addIssue({ code: 'custom', message: YEAR_RANGE_MESSAGE });
    return z.NEVER;
  }
  if (iso !== undefined) return new Date(iso).toISOString();
  ctx.addIssue({ code: 'custom', message: 'must be a date (2026-01-01) or an RFC 3339 date-time with an offset (2026-01-01T00:00:00Z)' });
  return z.NEVER;
});

/** `a,b` or `x=a&x=b` (or both) → `['a', 'b']`: blanks dropped, duplicates kept once. */
const listOf = (what: string, check?: (v: string) => string | undefined) =>
  z.union([z.string(), z.array(z.string())]).transform((raw, ctx) => {
    const values = [
      ...new Set(
        (Array.isArray(raw) ? raw : [raw])
          .flatMap((v) => v.split(','))
          .map((v) => v.trim())
          .filter(Boolean),
      ),
    ];
    if (values.length === 0) ctx.addIssue({ code: 'custom', message: `name at least one ${what}` });
    if (values.length > MAX_FILTER_VALUES) ctx.addIssue({ code: 'custom', message: `at most ${MAX_FILTER_VALUES} values` });
    for (const v of values) {
      const problem = v.length > 256 ? 'is longer than 256 characters' : check?.(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `'${v.slice(0, 64)}' ${problem}` });
    }
    return values;
  });

const oneOf = (allowed: readonly string[]) => (v: string) => (allowed.includes(v) ? undefined : `is not one of ${allowed.join(', ')}`);

const listParam = (description: string, example: string) => ({ description, example, type: 'string' }) as const;

export const UsageQuerySchema = z
  .object({
    from: Instant.openapi({
      description: 'Start (inclusive) of the events’ `time_window_start`: `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time',
      example: '2026-01-01',
      type: 'string',
    }),
    to: Instant.openapi({
      description: `End (exclusive); after \`from\`, at most ${MAX_USAGE_SPAN_DAYS} days (three years) later`,
      example: '2026-02-01',
      type: 'string',
    }),
    bucket: z
      .enum(USAGE_BUCKETS, { error: `must be one of ${USAGE_BUCKETS.join(', ')}` })
      .default('day')
      .openapi({ description: 'UTC calendar day, ISO week (from Monday) or calendar month' }),
    group_by: listOf('dimension', oneOf(USAGE_DIMENSIONS))
      .transform((v) => v as UsageDimension[])
      .optional()
      .openapi(listParam(`Comma-separated subset of ${USAGE_DIMENSIONS.join(', ')}; none: one total per bucket`, 'project,user')),
    project: listOf('project')
      .optional()
      .openapi(
        listParam(
          'Only these projects: names or ids as in the allocation system (comma-separated or repeated; a name holding a comma: by id)',
          'astro',
        ),
      ),
    user: listOf('user')
      .optional()
      .openapi(listParam('Only these users: username, e-mail, OIDC subject or id (comma-separated or repeated)', 'alice')),
    allocation: listOf('allocation', (v) => (isUuid(v) ? undefined : 'is not an allocation id (uuid)'))
      .optional()
      .openapi(listParam('Only these allocations: ids (comma-separated or repeated)', '0b9c7f64-4a9e-4f43-9d0a-2f5a0c9d2c11')),
    cluster: listOf('cluster').optional().openapi(listParam('Only these clusters, as the events’ `context.cluster` names them', 'metacentrum')),
    source: listOf('source', oneOf(SOURCES))
      .transform((v) => v as Source[])
      .optional()
      .openapi(listParam(`Only these sources: ${SOURCES.join(', ')}`, 'pbs')),
  })
  .superRefine((q, ctx) => {
    const span = Date.parse(q.to) - Date.parse(q.from);
    if (!(span > 0)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    else if (span > MAX_USAGE_SPAN_DAYS * DAY_MS) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `must be at most ${MAX_USAGE_SPAN_DAYS} days (three years) after from` });
    }
  });
export type UsageQuery = z.output<typeof UsageQuerySchema>;
export type UsageQueryInput = z.input<typeof UsageQuerySchema>;

/** The row columns each dimension adds, in this order. */
export const DIMENSION_COLUMNS = {
  project: ['project', 'project_id'],
  user: ['user', 'user_id'],
  allocation: ['allocation_id'],
  cluster: ['cluster'],
  source: ['source'],
} as const satisfies Record<UsageDimension, readonly string[]>;

/** The columns of a report's rows (JSON keys and CSV header alike), in order. */
export function usageColumns(groupBy: readonly UsageDimension[]): string[] {
  return ['bucket_start', ...groupBy.flatMap((d) => DIMENSION_COLUMNS[d]), 'unmapped', 'events', 'unmapped_events', ...METRIC_KEYS];
}

/**
 * How each metric aggregates over a row's events (and so over buckets: a week or month row is the same
 * aggregate over more events). Shown in /doc (the UsageRow schema) and docs/api.md.
 */
export const METRIC_AGGREGATION: Record<MetricKey, string> = {
  cpu_time_seconds: 'Sum of the events’ CPU time (seconds)',
  gpu_time_seconds: 'Sum of the events’ GPU time (seconds)',
  walltime_allocated: 'Sum of the events’ requested walltime (seconds)',
  walltime_used: 'Sum of the events’ walltime used (seconds)',
  cpu_core_seconds: 'Sum of the events’ core-seconds (Σ ncpus × walltime used)',
  ram_bytes_allocated:
    'Sum over the events of the RAM each had allocated (bytes): the allocation of all the row’s jobs or servers together, not a peak or an average over time',
  storage_bytes_allocated: 'Sum over the events of the storage each had allocated (bytes), like ram_bytes_allocated',
  vcpus_allocated: 'Sum over the events of the vCPUs each had allocated, like ram_bytes_allocated',
  used_cpu_percent:
    'Never summed: recomputed for the row as 100 × Σ cpu_time_seconds / Σ cpu_core_seconds (rounded to 6 decimals); null when Σ cpu_core_seconds is 0',
};

const totalOf = (k: MetricKey) =>
  k === 'used_cpu_percent'
    ? z.number().nullable().openapi({ description: METRIC_AGGREGATION[k] })
    : z.number().openapi({
        description: `${METRIC_AGGREGATION[k]}; 0 when none of them reported it. Exact (summed as numeric), each stored value counted as at most ${MAX_METRIC_VALUE}`,
      });
const metricTotals = Object.fromEntries(METRIC_KEYS.map((k) => [k, totalOf(k)])) as {
  [K in MetricKey]: K extends 'used_cpu_percent' ? z.ZodNullable<z.ZodNumber> : z.ZodNumber;
};
const nullableText = (description: string) => z.string().nullable().optional().openapi({ description });
const nullableId = (description: string) => z.uuid().nullable().optional().openapi({ description });

export const UsageRowSchema = z
  .object({
    bucket_start: z.string().openapi({ description: 'Start of the UTC bucket', example: '2026-01-01T00:00:00Z' }),
    project: nullableText('Project name (group_by project); null: not mapped to a project'),
    project_id: nullableId('Project id (group_by project); null: not mapped to a project'),
    user: nullableText('Username, else e-mail, else OIDC subject (group_by user); null: not mapped to a user'),
    user_id: nullableId('User id (group_by user); null: not mapped to a user'),
    allocation_id: nullableId('Allocation id (group_by allocation); null: not mapped to an allocation'),
    cluster: nullableText('context.cluster (group_by cluster); null: the events name none'),
    source: z.enum(SOURCES).optional().openapi({ description: 'Source (group_by source)' }),
    unmapped: z.boolean().openapi({
      description: 'True when a project, user or allocation the report is grouped by is null here: usage not (yet) mapped to one',
    }),
    events: z.number().int().openapi({ description: 'Usage events in the row' }),
    unmapped_events: z.number().int().openapi({
      description: 'Of them, events whose link is missing, partial or unresolved (not resolved and not manual)',
    }),
    ...metricTotals,
  })
  .openapi('UsageRow', {
    description: 'One bucket × group. Only the columns of the report’s group_by dimensions are present.',
  });
export type UsageRow = z.infer<typeof UsageRowSchema>;

export const UsageReportSchema = z
  .object({
    from: z.string().openapi({ example: '2026-01-01T00:00:00.000Z' }),
    to: z.string().openapi({ example: '2026-02-01T00:00:00.000Z' }),
    bucket: z.enum(USAGE_BUCKETS),
    group_by: z.array(z.enum(USAGE_DIMENSIONS)),
    rows: z.array(UsageRowSchema).openapi({
      description: `Ordered by bucket, then by the group_by columns (nulls last); at most ${MAX_USAGE_ROWS}`,
    }),
  })
  .openapi('UsageReport');
export type UsageReport = z.infer<typeof UsageReportSchema>;

export const UsageCsvSchema = z.string().openapi({
  description: 'The same rows as CSV (RFC 4180): a header line with the row columns, one line per row; empty for null',
  example: `bucket_start,project,project_id,unmapped,events,unmapped_events,${METRIC_KEYS.join(',')}\r\n`,
});

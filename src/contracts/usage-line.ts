import { z } from 'zod';
import { JobStreamSummarySchema } from './job-record.ts';
import type { UsageLine } from './pbs-usage.ts';

/**
 * The wire schema of `GET /v1/usage` (docs/architecture.md §3 "Aggregated on site"): one line per
 * (project, user, UTC day) group, as `PbsUsageFold` (pbs-usage.ts) makes it, then one summary line.
 */
export { RELAY_USAGE_PATH } from './relay-api.ts';

const sum = z.number().nonnegative();

export const UsageLineSchema = z.object({
  day: z.iso.date(),
  project: z.string().nullable(),
  user: z.string().nullable(),
  jobs: z.number().int().nonnegative(),
  metrics: z.object({
    cpu_time_seconds: sum,
    walltime_used: sum,
    walltime_allocated: sum,
    cpu_core_seconds: sum,
    gpu_time_seconds: sum,
    vcpus_allocated: sum,
    ram_bytes_allocated: sum,
    used_cpu_percent: sum.optional(),
  }),
});

/** A usage line as read off the wire (`used_cpu_percent` left out when absent, never set to undefined). */
export function parseUsageLine(value: unknown): { success: true; data: UsageLine } | { success: false; error: z.ZodError } {
  const parsed = UsageLineSchema.safeParse(value);
  if (!parsed.success) return { success: false, error: parsed.error };
  const { used_cpu_percent, ...sums } = parsed.data.metrics;
  return { success: true, data: { ...parsed.data, metrics: used_cpu_percent === undefined ? sums : { ...sums, used_cpu_percent } } };
}

/**
 * The last line of every /v1/usage stream: /v1/jobs's summary (`count` = usage lines) plus `jobs` (E
 * records: the lines' `jobs` sum to it) and `records` (E and R folded), for the conservation check.
 */
export const UsageStreamSummarySchema = z.object({
  summary: JobStreamSummarySchema.shape.summary.extend({
    jobs: z.number().int().nonnegative(),
    records: z.number().int().nonnegative(),
  }),
});
export type UsageStreamSummary = z.infer<typeof UsageStreamSummarySchema>['summary'];

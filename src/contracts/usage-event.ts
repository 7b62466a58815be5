import { z } from '@hono/zod-openapi';
import { DAY_MS } from '../lib/utc-day.ts';

/** Usage event schema 1.0: the ingest contract (docs/architecture.md §1). One zod schema per wire shape. */

export const SOURCES = ['pbs', 'openstack'] as const;
export type Source = (typeof SOURCES)[number];

export const IDENTITY_SCHEMES = ['oidc_sub', 'user_email', 'perun_username', 'perun_user', 'openstack_user_id'] as const;
export type IdentityScheme = (typeof IDENTITY_SCHEMES)[number];

export const METRIC_KEYS = [
  'cpu_time_seconds',
  'gpu_time_seconds',
  'ram_bytes_allocated',
  'storage_bytes_allocated',
  'vcpus_allocated',
  'used_cpu_percent',
  'walltime_allocated',
  'walltime_used',
  'cpu_core_seconds',
] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

/** The header collectors send their key in (`POST /collector/resource-usage`). */
export const COLLECTOR_KEY_HEADER = 'X-Zeus-Collector-Key';

/** Most events one request may carry. */
export const MAX_EVENTS_PER_REQUEST = 1000;

/**
 * Largest value any metric may have: below 2^63 (9.22e18), so a bigint column or an exact sum of many
 * events never overflows, and well inside what a report can add up.
 */
export const MAX_METRIC_VALUE = 9.2e18;
/** Longest window one event may cover. */
export const MAX_WINDOW_DAYS = 366;
/** Events' windows lie within these years (UTC). */
export const EVENT_MIN_MS = Date.UTC(1970, 0, 1);
export const EVENT_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** How far in the future `collected_at` may be (clock skew); a later stamp could never be replaced. */
export const MAX_COLLECTED_AHEAD_MS = DAY_MS;

const DateTimeSchema = z.iso
  .datetime({ offset: true, error: 'must be an RFC 3339 date-time with an offset, e.g. 2025-11-19T00:00:00Z' })
  .openapi({ example: '2025-11-19T00:00:00Z' });

const MetricSchema = z
  .number({ error: 'must be a number' })
  .finite({ error: 'must be a finite number' })
  .nonnegative({ error: 'must not be negative' })
  .max(MAX_METRIC_VALUE, { error: `must be at most ${MAX_METRIC_VALUE}` });

export const MetricsSchema = z
  .strictObject(Object.fromEntries(METRIC_KEYS.map((k) => [k, MetricSchema.optional()])) as Record<MetricKey, z.ZodOptional<typeof MetricSchema>>)
  .openapi('UsageMetrics', {
    description: `Non-negative finite numbers up to ${MAX_METRIC_VALUE}, all optional. Seconds for times, bytes for sizes; cpu_core_seconds = Σ ncpus × walltime used.`,
    example: { cpu_time_seconds: 3600, ram_bytes_allocated: 8589934592, vcpus_allocated: 4, walltime_used: 6800 },
  });
export type UsageMetrics = z.infer<typeof MetricsSchema>;

export const IdentitySchema = z
  .object({
    scheme: z.enum(IDENTITY_SCHEMES),
    value: z.string().min(1).max(512),
    authority: z.string().min(1).max(512).optional(),
  })
  .openapi('Identity', { example: { scheme: 'perun_user', value: 'user123', authority: 'perun.cesnet.cz' } });
export type Identity = z.infer<typeof IdentitySchema>;

export const ContextSchema = z
  .looseObject({
    cluster: z.string().min(1).max(256).optional(),
    project: z.string().min(1).max(256).optional(),
    jobname: z.string().min(1).max(512).optional(),
    job_count: z.number().int().nonnegative().optional(),
    openstack_project_id: z.string().min(1).max(256).optional(),
  })
  .openapi('UsageContext', {
    description: 'Where the usage happened. Known keys are checked; other keys are kept as sent.',
    example: { cluster: 'metacentrum', project: 'test-project-1', jobname: '12345.meta', job_count: 10 },
  });
export type UsageContext = z.infer<typeof ContextSchema>;

export const UsageEventSchema = z
  .object({
    schema_version: z.literal('1.0').default('1.0'),
    source: z.enum(SOURCES),
    time_window_start: DateTimeSchema,
    time_window_end: DateTimeSchema,
    collected_at: DateTimeSchema,
    metrics: MetricsSchema,
    identities: z.array(IdentitySchema).max(64).default([]),
    context: ContextSchema.default({}),
    extra: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((e, ctx) => {
    const start = Date.parse(e.time_window_start);
    const end = Date.parse(e.time_window_end);
    const collected = Date.parse(e.collected_at);
    const years = 'must fall within the years 1970–9999 (UTC, once its offset is applied)';
    for (const [field, ms] of [
      ['time_window_start', start],
      ['time_window_end', end],
      ['collected_at', collected],
    ] as const) {
      // (An unparseable date-time has its own issue already.)
      if (Number.isFinite(ms) && !(ms >= EVENT_MIN_MS && ms <= EVENT_MAX_MS)) ctx.addIssue({ code: 'custom', path: [field], message: years });
    }
    if (!Number.isFinite(start) || !Number.isFinite(end)) {
      // nothing more to say about the window
    } else if (end <= start) {
      ctx.addIssue({ code: 'custom', path: ['time_window_end'], message: 'must be after time_window_start' });
    } else if (end - start > MAX_WINDOW_DAYS * DAY_MS) {
      ctx.addIssue({ code: 'custom', path: ['time_window_end'], message: `must be at most ${MAX_WINDOW_DAYS} days after time_window_start` });
    }
    if (collected > Date.now() + MAX_COLLECTED_AHEAD_MS) {
      ctx.addIssue({ code: 'custom', path: ['collected_at'], message: 'must be at most 1 day in the future' });
    }
  })
  .openapi('UsageEvent', {
    description: [
      `Limits: every metric finite, 0 to ${MAX_METRIC_VALUE}; the window at most ${MAX_WINDOW_DAYS} days long, within`,
      'the years 1970–9999 (UTC); `collected_at` within the same years and at most 1 day in the future.',
      'Strings must not hold a NUL character or a lone surrogate.',
    ].join(' '),
  });
export type UsageEvent = z.infer<typeof UsageEventSchema>;
export type UsageEventInput = z.input<typeof UsageEventSchema>;

export const IngestRequestSchema = z
  .object({
    events: z
      .array(UsageEventSchema)
      .min(1, { error: 'must hold at least one event' })
      .max(MAX_EVENTS_PER_REQUEST, { error: `must hold at most ${MAX_EVENTS_PER_REQUEST} events` }),
  })
  .openapi('IngestRequest');
export type IngestRequest = z.infer<typeof IngestRequestSchema>;

export const INGEST_OUTCOMES = ['inserted', 'updated', 'unchanged'] as const;

export const IngestResponseSchema = z
  .object({
    inserted: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    events: z.array(
      z.object({
        index: z.number().int().openapi({ description: 'Position of the event in the request' }),
        id: z.uuid(),
        outcome: z.enum(INGEST_OUTCOMES),
      }),
    ),
  })
  .openapi('IngestResponse');
export type IngestResponse = z.infer<typeof IngestResponseSchema>;

import { z } from '@hono/zod-openapi';

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

const DateTimeSchema = z.iso
  .datetime({ offset: true, error: 'must be an RFC 3339 date-time with an offset, e.g. 2025-11-19T00:00:00Z' })
  .openapi({ example: '2025-11-19T00:00:00Z' });

const MetricSchema = z
  .number({ error: 'must be a number' })
  .finite({ error: 'must be a finite number' })
  .nonnegative({ error: 'must not be negative' });

export const MetricsSchema = z
  .strictObject(Object.fromEntries(METRIC_KEYS.map((k) => [k, MetricSchema.optional()])) as Record<MetricKey, z.ZodOptional<typeof MetricSchema>>)
  .openapi('UsageMetrics', {
    description: 'Non-negative numbers, all optional. Seconds for times, bytes for sizes; cpu_core_seconds = Σ ncpus × walltime used.',
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
    if (Date.parse(e.time_window_end) <= Date.parse(e.time_window_start)) {
      ctx.addIssue({ code: 'custom', path: ['time_window_end'], message: 'must be after time_window_start' });
    }
  })
  .openapi('UsageEvent');
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

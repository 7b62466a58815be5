import { z } from '@hono/zod-openapi';
import { formatPath } from './problem.ts';
import { OpenStackAllocationPayloadSchema } from './event-link.ts';

/**
 * The directory (docs/architecture.md §6): the allocation system's users, projects and allocations with their
 * grants, synchronised by `PUT /directory/{projects|users|allocations}`, and the balances of the allocations.
 * Every record is keyed by the allocation system's own id (a string); internal uuids never leave the service here.
 */

export const MAX_DIRECTORY_ID_CHARS = 128;
/** Most records one PUT may carry. */
export const MAX_DIRECTORY_RECORDS = 5000;
export const MAX_DIRECTORY_PAGE = 1000;

/** The metrics an allocation may grant, in the unit of the usage metric of the same name (docs/architecture.md §1). */
export const GRANT_METRICS = ['cpu_core_seconds', 'gpu_time_seconds', 'storage_bytes_allocated', 'walltime_allocated'] as const;
export type GrantMetric = (typeof GRANT_METRICS)[number];

export const DIRECTORY_KINDS = ['projects', 'users', 'allocations'] as const;
export type DirectoryKind = (typeof DIRECTORY_KINDS)[number];

export const ALLOCATION_KIND_VALUES = ['hpc', 'openstack'] as const;

const DirectoryId = z
  .string()
  .min(1)
  .max(MAX_DIRECTORY_ID_CHARS)
  .openapi({ description: `The allocation system's own id (1–${MAX_DIRECTORY_ID_CHARS} characters)`, example: 'p-1042' });
const RFC3339 = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time with an offset' });
/** Limits the schemas below and the plain batch's checks share. */
const MAX_NAME_CHARS = 256;
const MAX_EMAIL_CHARS = 320;
const MAX_OIDC_SUB_CHARS = 512;
const MAX_GRANT = 1e18;
const Grant = z.number().positive().max(MAX_GRANT);

export const GrantsSchema = z
  .strictObject({
    cpu_core_seconds: Grant.optional().openapi({ description: 'Σ ncpus × walltime used, seconds (core-hours × 3600)' }),
    gpu_time_seconds: Grant.optional().openapi({ description: 'Σ ngpus × walltime used, seconds' }),
    storage_bytes_allocated: Grant.optional().openapi({ description: 'Σ storage_bytes_allocated over the events, bytes' }),
    walltime_allocated: Grant.optional().openapi({ description: 'Σ walltime requested, seconds' }),
  })
  .openapi('Grants', { description: 'What was granted, per metric; a metric left out is not granted (and not reported)' });
export type Grants = z.infer<typeof GrantsSchema>;

export const DirectoryProjectSchema = z
  .strictObject({
    id: DirectoryId,
    name: z.string().min(1).max(MAX_NAME_CHARS).openapi({ description: 'The name PBS reports as the job’s project', example: 'astro' }),
    active: z.boolean().optional().openapi({ description: 'Default true' }),
  })
  .openapi('DirectoryProject');

const Optional = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

export const DirectoryUserSchema = z
  .strictObject({
    id: DirectoryId,
    username: Optional(z.string().min(1).max(MAX_NAME_CHARS)).openapi({
      description: 'Matches perun_username / perun_user identities',
      example: 'alice',
    }),
    email: Optional(z.email().max(MAX_EMAIL_CHARS)).openapi({
      description: 'Matches user_email identities (case-insensitive)',
      example: 'alice@example.org',
    }),
    oidc_sub: Optional(z.string().min(1).max(MAX_OIDC_SUB_CHARS)).openapi({ description: 'Matches oidc_sub identities' }),
    default_project_id: Optional(DirectoryId).openapi({ description: 'The id of the project `_pbs_project_default` means' }),
    active: z.boolean().optional().openapi({ description: 'Default true' }),
  })
  .openapi('DirectoryUser');

export const DirectoryAllocationSchema = z
  .strictObject({
    id: DirectoryId,
    project_id: DirectoryId.openapi({ description: 'The id of its project (PUT /directory/projects first)' }),
    kind: z.enum(ALLOCATION_KIND_VALUES),
    valid_from: RFC3339.openapi({ example: '2026-01-01T00:00:00Z' }),
    valid_to: Optional(RFC3339).openapi({ description: 'Exclusive; null or left out: open-ended', example: '2027-01-01T00:00:00Z' }),
    grants: GrantsSchema.optional(),
    payload: z.record(z.string(), z.unknown()).optional().openapi({
      description: 'Kept as sent; for `openstack`, `payload.openstack.project_id` and `.project_name` name the OpenStack project',
    }),
    active: z.boolean().optional().openapi({ description: 'Default true' }),
  })
  .superRefine((a, ctx) => {
    if (a.valid_to && Date.parse(a.valid_to) <= Date.parse(a.valid_from)) {
      ctx.addIssue({ code: 'custom', path: ['valid_to'], message: 'must be after valid_from' });
    }
    if (a.kind === 'openstack') {
      const parsed = OpenStackAllocationPayloadSchema.safeParse(a.payload ?? {});
      for (const issue of parsed.error?.issues ?? []) {
        ctx.addIssue({
          code: 'custom',
          path: ['payload', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
          message: issue.message,
        });
      }
    }
  })
  .openapi('DirectoryAllocation');

export type DirectoryProject = z.infer<typeof DirectoryProjectSchema>;
export type DirectoryUser = z.infer<typeof DirectoryUserSchema>;
export type DirectoryAllocation = z.infer<typeof DirectoryAllocationSchema>;

/*
 * The plain batch. zod validated a batch of 5000 records in some 12 ms (users) to 25 ms (allocations) in workerd, a
 * fifth of a re-sent request, and copied every record on the way. The checks below say in one pass whether a record
 * is plainly valid, with the same rules and the schemas' own patterns. When every record of a batch is, the batch is
 * taken as it is, which is what zod would answer; otherwise zod runs, so every error a client sees is zod's. Anything
 * unusual (an OpenStack allocation, a key named __proto__, a value of an unexpected type) goes to zod.
 */
const textOf = (v: unknown, min: number, max: number) => typeof v === 'string' && v.length >= min && v.length <= max;
const isId = (v: unknown) => textOf(v, 1, MAX_DIRECTORY_ID_CHARS);
const absentOr = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || ok(v);
const nullOr = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || v === null || ok(v);
const isFlag = (v: unknown) => v === undefined || typeof v === 'boolean';
/** An object JSON.parse made (no other prototype, no own `__proto__`) whose keys are all in `keys`. */
function plainWith(v: unknown, keys: ReadonlySet<string>): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype || Object.hasOwn(v, '__proto__')) return false;
  for (const k of Object.keys(v)) if (!keys.has(k)) return false;
  return true;
}
const ANY_KEY = { has: () => true } as unknown as ReadonlySet<string>;
/**
 * The pattern zod checks a string format with. Should a zod release keep it elsewhere, a pattern that never matches:
 * such values then go to zod (slower, never wrong), and the test that plain batches take the plain path fails.
 */
const patternOf = (schema: z.ZodType): RegExp => {
  const pattern = (schema as unknown as { _zod?: { def?: { pattern?: unknown } } })._zod?.def?.pattern;
  return pattern instanceof RegExp ? pattern : /(?!)/;
};
const EMAIL_PATTERN = patternOf(z.email());
const RFC3339_PATTERN = patternOf(RFC3339);
const isGrant = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_GRANT;

const PROJECT_KEYS = new Set(['id', 'name', 'active']);
const isPlainProject = (r: unknown) => plainWith(r, PROJECT_KEYS) && isId(r.id) && textOf(r.name, 1, MAX_NAME_CHARS) && isFlag(r.active);

const USER_KEYS = new Set(['id', 'username', 'email', 'oidc_sub', 'default_project_id', 'active']);
const isPlainUser = (r: unknown) =>
  plainWith(r, USER_KEYS) &&
  isId(r.id) &&
  nullOr(r.username, (v) => textOf(v, 1, MAX_NAME_CHARS)) &&
  nullOr(r.email, (v) => textOf(v, 0, MAX_EMAIL_CHARS) && EMAIL_PATTERN.test(v as string)) &&
  nullOr(r.oidc_sub, (v) => textOf(v, 1, MAX_OIDC_SUB_CHARS)) &&
  nullOr(r.default_project_id, isId) &&
  isFlag(r.active);

const ALLOCATION_KEYS = new Set(['id', 'project_id', 'kind', 'valid_from', 'valid_to', 'grants', 'payload', 'active']);
const GRANT_KEYS = new Set<string>(GRANT_METRICS);
const isInstant = (v: unknown) => typeof v === 'string' && RFC3339_PATTERN.test(v);
const isPlainAllocation = (r: unknown) =>
  plainWith(r, ALLOCATION_KEYS) &&
  isId(r.id) &&
  isId(r.project_id) &&
  r.kind === 'hpc' &&
  isInstant(r.valid_from) &&
  nullOr(r.valid_to, isInstant) &&
  !(r.valid_to && Date.parse(r.valid_to as string) <= Date.parse(r.valid_from as string)) &&
  absentOr(r.grants, (g) => plainWith(g, GRANT_KEYS) && Object.values(g).every(isGrant)) &&
  absentOr(r.payload, (p) => plainWith(p, ANY_KEY)) &&
  isFlag(r.active);

/**
 * `schema` (a batch of `key`), answering at once for a batch of 1–5000 records that each pass `plain`, with distinct
 * ids: success, the body itself. Any other body is the schema's to answer. Both parse methods the validator may call.
 */
function acceptingPlain<T extends z.ZodType>(schema: T, key: DirectoryKind, plain: (record: unknown) => boolean): T {
  const only = new Set([key]);
  const accepts = (body: unknown) => {
    if (!plainWith(body, only)) return false;
    const records = body[key];
    if (!Array.isArray(records) || records.length < 1 || records.length > MAX_DIRECTORY_RECORDS) return false;
    const ids = new Set<unknown>();
    for (const r of records) {
      if (!plain(r)) return false;
      ids.add((r as { id: string }).id);
    }
    return ids.size === records.length;
  };
  const safeParse = schema.safeParse.bind(schema);
  const safeParseAsync = schema.safeParseAsync.bind(schema);
  Object.assign(schema, {
    safeParse: (body: unknown, params?: never) => (accepts(body) ? { success: true, data: body } : safeParse(body, params)),
    safeParseAsync: async (body: unknown, params?: never) => (accepts(body) ? { success: true, data: body } : safeParseAsync(body, params)),
  });
  return schema;
}

/** A batch: 1–5000 records, each id once. */
function batchOf<K extends DirectoryKind, T extends z.ZodType<{ id: string }>>(key: K, record: T, name: string) {
  return z
    .strictObject({ [key]: z.array(record).min(1).max(MAX_DIRECTORY_RECORDS) } as { [P in K]: z.ZodArray<T> })
    .superRefine((body, ctx) => {
      const seen = new Map<string, number>();
      ((body as Record<string, { id: string }[]>)[key] ?? []).forEach((r, i) => {
        const first = seen.get(r.id);
        if (first === undefined) seen.set(r.id, i);
        else ctx.addIssue({ code: 'custom', path: [key, i, 'id'], message: `the same id as ${formatPath([key, first])}` });
      });
    })
    .openapi(name);
}

export const SyncProjectsRequestSchema = acceptingPlain(
  batchOf('projects', DirectoryProjectSchema, 'SyncProjectsRequest'),
  'projects',
  isPlainProject,
);
export const SyncUsersRequestSchema = acceptingPlain(batchOf('users', DirectoryUserSchema, 'SyncUsersRequest'), 'users', isPlainUser);
export const SyncAllocationsRequestSchema = acceptingPlain(
  batchOf('allocations', DirectoryAllocationSchema, 'SyncAllocationsRequest'),
  'allocations',
  isPlainAllocation,
);

function BoolParamOf(description: string) {
  return z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .openapi({ description });
}
const BoolParam = BoolParamOf('');

export const SyncQuerySchema = z
  .object({
    mode: z.enum(['merge', 'full']).default('merge').openapi({
      description: '`full`: the body is the complete list of this kind; every stored record it does not name becomes inactive (never deleted)',
    }),
    run: z
      .string()
      .min(1)
      .max(MAX_DIRECTORY_ID_CHARS)
      .optional()
      .openapi({ description: '`mode=full` over several requests: the same run name on each; the complete list is what they name together' }),
    final: BoolParamOf('the last request of the run: what the run did not name becomes inactive'),
  })
  .refine((q) => q.run === undefined || q.mode === 'full', { path: ['run'], message: 'only with mode=full' })
  .refine((q) => q.final === undefined || q.run !== undefined, { path: ['final'], message: 'only with run' });
export type SyncMode = z.infer<typeof SyncQuerySchema>['mode'];

export const SyncResultSchema = z
  .object({
    inserted: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    deactivated: z.number().int().openapi({ description: '`mode=full`: records not in the body that became inactive' }),
    remap_queued: z.number().int().openapi({ description: 'Stored events sent to link mapping again (by id) because of this change' }),
    remap_days: z.number().int().openapi({
      description: 'When more than 100,000 events are affected: the UTC days whose every event is sent to mapping again instead',
    }),
  })
  .openapi('SyncResult');
export type SyncResult = z.infer<typeof SyncResultSchema>;

const Timestamp = z.string().openapi({ example: '2026-01-01T00:00:00.000Z' });
const stored = { active: z.boolean(), updated_at: Timestamp };

export const StoredProjectSchema = z.object({ id: z.string(), name: z.string(), ...stored }).openapi('StoredProject');
export const StoredUserSchema = z
  .object({
    id: z.string(),
    username: z.string().nullable(),
    email: z.string().nullable(),
    oidc_sub: z.string().nullable(),
    default_project_id: z.string().nullable(),
    ...stored,
  })
  .openapi('StoredUser');
export const StoredAllocationSchema = z
  .object({
    id: z.string(),
    project_id: z.string(),
    kind: z.enum(ALLOCATION_KIND_VALUES),
    valid_from: Timestamp,
    valid_to: Timestamp.nullable(),
    grants: GrantsSchema,
    payload: z.record(z.string(), z.unknown()),
    ...stored,
  })
  .openapi('StoredAllocation');

export const DirectoryListQuerySchema = z.object({
  active: BoolParam.openapi({ description: 'Only active (true) or inactive (false) records' }),
  project: DirectoryId.optional().openapi({
    description: 'Allocations of this project; users whose default project it is; for projects, this one',
  }),
  limit: z.coerce.number().int().min(1).max(MAX_DIRECTORY_PAGE).default(100),
  cursor: z.string().max(400).optional().openapi({ description: 'next_cursor of the previous page' }),
});
export type DirectoryListQuery = z.infer<typeof DirectoryListQuerySchema>;

const page = <T extends z.ZodType>(key: string, item: T, name: string) =>
  z.object({ [key]: z.array(item), next_cursor: z.string().nullable().openapi({ description: 'null on the last page' }) }).openapi(name);
export const ProjectsPageSchema = page('projects', StoredProjectSchema, 'ProjectsPage');
export const UsersPageSchema = page('users', StoredUserSchema, 'UsersPage');
export const AllocationsPageSchema = page('allocations', StoredAllocationSchema, 'AllocationsPage');

export const MetricBalanceSchema = z
  .object({
    granted: z.number(),
    used: z.number().openapi({ description: 'Σ of the metric over the events linked to the allocation (resolved or manual) within its validity' }),
    remaining: z.number().openapi({ description: 'granted − used (negative when overdrawn)' }),
    used_share: z.number().openapi({ description: 'used / granted (1 = all of it)' }),
  })
  .openapi('MetricBalance');

export const AllocationBalanceSchema = z
  .object({
    allocation_id: z.string(),
    project_id: z.string(),
    kind: z.enum(ALLOCATION_KIND_VALUES),
    valid_from: Timestamp,
    valid_to: Timestamp.nullable(),
    active: z.boolean(),
    metrics: z.partialRecord(z.enum(GRANT_METRICS), MetricBalanceSchema).openapi({ description: 'One entry per granted metric' }),
  })
  .openapi('AllocationBalance');
export type AllocationBalance = z.infer<typeof AllocationBalanceSchema>;

export const AllocationIdParamSchema = z.object({
  id: DirectoryId.openapi({ param: { name: 'id', in: 'path' }, example: 'a-2026-astro' }),
});

export const BalancesQuerySchema = z.object({
  project: DirectoryId.optional().openapi({ description: 'Only this project’s allocations' }),
  active: BoolParam.openapi({ description: 'Only active (true) or inactive (false) allocations' }),
  limit: z.coerce.number().int().min(1).max(MAX_DIRECTORY_PAGE).default(100),
  cursor: z.string().max(400).optional().openapi({ description: 'next_cursor of the previous page' }),
});
export type BalancesQuery = z.infer<typeof BalancesQuerySchema>;

export const BalancesPageSchema = z
  .object({
    allocations: z.array(AllocationBalanceSchema),
    unmapped_events: z.number().int().openapi({
      description: 'Events (of the project, when filtered by one) linked to no allocation: never charged to any',
    }),
    next_cursor: z.string().nullable(),
  })
  .openapi('AllocationBalances');
export type BalancesPage = z.infer<typeof BalancesPageSchema>;

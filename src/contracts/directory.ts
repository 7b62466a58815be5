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
const Grant = z.number().positive().max(1e18);

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
    name: z.string().min(1).max(256).openapi({ description: 'The name PBS reports as the job’s project', example: 'astro' }),
    active: z.boolean().optional().openapi({ description: 'Default true' }),
  })
  .openapi('DirectoryProject');

const Optional = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

export const DirectoryUserSchema = z
  .strictObject({
    id: DirectoryId,
    username: Optional(z.string().min(1).max(256)).openapi({ description: 'Matches perun_username / perun_user identities', example: 'alice' }),
    email: Optional(z.email().max(320)).openapi({ description: 'Matches user_email identities (case-insensitive)', example: 'alice@example.org' }),
    oidc_sub: Optional(z.string().min(1).max(512)).openapi({ description: 'Matches oidc_sub identities' }),
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

export const SyncProjectsRequestSchema = batchOf('projects', DirectoryProjectSchema, 'SyncProjectsRequest');
export const SyncUsersRequestSchema = batchOf('users', DirectoryUserSchema, 'SyncUsersRequest');
export const SyncAllocationsRequestSchema = batchOf('allocations', DirectoryAllocationSchema, 'SyncAllocationsRequest');

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

import { sql } from 'drizzle-orm';
import { boolean, check, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { Grants } from '../../contracts/directory.ts';
import { directoryIdCheck } from './directory-columns.ts';
import { projects } from './projects.ts';

/** `hpc`: batch-cluster (PBS) time; `openstack`: a GitOps record granting an OpenStack project. */
export const ALLOCATION_KINDS = ['hpc', 'openstack'] as const;
export type AllocationKind = (typeof ALLOCATION_KINDS)[number];

/**
 * What a project was granted, and when (the allocation system's own record; mapping only reads it).
 * For `openstack` the payload is the GitOps record; `payload.openstack.project_id` and
 * `.project_name` name the OpenStack project (OpenStackAllocationPayloadSchema).
 */
export const allocations = pgTable(
  'allocations',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<AllocationKind>().notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    validFrom: timestamp('valid_from', { withTimezone: true, mode: 'string' }).notNull(),
    /** Exclusive; null: open-ended. */
    validTo: timestamp('valid_to', { withTimezone: true, mode: 'string' }),
    /** What was granted, per metric (GRANT_METRICS), in the metric's unit. */
    grants: jsonb('grants').$type<Grants>().notNull().default({}),
    /** The allocation system's id (PUT /directory/allocations); null for rows made before the directory sync. */
    directoryId: text('directory_id'),
    active: boolean('active').notNull().default(true),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    check('allocations_kind', sql.raw(`kind IN (${ALLOCATION_KINDS.map((k) => `'${k}'`).join(', ')})`)),
    check('allocations_validity', sql`${t.validTo} IS NULL OR ${t.validTo} > ${t.validFrom}`),
    // The project's latest allocation of a kind valid at a time: one index probe, no sort.
    index('allocations_project_latest').on(t.projectId, t.kind, t.validFrom.desc(), t.createdAt.desc(), t.id.desc()),
    index('allocations_openstack_project_id').on(sql`(${t.payload} -> 'openstack' ->> 'project_id')`).where(sql`kind = 'openstack'`),
    uniqueIndex('allocations_directory_id').on(t.directoryId),
    directoryIdCheck('allocations', t.directoryId),
    index('allocations_openstack_project_name').on(sql`(${t.payload} -> 'openstack' ->> 'project_name')`).where(sql`kind = 'openstack'`),
  ],
);
export type Allocation = typeof allocations.$inferSelect;
export type NewAllocation = typeof allocations.$inferInsert;

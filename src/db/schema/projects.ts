import { sql } from 'drizzle-orm';
import { boolean, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { directoryIdCheck } from './directory-columns.ts';

/**
 * A project of the allocation system (its own record, synchronised by PUT /directory/projects; mapping only
 * reads it). PBS project names match `name`. `directory_id` is the allocation system's id (null for rows
 * made before the directory sync, e.g. by hand); `active: false` once the allocation system no longer lists it.
 */
export const projects = pgTable(
  'projects',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    name: text('name').notNull(),
    directoryId: text('directory_id'),
    active: boolean('active').notNull().default(true),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('projects_name').on(t.name),
    uniqueIndex('projects_directory_id').on(t.directoryId),
    directoryIdCheck('projects', t.directoryId),
  ],
);
export type Project = typeof projects.$inferSelect;
export type NewProject = typeof projects.$inferInsert;

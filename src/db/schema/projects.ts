import { sql } from 'drizzle-orm';
import { pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** A project of the allocation system (its own record; mapping only reads it). PBS project names match `name`. */
export const projects = pgTable(
  'projects',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    name: text('name').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('projects_name').on(t.name)],
);
export type Project = typeof projects.$inferSelect;
export type NewProject = typeof projects.$inferInsert;

import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { directoryIdCheck } from './directory-columns.ts';
import { projects } from './projects.ts';

/**
 * A user of the allocation system (its own record; mapping only reads it). Identities of usage
 * events find users here: `oidc_sub` → external_id, `user_email` → email (case-insensitive),
 * `perun_username` / `perun_user` → username. Each of the three is unique when set.
 */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    /** OIDC subject. */
    externalId: text('external_id'),
    email: text('email'),
    username: text('username'),
    /** The allocation system's id (PUT /directory/users); null for rows made before the directory sync. */
    directoryId: text('directory_id'),
    active: boolean('active').notNull().default(true),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    /** What `_pbs_project_default` means for this user's jobs. */
    defaultProjectId: uuid('default_project_id').references(() => projects.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_external_id').on(t.externalId),
    uniqueIndex('users_email_lower').on(sql`lower(${t.email})`),
    uniqueIndex('users_username').on(t.username),
    index('users_default_project').on(t.defaultProjectId),
    uniqueIndex('users_directory_id').on(t.directoryId),
    directoryIdCheck('users', t.directoryId),
  ],
);
export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;

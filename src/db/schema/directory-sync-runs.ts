import { pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * A full sync sent in several requests (`?mode=full&run=R`, more records than one request takes): the ids each
 * request named, per run and kind, until the request with `final=true` marks every record of that kind the run
 * did not name inactive and forgets the run. Not the directory itself: the directory tables are written only
 * where a record changed.
 */
export const directorySyncRuns = pgTable(
  'directory_sync_runs',
  {
    run: text('run').notNull(),
    kind: text('kind').notNull(),
    directoryId: text('directory_id').notNull(),
    seenAt: timestamp('seen_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'directory_sync_runs_pkey', columns: [t.run, t.kind, t.directoryId] })],
);

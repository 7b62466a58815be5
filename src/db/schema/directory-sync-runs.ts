import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * A full sync sent in several requests (`?mode=full&run=R`, more records than one request takes): the ids each
 * request named, one row per request (its ids as one array: writing 5000 rows of a three-column key per request
 * cost the request tens of milliseconds), per run and kind, until the request with `final=true` marks every record
 * of that kind the run did not name inactive and forgets the run. Not the directory itself: the directory tables
 * are written only where a record changed. A request sent again adds its ids again, which names nothing new.
 */
export const directorySyncRuns = pgTable(
  'directory_sync_runs',
  {
    run: text('run').notNull(),
    kind: text('kind').notNull(),
    directoryIds: text('directory_ids').array().notNull(),
    seenAt: timestamp('seen_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [index('directory_sync_runs_run').on(t.run, t.kind)],
);

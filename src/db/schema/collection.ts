import { sql } from 'drizzle-orm';
import { check, date, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import {
  COLLECTION_DAY_STATUSES,
  type CollectionDayStatus,
  RUN_STATUSES,
  RUN_TRIGGERS,
  type RunStatus,
  type RunTrigger,
} from '../../contracts/collection.ts';

const inList = (column: string, values: readonly string[]) => sql.raw(`${column} IN (${values.map((v) => `'${v}'`).join(', ')})`);

// Property names are the column names: these rows are returned as they are by the operator routes,
// whose wire format is snake_case like the rest of the API.

/** Per cluster: every UTC day up to and including `through_day` has been collected. */
export const collectionWatermarks = pgTable('collection_watermarks', {
  cluster: text('cluster').primaryKey(),
  through_day: date('through_day', { mode: 'string' }).notNull(),
  updated_at: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
});
export type CollectionWatermark = typeof collectionWatermarks.$inferSelect;

/** Per (cluster, UTC day): where its collection stands. The watermark advances over contiguous succeeded days. */
export const collectionDays = pgTable(
  'collection_days',
  {
    cluster: text('cluster').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    status: text('status').$type<CollectionDayStatus>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    last_run_id: uuid('last_run_id'),
    updated_at: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.cluster, t.day] }), check('collection_days_status', inList('status', COLLECTION_DAY_STATUSES))],
);
export type CollectionDay = typeof collectionDays.$inferSelect;

/** One row per attempt to collect a (cluster, day): what happened, in numbers. */
export const collectionRuns = pgTable(
  'collection_runs',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    cluster: text('cluster').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    trigger: text('trigger').$type<RunTrigger>().notNull(),
    attempt: integer('attempt').notNull(),
    status: text('status').$type<RunStatus>().notNull(),
    started_at: timestamp('started_at', { withTimezone: true, mode: 'string' }).notNull(),
    finished_at: timestamp('finished_at', { withTimezone: true, mode: 'string' }).notNull(),
    duration_ms: integer('duration_ms').notNull(),
    jobs: integer('jobs').notNull().default(0),
    events: integer('events').notNull().default(0),
    inserted: integer('inserted').notNull().default(0),
    updated: integer('updated').notNull().default(0),
    unchanged: integer('unchanged').notNull().default(0),
    malformed: integer('malformed').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    /** The relay's summary details (inputs read, malformed examples). */
    details: jsonb('details').$type<Record<string, unknown>>(),
    error: text('error'),
  },
  (t) => [
    index('collection_runs_recent').on(t.started_at.desc()),
    index('collection_runs_cluster_day').on(t.cluster, t.day),
    check('collection_runs_trigger', inList('trigger', RUN_TRIGGERS)),
    check('collection_runs_status', inList('status', RUN_STATUSES)),
  ],
);
export type CollectionRun = typeof collectionRuns.$inferSelect;
export type NewCollectionRun = typeof collectionRuns.$inferInsert;

import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { type Identity, type Source, SOURCES, type UsageContext, type UsageMetrics } from '../../contracts/usage-event.ts';

/**
 * One row per usage event, as sent: the payload (metrics, identities, context, extra) is never
 * rewritten by mapping. A TimescaleDB hypertable on time_window_start (30-day chunks) where the
 * extension is available (migration 0001), a plain table otherwise.
 * Unique keys include time_window_start because a hypertable requires the partitioning column in them.
 */
export const resourceUsageEvents = pgTable(
  'resource_usage_events',
  {
    id: uuid('id').notNull().default(sql`gen_random_uuid()`),
    schemaVersion: text('schema_version').notNull(),
    source: text('source').$type<Source>().notNull(),
    timeWindowStart: timestamp('time_window_start', { withTimezone: true, mode: 'string' }).notNull(),
    timeWindowEnd: timestamp('time_window_end', { withTimezone: true, mode: 'string' }).notNull(),
    collectedAt: timestamp('collected_at', { withTimezone: true, mode: 'string' }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    metrics: jsonb('metrics').$type<UsageMetrics>().notNull(),
    identities: jsonb('identities').$type<Identity[]>().notNull(),
    context: jsonb('context').$type<UsageContext>().notNull(),
    extra: jsonb('extra').$type<Record<string, unknown>>(),
    /** SHA-256 (hex) of the natural key: source, window, cluster, project, jobname, identity set. */
    naturalKey: text('natural_key').notNull(),
  },
  (t) => [
    check('resource_usage_events_source', sql.raw(`source IN (${SOURCES.map((s) => `'${s}'`).join(', ')})`)),
    check('resource_usage_events_window', sql`${t.timeWindowEnd} > ${t.timeWindowStart}`),
    primaryKey({ name: 'resource_usage_events_pkey', columns: [t.id, t.timeWindowStart] }),
    uniqueIndex('resource_usage_events_natural_key').on(t.naturalKey, t.timeWindowStart),
    index('resource_usage_events_time').on(t.timeWindowStart.desc()),
    index('resource_usage_events_source_time').on(t.source, t.timeWindowStart.desc()),
    index('resource_usage_events_cluster_project_time').on(
      sql`(${t.context} ->> 'cluster')`,
      sql`(${t.context} ->> 'project')`,
      t.timeWindowStart.desc(),
    ),
  ],
);
export type ResourceUsageEventRow = typeof resourceUsageEvents.$inferSelect;
export type NewResourceUsageEvent = typeof resourceUsageEvents.$inferInsert;

import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { LINK_STATUSES, type LinkReason, type LinkStatus } from '../../contracts/event-link.ts';

/**
 * One row per usage event: the user, project and allocation it belongs to, as resolved by link
 * mapping (src/mapping/) or set by an operator (`manual`, never overwritten by mapping).
 *
 * No foreign keys, on purpose:
 * - to resource_usage_events: it may be a TimescaleDB hypertable, which TimescaleDB before 2.16
 *   cannot make the target of a foreign key, and its retention (drop_chunks) must stay free to drop
 *   old chunks. event_time (the event's time_window_start) completes the event's key (id, time_window_start).
 * - to users, projects, allocations: the check is a row trigger per reference, three per link; on
 *   100,000 links it cost more than writing the rows themselves (npm run bench -- mapping).
 * Mapping only writes ids it has just read in the same statement, so every link is born pointing
 * at rows that exist; the table is derived data that a re-run recomputes (manual links excepted).
 */
export const resourceUsageEventLinks = pgTable(
  'resource_usage_event_links',
  {
    eventId: uuid('event_id').primaryKey(),
    eventTime: timestamp('event_time', { withTimezone: true, mode: 'string' }).notNull(),
    userId: uuid('user_id'),
    projectId: uuid('project_id'),
    allocationId: uuid('allocation_id'),
    status: text('status').$type<LinkStatus>().notNull(),
    reasons: jsonb('reasons').$type<LinkReason[]>().notNull().default([]),
    ruleVersion: integer('rule_version').notNull(),
    mappedAt: timestamp('mapped_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    note: text('note'),
  },
  (t) => [
    check('resource_usage_event_links_status', sql.raw(`status IN (${LINK_STATUSES.map((s) => `'${s}'`).join(', ')})`)),
    index('resource_usage_event_links_status_time').on(t.status, t.eventTime.desc(), t.eventId.desc()),
    index('resource_usage_event_links_project_time').on(t.projectId, t.eventTime.desc()),
    index('resource_usage_event_links_user').on(t.userId),
    // Balances: the links of one allocation in a time range (the boundary days of its validity).
    index('resource_usage_event_links_allocation_time').on(t.allocationId, t.eventTime),
  ],
);
export type EventLinkRow = typeof resourceUsageEventLinks.$inferSelect;
export type NewEventLink = typeof resourceUsageEventLinks.$inferInsert;

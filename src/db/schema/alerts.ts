import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { ALERT_RULES, ALERT_SEVERITIES, ALERT_STATES, type AlertRule, type AlertSeverity, type AlertState } from '../../contracts/alert.ts';

const inList = (column: string, values: readonly string[]) => sql.raw(`${column} IN (${values.map((v) => `'${v}'`).join(', ')})`);

/**
 * One row per alert (rule + labels, named by its fingerprint): firing or resolved, and when it was last
 * notified. A resolved alert that fires again starts a new episode in the same row (first_seen moves).
 * Written by the scheduled evaluation (src/alerts/evaluate.ts) and the silence route only.
 */
export const alerts = pgTable(
  'alerts',
  {
    fingerprint: text('fingerprint').primaryKey(),
    rule: text('rule').$type<AlertRule>().notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    severity: text('severity').$type<AlertSeverity>().notNull(),
    state: text('state').$type<AlertState>().notNull(),
    summary: text('summary').notNull(),
    first_seen: timestamp('first_seen', { withTimezone: true, mode: 'string' }).notNull(),
    last_seen: timestamp('last_seen', { withTimezone: true, mode: 'string' }).notNull(),
    resolved_at: timestamp('resolved_at', { withTimezone: true, mode: 'string' }),
    last_notified: timestamp('last_notified', { withTimezone: true, mode: 'string' }),
    silenced_until: timestamp('silenced_until', { withTimezone: true, mode: 'string' }),
    silence_note: text('silence_note'),
  },
  (t) => [
    index('alerts_state_seen').on(t.state, t.last_seen.desc()),
    check('alerts_rule', inList('rule', ALERT_RULES)),
    check('alerts_severity', inList('severity', ALERT_SEVERITIES)),
    check('alerts_state', inList('state', ALERT_STATES)),
  ],
);
export type AlertRow = typeof alerts.$inferSelect;

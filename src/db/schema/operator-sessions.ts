import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Operator sessions ended by sign-out before their expiry: the session token's nonce, refused from then
 * on. A row is only needed until the session would have expired anyway (`expires_at`); sign-out deletes
 * the rows past it.
 */
export const operatorSessionRevocations = pgTable(
  'operator_session_revocations',
  {
    nonce: text('nonce').primaryKey(),
    expires_at: timestamp('expires_at', { withTimezone: true, mode: 'string' }).notNull(),
    revoked_at: timestamp('revoked_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [index('operator_session_revocations_expires_idx').on(t.expires_at)],
);

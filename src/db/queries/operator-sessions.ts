import { sql } from 'drizzle-orm';
import type { Database } from '../client.ts';
import { operatorSessionRevocations } from '../schema/operator-sessions.ts';

/** Whether the session with this nonce was ended by sign-out. */
export async function isSessionRevoked(db: Database, nonce: string): Promise<boolean> {
  const { rows } = await db.execute(sql`SELECT 1 FROM ${operatorSessionRevocations} WHERE nonce = ${nonce}`);
  return rows.length > 0;
}

/** End a session (idempotent), and forget the revocations of sessions that have expired anyway. */
export async function revokeSession(db: Database, nonce: string, expiresAt: string): Promise<void> {
  await db.batch([
    db.execute(sql`INSERT INTO ${operatorSessionRevocations} (nonce, expires_at) VALUES (${nonce}, ${expiresAt}::timestamptz)
      ON CONFLICT (nonce) DO NOTHING`),
    db.execute(sql`DELETE FROM ${operatorSessionRevocations} WHERE expires_at < now()`),
  ]);
}

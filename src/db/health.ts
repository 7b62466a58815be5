import { sql } from 'drizzle-orm';
import type { Database } from './client.ts';

/** Round trip `select 1` through the driver; resolves to the latency in ms, throws when unreachable. */
export async function checkDatabase(db: Database): Promise<number> {
  const started = Date.now();
  await db.execute(sql`select 1`);
  return Date.now() - started;
}

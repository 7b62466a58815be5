import { sql, type SQL } from 'drizzle-orm';
import type { UsageBucket } from '../contracts/usage-report.ts';
import type { Database } from '../db/client.ts';

/** How buckets are computed: TimescaleDB's `time_bucket` where the extension is installed, `date_trunc` elsewhere. */
export type Bucketing = 'time_bucket' | 'date_trunc';

const known = new WeakMap<Database, Promise<Bucketing>>();

/** Asks the database once (per database client, so once per isolate) whether TimescaleDB is installed. */
export function detectBucketing(db: Database): Promise<Bucketing> {
  let found = known.get(db);
  if (!found) {
    found = db
      .execute<{ present: boolean }>(sql`SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS present`)
      .then(({ rows }) => (rows[0]?.present ? 'time_bucket' : 'date_trunc') as Bucketing);
    // A failed probe is not remembered: the next report asks again.
    found.catch(() => known.delete(db));
    known.set(db, found);
  }
  return found;
}

const WIDTH: Record<UsageBucket, string> = { day: '1 day', week: '1 week', month: '1 month' };

/**
 * The UTC bucket start of a timestamptz column. Both forms give the same instants whatever the
 * session's TimeZone: time_bucket computes timestamptz buckets in UTC (weeks from Monday, its
 * default origin 2000-01-03; months from the 1st), date_trunc is told UTC (ISO weeks start on Monday).
 */
export function bucketStart(bucketing: Bucketing, bucket: UsageBucket, column: SQL): SQL {
  return bucketing === 'time_bucket'
    ? sql`time_bucket(${sql.raw(`'${WIDTH[bucket]}'`)}::interval, ${column})`
    : sql`date_trunc(${sql.raw(`'${bucket}'`)}, ${column}, 'UTC')`;
}

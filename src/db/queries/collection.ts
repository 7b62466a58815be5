import { desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../client.ts';
import { type CollectionRun, collectionDays, collectionRuns, collectionWatermarks, type NewCollectionRun } from '../schema/collection.ts';

/** A day stays `queued` this long before a cron run may plan it again (its message was lost or is still retrying). */
const REQUEUE_AFTER = '6 hours';

/**
 * Days of [from, through] this cluster still needs, oldest first, at most `limit`: never collected,
 * failed, or queued long ago. Also makes sure the cluster has a watermark (just before `from`).
 */
export async function plannableDays(db: Database, cluster: string, from: string, through: string, limit: number): Promise<string[]> {
  if (from > through) return [];
  const [, result] = await db.batch([
    db.execute(sql`INSERT INTO ${collectionWatermarks} (cluster, through_day) VALUES (${cluster}, ${from}::date - 1)
      ON CONFLICT (cluster) DO NOTHING`),
    db.execute<{ day: string }>(sql`
      SELECT d::date::text AS day
      FROM ${collectionWatermarks} w,
        generate_series(greatest(${from}::date, w.through_day + 1), ${through}::date, interval '1 day') AS d
      LEFT JOIN ${collectionDays} cd ON cd.cluster = ${cluster} AND cd.day = d::date
      WHERE w.cluster = ${cluster}
        AND (cd.day IS NULL OR cd.status = 'failed' OR (cd.status = 'queued' AND cd.updated_at < now() - ${REQUEUE_AFTER}::interval))
      ORDER BY d LIMIT ${limit}`),
  ]);
  return result.rows.map((r) => r.day);
}

/** Mark days as queued (a backfill re-queues even succeeded days: re-collecting is idempotent). */
export async function markQueued(db: Database, cluster: string, days: string[]): Promise<void> {
  if (days.length === 0) return;
  await db.execute(sql`
    INSERT INTO ${collectionDays} (cluster, day, status)
    SELECT ${cluster}, d::date, 'queued' FROM jsonb_array_elements_text(${JSON.stringify(days)}::jsonb) AS d
    ON CONFLICT (cluster, day) DO UPDATE SET status = 'queued', updated_at = now()`);
}

/**
 * Record one run, and the day's status with it, in one transaction. A success also advances the
 * cluster's watermark over every contiguous succeeded day; a failure leaves it where it was.
 */
export async function recordRun(db: Database, run: NewCollectionRun): Promise<string> {
  const [inserted] = await db.batch([
    db.execute<{ id: string }>(sql`
      WITH run AS (
        INSERT INTO ${collectionRuns} (cluster, day, trigger, attempt, status, started_at, finished_at, duration_ms,
          jobs, events, inserted, updated, unchanged, malformed, skipped, details, error)
        VALUES (${run.cluster}, ${run.day}, ${run.trigger}, ${run.attempt}, ${run.status}, ${run.started_at}, ${run.finished_at},
          ${run.duration_ms}, ${run.jobs ?? 0}, ${run.events ?? 0}, ${run.inserted ?? 0}, ${run.updated ?? 0},
          ${run.unchanged ?? 0}, ${run.malformed ?? 0}, ${run.skipped ?? 0},
          ${run.details ? JSON.stringify(run.details) : null}::jsonb, ${run.error ?? null})
        RETURNING id, cluster, day, status
      ), day AS (
        INSERT INTO ${collectionDays} AS cd (cluster, day, status, attempts, last_run_id)
        SELECT cluster, day, status, 1, id FROM run
        ON CONFLICT (cluster, day) DO UPDATE SET
          -- A failed re-collection of a collected day leaves its data, so the day stays collected.
          status = CASE WHEN cd.status = 'succeeded' AND EXCLUDED.status = 'failed' THEN cd.status ELSE EXCLUDED.status END,
          attempts = cd.attempts + 1, last_run_id = EXCLUDED.last_run_id, updated_at = now()
      )
      SELECT id::text FROM run`),
    db.execute(sql`
      WITH RECURSIVE chain AS (
        SELECT w.through_day AS d FROM ${collectionWatermarks} w WHERE w.cluster = ${run.cluster}
        UNION ALL
        SELECT (c.d + 1)::date FROM chain c
        JOIN ${collectionDays} cd ON cd.cluster = ${run.cluster} AND cd.day = c.d + 1 AND cd.status = 'succeeded'
      )
      UPDATE ${collectionWatermarks} SET through_day = (SELECT max(d) FROM chain), updated_at = now()
      WHERE cluster = ${run.cluster} AND through_day < (SELECT max(d) FROM chain)`),
  ]);
  return inserted.rows[0]!.id;
}

export function recentRuns(db: Database, opts: { limit: number; cluster?: string }): Promise<CollectionRun[]> {
  return db
    .select()
    .from(collectionRuns)
    .where(opts.cluster ? eq(collectionRuns.cluster, opts.cluster) : undefined)
    .orderBy(desc(collectionRuns.started_at), collectionRuns.id)
    .limit(opts.limit);
}

export async function clusterStatus(
  db: Database,
  clusters: string[],
): Promise<{ cluster: string; through_day: string | null; queued: number; failed: number }[]> {
  const result = await db.execute<{ cluster: string; through_day: string | null; queued: number; failed: number }>(sql`
    SELECT c AS cluster, w.through_day::text AS through_day,
      (SELECT count(*)::int FROM ${collectionDays} d WHERE d.cluster = c AND d.status = 'queued') AS queued,
      (SELECT count(*)::int FROM ${collectionDays} d WHERE d.cluster = c AND d.status = 'failed') AS failed
    FROM jsonb_array_elements_text(${JSON.stringify(clusters)}::jsonb) AS c
    LEFT JOIN ${collectionWatermarks} w ON w.cluster = c
    ORDER BY c`);
  return result.rows;
}

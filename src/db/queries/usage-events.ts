import { sql } from 'drizzle-orm';
import type { IngestResponse, UsageEvent } from '../../contracts/usage-event.ts';
import type { Database } from '../client.ts';
import { resourceUsageEvents } from '../schema/usage-events.ts';

export interface KeyedEvent {
  /** Position in the request. */
  index: number;
  /** Canonical natural-key text (src/ingest/natural-key.ts); stored as its SHA-256. */
  keyText: string;
  event: UsageEvent;
}

/** SQL for the stored natural key of a canonical key text. */
const hashKey = (column: ReturnType<typeof sql.raw>) => sql`encode(sha256(convert_to(${column}, 'UTF8')), 'hex')`;

export type Outcome = IngestResponse['events'][number];

/**
 * Upsert a batch in ONE statement (so one transaction): a new natural key inserts a row; a newer
 * `collected_at` replaces the payload; an older or equal one, or the same payload again, changes nothing. Keys must be unique
 * within the batch. Returns one outcome per input; `id` is null only when a concurrent request
 * inserted the same key after this statement's snapshot (see `findIds`).
 */
export async function upsertEvents(db: Database, batch: KeyedEvent[]): Promise<(Omit<Outcome, 'id'> & { id: string | null })[]> {
  const input = batch.map(({ index, keyText, event: e }) => ({
    idx: index,
    key_text: keyText,
    schema_version: e.schema_version,
    source: e.source,
    time_window_start: e.time_window_start,
    time_window_end: e.time_window_end,
    collected_at: e.collected_at,
    metrics: e.metrics,
    identities: e.identities,
    context: e.context,
    extra: e.extra ?? null,
  }));
  const result = await db.execute<{ idx: number; id: string | null; outcome: Outcome['outcome'] }>(sql`
    WITH input AS (
      SELECT x.*, ${hashKey(sql.raw('x.key_text'))} AS natural_key
      FROM jsonb_to_recordset(${JSON.stringify(input)}::jsonb) AS x(
        idx int, key_text text, schema_version text, source text,
        time_window_start timestamptz, time_window_end timestamptz, collected_at timestamptz,
        metrics jsonb, identities jsonb, context jsonb, extra jsonb)
    ), upserted AS (
      INSERT INTO ${resourceUsageEvents} AS r (natural_key, schema_version, source, time_window_start,
        time_window_end, collected_at, metrics, identities, context, extra)
      SELECT natural_key, schema_version, source, time_window_start, time_window_end, collected_at,
        metrics, identities, context, extra
      FROM input
      ON CONFLICT (natural_key, time_window_start) DO UPDATE SET
        schema_version = EXCLUDED.schema_version, collected_at = EXCLUDED.collected_at,
        metrics = EXCLUDED.metrics, identities = EXCLUDED.identities, context = EXCLUDED.context,
        extra = EXCLUDED.extra, received_at = now()
      -- Newer wins; a newer copy of the same payload (a re-collected day whose data did not change) changes nothing.
      WHERE r.collected_at < EXCLUDED.collected_at
        AND (r.metrics, r.identities, r.context, r.extra, r.schema_version)
          IS DISTINCT FROM (EXCLUDED.metrics, EXCLUDED.identities, EXCLUDED.context, EXCLUDED.extra, EXCLUDED.schema_version)
      RETURNING r.id, r.natural_key, (r.xmax = 0) AS inserted
    )
    SELECT i.idx,
      coalesce(u.id, e.id)::text AS id,
      CASE WHEN u.id IS NULL THEN 'unchanged' WHEN u.inserted THEN 'inserted' ELSE 'updated' END AS outcome
    FROM input i
    LEFT JOIN upserted u ON u.natural_key = i.natural_key
    LEFT JOIN ${resourceUsageEvents} e
      ON u.id IS NULL AND e.natural_key = i.natural_key AND e.time_window_start = i.time_window_start
    ORDER BY i.idx`);
  return result.rows.map((r) => ({ index: Number(r.idx), id: r.id, outcome: r.outcome }));
}

/** Ids of stored events by key text (for keys a concurrent request inserted first). */
export async function findIds(db: Database, keys: { keyText: string; start: string }[]): Promise<Map<string, string>> {
  const result = await db.execute<{ key_text: string; id: string }>(sql`
    SELECT x.k AS key_text, e.id::text AS id
    FROM jsonb_to_recordset(${JSON.stringify(keys.map((k) => ({ k: k.keyText, s: k.start })))}::jsonb) AS x(k text, s timestamptz)
    JOIN ${resourceUsageEvents} e ON e.natural_key = ${hashKey(sql.raw('x.k'))} AND e.time_window_start = x.s`);
  return new Map(result.rows.map((r) => [r.key_text, r.id]));
}

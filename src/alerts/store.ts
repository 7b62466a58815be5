/** The alerts table's SQL: applying an evaluation, what is owed a notification, the list and silences. */
import { sql } from 'drizzle-orm';
import type { Alert, AlertState } from '../contracts/alert.ts';
import type { Database } from '../db/client.ts';
import { alerts } from '../db/schema/index.ts';

/** A fingerprinted candidate, as the evaluation writes it. */
export interface FiringAlert {
  fingerprint: string;
  rule: Alert['rule'];
  labels: Record<string, string>;
  severity: Alert['severity'];
  summary: string;
}

const iso = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
const COLUMNS = sql`fingerprint, rule, labels, severity, state, summary, ${iso('first_seen')} AS first_seen, ${iso('last_seen')} AS last_seen,
  ${iso('resolved_at')} AS resolved_at, ${iso('last_notified')} AS last_notified, ${iso('silenced_until')} AS silenced_until, silence_note`;

/**
 * An alert is owed a notification when its latest change was not notified yet and it is not silenced:
 * firing since after its last notification, or resolved after a firing that was notified (a firing
 * nobody heard of resolves quietly).
 */
const owed = (now: string) => sql`(silenced_until IS NULL OR silenced_until <= ${now}::timestamptz) AND (
  (state = 'firing' AND (last_notified IS NULL OR last_notified < first_seen))
  OR (state = 'resolved' AND last_notified >= first_seen AND last_notified < resolved_at))`;

/**
 * One evaluation, in one transaction: every firing candidate is inserted or kept firing (a resolved one
 * starts a new episode: first_seen moves), every firing alert not among them is resolved; then the alerts
 * owed a notification are returned.
 */
export async function applyEvaluation(db: Database, firing: FiringAlert[], now: string): Promise<Alert[]> {
  const [, owedRows] = await db.batch([
    db.execute(sql`
      WITH cand AS (
        SELECT * FROM jsonb_to_recordset(${JSON.stringify(firing)}::jsonb)
          AS c(fingerprint text, rule text, labels jsonb, severity text, summary text)
      ), up AS (
        INSERT INTO ${alerts} AS a (fingerprint, rule, labels, severity, state, summary, first_seen, last_seen)
        SELECT fingerprint, rule, labels, severity, 'firing', summary, ${now}::timestamptz, ${now}::timestamptz FROM cand
        ON CONFLICT (fingerprint) DO UPDATE SET
          state = 'firing', severity = EXCLUDED.severity, summary = EXCLUDED.summary, last_seen = EXCLUDED.last_seen,
          first_seen = CASE WHEN a.state = 'resolved' THEN EXCLUDED.first_seen ELSE a.first_seen END,
          resolved_at = NULL
        RETURNING a.fingerprint
      ), down AS (
        UPDATE ${alerts} SET state = 'resolved', resolved_at = ${now}::timestamptz
        WHERE state = 'firing' AND fingerprint NOT IN (SELECT fingerprint FROM cand)
        RETURNING fingerprint
      )
      SELECT (SELECT count(*) FROM up) AS firing, (SELECT count(*) FROM down) AS resolved`),
    db.execute<Alert>(sql`SELECT ${COLUMNS} FROM ${alerts} WHERE ${owed(now)} ORDER BY first_seen, fingerprint`),
  ]);
  return owedRows.rows;
}

/** After their notifications are queued: these alerts are notified as of `now` (unless they changed meanwhile). */
export async function markNotified(db: Database, fingerprints: string[], now: string): Promise<void> {
  if (fingerprints.length === 0) return;
  await db.execute(sql`
    UPDATE ${alerts} SET last_notified = ${now}::timestamptz
    WHERE fingerprint IN (SELECT jsonb_array_elements_text(${JSON.stringify(fingerprints)}::jsonb)) AND ${owed(now)}`);
}

/** How long a resolved alert stays on the operator page. */
export const RESOLVED_SHOWN_DAYS = 7;

/** Alerts, firing first (newest first), then resolved ones (most recently resolved first); `recent`: resolved in the last 7 days only. */
export async function listAlerts(
  db: Database,
  opts: { state?: AlertState | undefined; now: Date; recent?: boolean; limit?: number },
): Promise<Alert[]> {
  const since = new Date(opts.now.getTime() - RESOLVED_SHOWN_DAYS * 86_400_000).toISOString();
  const result = await db.execute<Alert>(sql`
    SELECT ${COLUMNS} FROM ${alerts}
    WHERE ${opts.state ? sql`state = ${opts.state}` : sql`true`}
      AND ${opts.recent ? sql`(state = 'firing' OR resolved_at >= ${since}::timestamptz)` : sql`true`}
    ORDER BY state = 'firing' DESC, CASE WHEN state = 'firing' THEN first_seen ELSE resolved_at END DESC, fingerprint
    LIMIT ${opts.limit ?? 1000}`);
  return result.rows;
}

/** Silence one alert's notifications until `until` (a time in the past lifts the silence); null: no such alert. */
export async function silenceAlert(db: Database, fingerprint: string, until: string, note: string): Promise<Alert | null> {
  const result = await db.execute<Alert>(sql`
    UPDATE ${alerts} SET silenced_until = ${until}::timestamptz, silence_note = ${note}
    WHERE fingerprint = ${fingerprint}
    RETURNING ${COLUMNS}`);
  return result.rows[0] ?? null;
}

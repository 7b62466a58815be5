/**
 * What the alert rules look at, read at evaluation time: three SQL statements in one round trip, the
 * allocations' shares, and every configured relay's signed `/v1/health` (in parallel, each bounded).
 */
import { sql } from 'drizzle-orm';
import type { Config, RelayTarget } from '../config.ts';
import { RELAY_HEALTH_PATH } from '../contracts/job-record.ts';
import { RELAY_REQUEST_ID_PARAM } from '../contracts/relay-api.ts';
import { signRelayRequest } from '../contracts/relay-signing.ts';
import type { Database } from '../db/client.ts';
import { collectionDays, collectionWatermarks, resourceUsageEventLinks, resourceUsageEvents } from '../db/schema/index.ts';
import { addDays, lastCompleteDay } from '../lib/utc-day.ts';
import { allocationShares } from '../reporting/allocation-balances.ts';
import type { AlertObservations } from './rules.ts';

/**
 * Attempts after which the collect queue has dead-lettered a day: the first delivery and wrangler.toml's
 * `max_retries = 6` of the zeus-collect consumer (a test holds the two together).
 */
export const COLLECT_MAX_ATTEMPTS = 7;
/** How long a relay has to answer `/v1/health`. */
export const RELAY_HEALTH_TIMEOUT_MS = 10_000;

export type Fetch = (request: Request) => Promise<Response>;

/**
 * A relay's signed health check: ok, or why not (a status or the kind of failure; never its URL). Signed
 * with the clock (`now`, default the real one), not the evaluation's time: the relay refuses 300 s of skew.
 */
export async function checkRelayHealth(
  relay: RelayTarget,
  secret: string,
  opts: { fetch?: Fetch; now?: Date; timeoutMs?: number } = {},
): Promise<{ cluster: string; ok: boolean; detail: string }> {
  const url = new URL(RELAY_HEALTH_PATH, relay.url);
  // A fresh id per check: two evaluations in the same second (the daily and the hourly cron) sign different strings,
  // so the relay never refuses the second as a replay (docs/architecture.md §2).
  url.searchParams.set(RELAY_REQUEST_ID_PARAM, crypto.randomUUID());
  const signal = AbortSignal.timeout(opts.timeoutMs ?? RELAY_HEALTH_TIMEOUT_MS);
  const at = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  try {
    const headers = await signRelayRequest(secret, 'GET', url.pathname + url.search, at);
    const response = await (opts.fetch ?? ((r: Request) => fetch(r)))(new Request(url, { headers, signal }));
    await response.body?.cancel();
    return { cluster: relay.cluster, ok: response.ok, detail: response.ok ? 'ok' : `HTTP ${response.status}` };
  } catch {
    return {
      cluster: relay.cluster,
      ok: false,
      detail: signal.aborted ? `no answer within ${RELAY_HEALTH_TIMEOUT_MS / 1000} s` : 'connection failed',
    };
  }
}

export interface ObserveDeps {
  config: Config;
  db: Database;
  fetch?: Fetch;
}

export async function observe(deps: ObserveDeps, now: Date): Promise<AlertObservations> {
  const { config, db } = deps;
  const clusters = JSON.stringify(config.RELAYS.map((r) => r.cluster));
  const day = lastCompleteDay(now, config.COLLECT_DELAY_MINUTES);
  const [from, to] = [`${day}T00:00:00Z`, `${addDays(day, 1)}T00:00:00Z`];
  const health = config.RELAY_SECRET
    ? Promise.all(config.RELAYS.map((r) => checkRelayHealth(r, config.RELAY_SECRET!, deps.fetch ? { fetch: deps.fetch } : {})))
    : Promise.resolve([]);
  const [[watermarks, dead, unmapped], allocations, relays] = await Promise.all([
    db.batch([
      db.execute<{ cluster: string; through_day: string | null }>(sql`
        SELECT c AS cluster, w.through_day::text AS through_day
        FROM jsonb_array_elements_text(${clusters}::jsonb) AS c
        LEFT JOIN ${collectionWatermarks} w ON w.cluster = c ORDER BY c`),
      db.execute<{ cluster: string; day: string; attempts: number }>(sql`
        SELECT d.cluster, d.day::text AS day, d.attempts
        FROM ${collectionDays} d
        WHERE d.status = 'failed' AND d.attempts >= ${COLLECT_MAX_ATTEMPTS}
          AND d.cluster IN (SELECT jsonb_array_elements_text(${clusters}::jsonb))
        ORDER BY d.cluster, d.day`),
      // Two index-only counts, no join: the day's events, and its links that are resolved (a link exists
      // only for a stored event, with its window start); every other event is not resolved.
      db.execute<{ events: number; not_resolved: number }>(sql`
        SELECT e.n AS events, e.n - r.n AS not_resolved
        FROM (SELECT count(*)::int AS n FROM ${resourceUsageEvents}
              WHERE time_window_start >= ${from}::timestamptz AND time_window_start < ${to}::timestamptz) e,
             (SELECT count(*)::int AS n FROM ${resourceUsageEventLinks}
              WHERE status = 'resolved' AND event_time >= ${from}::timestamptz AND event_time < ${to}::timestamptz) r`),
    ]),
    allocationShares(db, { activeOnly: true }),
    health,
  ]);
  const u = unmapped.rows[0];
  return {
    lastCompleteDay: day,
    watermarks: watermarks.rows,
    deadLettered: dead.rows.map((d) => ({ ...d, attempts: Number(d.attempts) })),
    relays,
    unmapped: { day, events: Number(u?.events ?? 0), not_resolved: Number(u?.not_resolved ?? 0) },
    allocations,
  };
}

/**
 * `GET /metrics`: what Prometheus scrapes, computed from the database at scrape time in one round trip of
 * four statements (plus the allocations' shares), whatever the number of events: the events and links
 * are counted over the last complete UTC day's index range, never the whole history.
 */
import { sql } from 'drizzle-orm';
import type { Config } from '../config.ts';
import { ALERT_RULES, ALERT_SEVERITIES, ALERT_STATES } from '../contracts/alert.ts';
import { SOURCES } from '../contracts/usage-event.ts';
import { LINK_STATUSES } from '../contracts/event-link.ts';
import type { Database } from '../db/client.ts';
import { alerts, collectionDays, collectionRuns, collectionWatermarks, resourceUsageEventLinks, resourceUsageEvents } from '../db/schema/index.ts';
import { addDays, DAY_MS, lastCompleteDay } from '../lib/utc-day.ts';
import { type AllocationShare, allocationShares } from './allocation-balances.ts';
import type { MetricFamily } from './exposition.ts';

/** What the families are computed from (the rows of the scrape's statements). */
export interface MetricsSnapshot {
  now: Date;
  lastCompleteDay: string;
  clusters: {
    cluster: string;
    through_day: string | null;
    queued: number;
    failed: number;
    last_status: string | null;
    last_started_at: string | null;
  }[];
  events: { source: string; events: number }[];
  links: { status: string; links: number }[];
  alerts: { rule: string; severity: string; state: string; alerts: number }[];
  allocations: AllocationShare[];
}

type ClusterRow = MetricsSnapshot['clusters'][number];

/** The scrape's four statements (the benchmark runs the very same ones over node pg). */
export function metricsStatements(config: Pick<Config, 'RELAYS' | 'COLLECT_DELAY_MINUTES'>, now: Date) {
  const day = lastCompleteDay(now, config.COLLECT_DELAY_MINUTES);
  const [from, to] = [`${day}T00:00:00Z`, `${addDays(day, 1)}T00:00:00Z`];
  const configured = JSON.stringify(config.RELAYS.map((r) => r.cluster));
  return {
    day,
    clusters: sql`
        WITH names AS (
          SELECT jsonb_array_elements_text(${configured}::jsonb) AS cluster
          UNION SELECT cluster FROM ${collectionWatermarks}
          UNION SELECT DISTINCT cluster FROM ${collectionDays}
        )
        SELECT n.cluster, w.through_day::text AS through_day,
          (SELECT count(*)::int FROM ${collectionDays} d WHERE d.cluster = n.cluster AND d.status = 'queued') AS queued,
          (SELECT count(*)::int FROM ${collectionDays} d WHERE d.cluster = n.cluster AND d.status = 'failed') AS failed,
          r.status AS last_status,
          to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_started_at
        FROM names n
        LEFT JOIN ${collectionWatermarks} w ON w.cluster = n.cluster
        LEFT JOIN LATERAL (
          SELECT status, started_at FROM ${collectionRuns} cr WHERE cr.cluster = n.cluster ORDER BY cr.started_at DESC, cr.id LIMIT 1
        ) r ON true
        ORDER BY n.cluster`,
    events: sql`
        SELECT source, count(*)::int AS events FROM ${resourceUsageEvents}
        WHERE time_window_start >= ${from}::timestamptz AND time_window_start < ${to}::timestamptz
        GROUP BY source`,
    // By the links' own (status, event_time) index, one range per status (status leads the index), no join: the day's events without a link are the
    // events counted above minus these (a link exists only for a stored event, with its window start).
    links: sql`
        SELECT status, count(*)::int AS links FROM ${resourceUsageEventLinks}
        WHERE status IN (${sql.join(
          LINK_STATUSES.map((s) => sql`${s}`),
          sql`, `,
        )}) AND event_time >= ${from}::timestamptz AND event_time < ${to}::timestamptz
        GROUP BY status`,
    alerts: sql`SELECT rule, severity, state, count(*)::int AS alerts FROM ${alerts} GROUP BY 1, 2, 3`,
  };
}

export async function readMetricsSnapshot(
  db: Database,
  config: Pick<Config, 'RELAYS' | 'COLLECT_DELAY_MINUTES'>,
  now: Date,
): Promise<MetricsSnapshot> {
  const q = metricsStatements(config, now);
  const day = q.day;
  const [[clusters, events, links, alertCounts], allocations] = await Promise.all([
    db.batch([
      db.execute<ClusterRow>(q.clusters),
      db.execute<{ source: string; events: number }>(q.events),
      db.execute<{ status: string; links: number }>(q.links),
      db.execute<{ rule: string; severity: string; state: string; alerts: number }>(q.alerts),
    ]),
    allocationShares(db, { activeOnly: true }),
  ]);
  const num = <T extends Record<string, unknown>>(rows: T[], ...keys: (keyof T)[]) =>
    rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, keys.includes(k) ? Number(v) : v])) as T);
  return {
    now,
    lastCompleteDay: day,
    clusters: num(clusters.rows, 'queued', 'failed'),
    events: num(events.rows, 'events'),
    links: num(links.rows, 'links'),
    alerts: num(alertCounts.rows, 'alerts'),
    allocations,
  };
}

/** Per active allocation and granted metric, the share used (pure). */
export function allocationShareFamily(shares: readonly AllocationShare[]): MetricFamily {
  return {
    name: 'zeus_allocation_used_share',
    help: 'Per active allocation and granted metric: usage charged to it divided by the grant (1 = all of it).',
    type: 'gauge',
    samples: shares.map((a) => ({ labels: { allocation_id: a.allocation_id, project_id: a.project_id, metric: a.metric }, value: a.used_share })),
  };
}

/** The families of a snapshot (pure). Every known source, link status and alert state appears, at 0 when none. */
export function metricFamilies(s: MetricsSnapshot): MetricFamily[] {
  const lastComplete = Date.parse(`${s.lastCompleteDay}T00:00:00Z`);
  const withWatermark = s.clusters.filter((c) => c.through_day !== null);
  const withRun = s.clusters.filter((c) => c.last_started_at !== null);
  const day = s.lastCompleteDay;
  const count = <R>(rows: R[], pick: (r: R) => boolean, value: (r: R) => number) => rows.filter(pick).reduce((n, r) => n + value(r), 0);
  return [
    {
      name: 'zeus_collection_lag_days',
      help: 'Per cluster or cloud: whole UTC days between its watermark (collected through) and the last complete day.',
      type: 'gauge',
      samples: withWatermark.map((c) => ({
        labels: { cluster: c.cluster },
        value: Math.max(0, Math.round((lastComplete - Date.parse(`${c.through_day}T00:00:00Z`)) / DAY_MS)),
      })),
    },
    {
      name: 'zeus_collection_last_run_success',
      help: "Per cluster or cloud: 1 when its latest collection run succeeded, 0 when it failed (label status: the run's status).",
      type: 'gauge',
      samples: withRun.map((c) => ({ labels: { cluster: c.cluster, status: c.last_status ?? '' }, value: c.last_status === 'succeeded' ? 1 : 0 })),
    },
    {
      name: 'zeus_collection_last_run_age_seconds',
      help: 'Per cluster or cloud: seconds since its latest collection run started.',
      type: 'gauge',
      samples: withRun.map((c) => ({
        labels: { cluster: c.cluster },
        value: Math.max(0, Math.round((s.now.getTime() - Date.parse(c.last_started_at!)) / 1000)),
      })),
    },
    {
      name: 'zeus_collection_days',
      help: 'Per cluster or cloud: UTC days whose collection is queued, or failed (and not collected since).',
      type: 'gauge',
      samples: s.clusters.flatMap((c) => [
        { labels: { cluster: c.cluster, status: 'queued' }, value: c.queued },
        { labels: { cluster: c.cluster, status: 'failed' }, value: c.failed },
      ]),
    },
    {
      name: 'zeus_usage_events',
      help: 'Usage events stored per source whose window starts on the last complete UTC day (label day).',
      type: 'gauge',
      samples: SOURCES.map((source) => ({
        labels: { source, day },
        value: count(
          s.events,
          (e) => e.source === source,
          (e) => e.events,
        ),
      })),
    },
    {
      name: 'zeus_event_links',
      help: 'The last complete UTC day\'s events by link status (label day); "unmapped": no link yet.',
      type: 'gauge',
      samples: [
        ...LINK_STATUSES.map((status) => ({
          labels: { status, day },
          value: count(
            s.links,
            (l) => l.status === status,
            (l) => l.links,
          ),
        })),
        {
          labels: { status: 'unmapped', day },
          value: Math.max(
            0,
            count(
              s.events,
              () => true,
              (e) => e.events,
            ) -
              count(
                s.links,
                () => true,
                (l) => l.links,
              ),
          ),
        },
      ],
    },
    allocationShareFamily(s.allocations),
    {
      name: 'zeus_alerts',
      help: 'Stored alerts by rule, severity and state (GET /admin/alerts lists them).',
      type: 'gauge',
      samples: ALERT_RULES.flatMap((rule) =>
        ALERT_SEVERITIES.flatMap((severity) =>
          ALERT_STATES.map((state) => ({
            labels: { rule, severity, state },
            value: count(
              s.alerts,
              (a) => a.rule === rule && a.severity === severity && a.state === state,
              (a) => a.alerts,
            ),
          })),
        ),
      ),
    },
  ];
}

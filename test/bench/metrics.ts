/**
 * Part 7: `GET /metrics` on a database of 1,000,000 events (20 UTC days ending with the last complete one,
 * 50,000 a day, each with a link of a mixed status), 12 clusters with a year of collection days and runs,
 * and 200 alerts, bulk-loaded with SQL into a database of its own (created and dropped here). A scrape
 * through the real app (Hono in process → the Neon driver → the gateway → PostgreSQL) against the very same
 * four statements run straight on PostgreSQL by node pg, in the same run; three runs, min–max.
 */
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { parseConfig } from '../../src/config.ts';
import { createDb } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { migrateDatabase } from '../../src/local/migrate.ts';
import { lastCompleteDay } from '../../src/lib/utc-day.ts';
import { metricsStatements } from '../../src/reporting/metrics.ts';
import type { Services } from '../../src/services.ts';
import { measure, percentile, printTable, spawnGateway } from './lib.ts';

const EVENTS = 1_000_000;
const DAYS = 20;
const CLUSTERS = 12;
const RUNS = 3;
const SCRAPES = 20;
const READ_KEY = 'bench-read-key-0123456789abcdef';

async function load(client: pg.Client, lastDay: string): Promise<number> {
  const perDay = EVENTS / DAYS;
  const start = `'${lastDay}'::timestamptz - (d * interval '1 day')`;
  await client.query(`
    INSERT INTO resource_usage_events (id, natural_key, schema_version, source, time_window_start, time_window_end,
      collected_at, metrics, identities, context)
    SELECT md5(d || ':' || g)::uuid, md5(d || ':' || g), '1.0', CASE WHEN g % 5 = 0 THEN 'openstack' ELSE 'pbs' END,
      ${start}, ${start} + interval '1 day', ${start} + interval '25 hours',
      jsonb_build_object('cpu_core_seconds', 3600 + g % 1000, 'walltime_used', 1800),
      jsonb_build_array(jsonb_build_object('scheme', 'perun_username', 'value', 'u' || g % 5000, 'authority', 'bench')),
      jsonb_build_object('cluster', 'bench-' || g % ${CLUSTERS}, 'project', 'p' || g % 500, 'jobname', 'daily')
    FROM generate_series(0, ${DAYS - 1}) d CROSS JOIN generate_series(1, ${perDay}) g`);
  await client.query(`
    INSERT INTO resource_usage_event_links (event_id, event_time, status, reasons, rule_version)
    SELECT md5(d || ':' || g)::uuid, ${start},
      CASE WHEN g % 50 = 0 THEN 'unresolved' WHEN g % 20 = 0 THEN 'partial' ELSE 'resolved' END, '[]', 1
    FROM generate_series(0, ${DAYS - 1}) d CROSS JOIN generate_series(1, ${perDay}) g WHERE g % 97 <> 0`);
  await client.query(`
    INSERT INTO collection_watermarks (cluster, through_day) SELECT 'bench-' || c, '${lastDay}'::date - c % 4 FROM generate_series(0, ${CLUSTERS - 1}) c`);
  await client.query(`
    INSERT INTO collection_days (cluster, day, status, attempts)
    SELECT 'bench-' || c, '${lastDay}'::date - d, CASE WHEN d % 61 = 7 THEN 'failed' ELSE 'succeeded' END, 1
    FROM generate_series(0, ${CLUSTERS - 1}) c CROSS JOIN generate_series(0, 364) d`);
  await client.query(`
    INSERT INTO collection_runs (cluster, day, trigger, attempt, status, started_at, finished_at, duration_ms)
    SELECT 'bench-' || c, '${lastDay}'::date - d, 'cron', 1, 'succeeded', ('${lastDay}'::date - d + 1) + interval '2 hours',
      ('${lastDay}'::date - d + 1) + interval '2 hours 5 minutes', 300000
    FROM generate_series(0, ${CLUSTERS - 1}) c CROSS JOIN generate_series(0, 364) d`);
  await client.query(`
    INSERT INTO alerts (fingerprint, rule, labels, severity, state, summary, first_seen, last_seen, resolved_at)
    SELECT md5('a' || g), 'collection_lag', jsonb_build_object('cluster', 'c' || g), 'warning',
      CASE WHEN g % 4 = 0 THEN 'firing' ELSE 'resolved' END, 'bench', now() - interval '2 days', now(),
      CASE WHEN g % 4 = 0 THEN NULL ELSE now() END
    FROM generate_series(1, 200) g`);
  for (const table of ['resource_usage_events', 'resource_usage_event_links', 'collection_days', 'collection_runs', 'alerts']) {
    await client.query(`VACUUM ANALYZE ${table}`);
  }
  const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM resource_usage_events');
  return rows[0]!.n;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function benchMetrics(databaseUrl: string): Promise<Record<string, number>> {
  const database = `zeus_bench_metrics_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const benchUrl = withDatabase(databaseUrl, database);
  const client = new pg.Client({ connectionString: benchUrl });
  const figures: Record<string, number> = {};
  let gateway: Awaited<ReturnType<typeof spawnGateway>> | undefined;
  try {
    gateway = await spawnGateway();
    await migrateDatabase({ databaseUrl: benchUrl, sqlUrl: gateway.sqlUrl });
    await client.connect();
    const now = new Date();
    const lastDay = lastCompleteDay(now, 60);
    const t = performance.now();
    const events = await load(client, lastDay);
    console.log(
      `loaded ${events.toLocaleString('en')} events (${DAYS} days to ${lastDay}), their links, ${CLUSTERS} clusters × 365 days and 200 alerts in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    const config = parseConfig({
      DATABASE_URL: benchUrl,
      DATABASE_HTTP_URL: gateway.sqlUrl,
      READ_API_KEY: READ_KEY,
      COLLECTOR_API_KEY: 'bench-collector-key-0123456789abcdef',
      ADMIN_API_KEY: 'bench-admin-key-0123456789abcdef',
    });
    const services = { config, db: createDb(config) } as Services;
    const app = createApp(() => services);
    const dialect = new PgDialect();
    const q = metricsStatements(config, now);
    const statements = [q.clusters, q.events, q.links, q.alerts].map((s) => dialect.sqlToQuery(s));

    const viaApp = async () => {
      const res = await app.request('/metrics', { headers: { authorization: `Bearer ${READ_KEY}` } });
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
      return res.text();
    };
    const direct = async () => {
      for (const s of statements) await client.query(s.sql, s.params);
    };
    const sample = await viaApp();
    console.log(
      `  a scrape: ${sample.length.toLocaleString('en')} bytes, ${sample.split('\n').filter((l) => l && !l.startsWith('#')).length} samples`,
    );
    for (let i = 0; i < 2; i++) await Promise.all([viaApp(), direct()]);

    const p50App: number[] = [];
    const maxApp: number[] = [];
    const p50Direct: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const d = await measure(`run ${run}: node pg, the same 4 statements`, SCRAPES, 1, direct);
      const a = await measure(`run ${run}: GET /metrics → driver → gateway → PG`, SCRAPES, 1, viaApp);
      printTable([d, a]);
      p50App.push(percentile(a.latenciesMs, 50));
      maxApp.push(Math.max(...a.latenciesMs));
      p50Direct.push(percentile(d.latenciesMs, 50));
    }
    for (const [i, s] of statements.entries()) {
      const plan = (await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${s.sql}`, s.params)).rows[0]['QUERY PLAN'];
      console.log(`  statement ${i + 1} (${['clusters', 'events', 'links', 'alerts'][i]}): server time ${plan[0]['Execution Time'].toFixed(1)} ms`);
    }
    const range = (v: number[]) => `${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)} ms`;
    const ratios = p50App.map((a, i) => a / p50Direct[i]!);
    console.log(
      `  p50 scrape through the app over ${RUNS} runs: ${range(p50App)}; slowest scrape ${Math.max(...maxApp).toFixed(1)} ms (budget 500 ms)`,
    );
    console.log(
      `  p50 same SQL over node pg: ${range(p50Direct)}; ratio app / node pg ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
    );
    figures.p50AppMin = Math.min(...p50App);
    figures.p50AppMax = Math.max(...p50App);
    figures.maxApp = Math.max(...maxApp);
    figures.p50DirectMin = Math.min(...p50Direct);
    figures.p50DirectMax = Math.max(...p50Direct);
    return figures;
  } finally {
    await client.end().catch(() => undefined);
    await gateway?.stop();
    await admin
      .query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
      .catch((err) => console.error(`could not drop ${database}: ${(err as Error).message}`));
    await admin.end();
  }
}

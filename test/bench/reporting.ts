/**
 * Part 5: `GET /usage` over a year of daily usage: 500 projects, 2,000 users (each in one to three
 * projects), one event per user per project per day with a resolved link, bulk-loaded with SQL into a
 * database of its own (created and dropped here). Then the report of ONE project over the year
 * (bucket day and month) through the real app (the Hono app in process → the Neon driver → the
 * gateway → PostgreSQL), against the very same statement run straight on PostgreSQL by node pg, in
 * the same run. Also the whole year for every project (group_by project, by month), fewer times.
 */
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { parseConfig } from '../../src/config.ts';
import { type UsageQueryInput, type UsageReport, UsageQuerySchema } from '../../src/contracts/usage-report.ts';
import { createDb } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { migrateDatabase } from '../../src/local/migrate.ts';
import { usageStatement } from '../../src/reporting/query-usage.ts';
import type { Services } from '../../src/services.ts';
import { type Measure, measure, percentile, printTable, spawnGateway } from './lib.ts';

const PROJECTS = 500;
const USERS = 2_000;
const DAYS = 365;
const FROM = '2025-01-01';
const TO = '2026-01-01';
const REQUESTS = 40;
const WIDE_REQUESTS = 3;
const READ_KEY = 'bench-read-key-0123456789abcdef';

/** Each user in 1 project, every 5th in a 2nd, every 25th in a 3rd; one event per user × project × day, resolved. */
async function load(client: pg.Client): Promise<number> {
  await client.query(`INSERT INTO projects (name) SELECT 'bench-p' || g FROM generate_series(1, ${PROJECTS}) g`);
  await client.query(
    `INSERT INTO users (username, email) SELECT 'bench-u' || g, 'bench-u' || g || '@example.org' FROM generate_series(1, ${USERS}) g`,
  );
  await client.query(`INSERT INTO allocations (project_id, kind, valid_from) SELECT id, 'hpc', '2024-01-01' FROM projects`);
  await client.query(`
    CREATE UNLOGGED TABLE bench_members AS
    SELECT u.id AS user_id, u.username, p.id AS project_id, p.name AS project_name, a.id AS allocation_id
    FROM generate_series(1, ${USERS}) g
    CROSS JOIN LATERAL (VALUES (1 + g % ${PROJECTS}, true), (1 + (g * 7 + 3) % ${PROJECTS}, g % 5 = 0), (1 + (g * 13 + 11) % ${PROJECTS}, g % 25 = 0)) m(p, member)
    JOIN users u ON u.username = 'bench-u' || g
    JOIN projects p ON p.name = 'bench-p' || m.p
    JOIN allocations a ON a.project_id = p.id
    WHERE m.member`);
  // Event ids derived from (user, project, day), so the links can be written from the same rows.
  const eventId = `md5(m.user_id::text || m.project_id::text || d)::uuid`;
  const start = `'${FROM}'::timestamptz + d * interval '1 day'`;
  await client.query(`
    INSERT INTO resource_usage_events (id, natural_key, schema_version, source, time_window_start, time_window_end,
      collected_at, metrics, identities, context)
    SELECT ${eventId}, md5(m.user_id::text || m.project_id::text || d), '1.0', 'pbs', ${start}, ${start} + interval '1 day',
      ${start} + interval '25 hours',
      jsonb_build_object('cpu_time_seconds', 3600 + d, 'cpu_core_seconds', 14400 + 4 * d, 'walltime_used', 1800 + d % 60,
        'walltime_allocated', 7200, 'vcpus_allocated', 4, 'ram_bytes_allocated', 8589934592, 'used_cpu_percent', 50 + d % 50,
        'gpu_time_seconds', CASE WHEN d % 7 = 0 THEN 600 ELSE 0 END),
      jsonb_build_array(jsonb_build_object('scheme', 'perun_username', 'value', m.username, 'authority', 'bench')),
      jsonb_build_object('cluster', 'bench', 'project', m.project_name, 'jobname', 'daily', 'job_count', 3)
    FROM bench_members m CROSS JOIN generate_series(0, ${DAYS - 1}) d`);
  await client.query(`
    INSERT INTO resource_usage_event_links (event_id, event_time, user_id, project_id, allocation_id, status, reasons, rule_version)
    SELECT ${eventId}, ${start}, m.user_id, m.project_id, m.allocation_id, 'resolved', '[]', 1
    FROM bench_members m CROSS JOIN generate_series(0, ${DAYS - 1}) d`);
  await client.query('VACUUM ANALYZE resource_usage_events');
  await client.query('VACUUM ANALYZE resource_usage_event_links');
  await client.query('ANALYZE projects; ANALYZE users; ANALYZE allocations');
  const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM resource_usage_events');
  return rows[0]!.n;
}

/** The database's name in a connection string, replaced. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function benchReporting(databaseUrl: string): Promise<Record<string, number>> {
  const database = `zeus_bench_reporting_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const benchUrl = withDatabase(databaseUrl, database);
  const gateway = await spawnGateway();
  const client = new pg.Client({ connectionString: benchUrl });
  const figures: Record<string, number> = {};
  try {
    await migrateDatabase({ databaseUrl: benchUrl, sqlUrl: gateway.sqlUrl });
    await client.connect();
    const t = performance.now();
    const events = await load(client);
    const {
      rows: [members],
    } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM bench_members');
    console.log(
      `loaded ${events.toLocaleString('en')} events with resolved links (${PROJECTS} projects, ${USERS} users, ${members!.n} memberships × ${DAYS} days) into a fresh database in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    figures.loadSeconds = (performance.now() - t) / 1000;

    // A project with the most common number of users.
    const {
      rows: [pick],
    } = await client.query<{ name: string; users: number }>(
      `WITH c AS (SELECT project_name, count(*)::int AS n FROM bench_members GROUP BY project_name)
       SELECT project_name AS name, n AS users FROM c WHERE n = (SELECT mode() WITHIN GROUP (ORDER BY n) FROM c)
       ORDER BY project_name LIMIT 1`,
    );
    const project = pick!.name;

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

    const run = async (label: string, input: UsageQueryInput, total: number) => {
      const params = new URLSearchParams(Object.entries(input).map(([k, v]): [string, string] => [k, String(v)]));
      const viaApp = async () => {
        const res = await app.request(`/usage?${params}`, { headers: { authorization: `Bearer ${READ_KEY}` } });
        if (res.status !== 200) throw new Error(`/usage answered ${res.status}: ${await res.text()}`);
        return (await res.json()) as UsageReport;
      };
      const statement = dialect.sqlToQuery(usageStatement(UsageQuerySchema.parse(input), 'date_trunc', 10_000));
      const direct = () => client.query(statement.sql, statement.params);
      // Same answer both ways, then a warm-up of each.
      const report = await viaApp();
      const { rows } = await direct();
      if (rows.length !== report.rows.length) throw new Error(`${label}: ${rows.length} rows direct, ${report.rows.length} through the app`);
      for (let i = 0; i < 3; i++) await Promise.all([viaApp(), direct()]);
      const plan = (await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.sql}`, statement.params)).rows[0]['QUERY PLAN'];
      const text = JSON.stringify(plan);
      const indexes = [...new Set([...text.matchAll(/"Index Name":"([^"]+)"/g)].map((m) => m[1]))];
      const direct50: Measure = await measure(`${label}: node pg, same SQL`, total, 1, direct);
      const app50: Measure = await measure(`${label}: app → driver → gateway → PG`, total, 1, viaApp);
      printTable([direct50, app50]);
      const ratio = percentile(app50.latenciesMs, 50) / percentile(direct50.latenciesMs, 50);
      console.log(
        `  ${report.rows.length} rows, ${report.rows.reduce((s, r) => s + r.events, 0).toLocaleString('en')} events; server time ${plan[0]['Execution Time'].toFixed(1)} ms; indexes: ${indexes.join(', ') || 'none (sequential scans)'}`,
      );
      console.log(`  ratio p50 app / p50 node pg: ${ratio.toFixed(2)}`);
      return { app: app50, direct: direct50, ratio };
    };

    console.log(`one project (${project}, ${pick!.users} users) over ${FROM} … ${TO}, ${REQUESTS} requests each, 1 in flight:`);
    for (const bucket of ['day', 'month'] as const) {
      const r = await run(`project, bucket ${bucket}`, { from: FROM, to: TO, bucket, project }, REQUESTS);
      figures[`${bucket}P50App`] = percentile(r.app.latenciesMs, 50);
      figures[`${bucket}P95App`] = percentile(r.app.latenciesMs, 95);
      figures[`${bucket}P50Direct`] = percentile(r.direct.latenciesMs, 50);
      figures[`${bucket}Ratio`] = r.ratio;
    }
    console.log(`every project over the year, group_by project, bucket month, ${WIDE_REQUESTS} requests each:`);
    const wide = await run('all projects by month', { from: FROM, to: TO, bucket: 'month', group_by: 'project' }, WIDE_REQUESTS);
    figures.wideP50App = percentile(wide.app.latenciesMs, 50);
    figures.wideRatio = wide.ratio;
    return figures;
  } finally {
    await client.end().catch(() => undefined);
    await gateway.stop();
    await admin
      .query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
      .catch((err) => console.error(`could not drop ${database}: ${(err as Error).message}`));
    await admin.end();
  }
}

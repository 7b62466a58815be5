import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { PGlite as TimescalePGlite } from 'pglite-timescaledb';
import { timescaledb } from 'pglite-timescaledb/timescaledb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { METRIC_KEYS } from '../../../src/contracts/usage-event.ts';
import { type UsageDimension, type UsageQuery, UsageQuerySchema } from '../../../src/contracts/usage-report.ts';
import { createDb, type Database } from '../../../src/db/client.ts';
import { type Gateway, startGateway } from '../../../src/local/gateway/server.ts';
import { detectBucketing } from '../../../src/reporting/bucketing.ts';
import { queryUsage, usageStatement } from '../../../src/reporting/query-usage.ts';
import { uniqueId } from '../../support/events.ts';
import { migrationStatements } from '../../support/migrations.ts';

/**
 * The report's two bucketing paths on the same data: TimescaleDB's time_bucket on the TimescaleDB
 * build of PGlite (a hypertable), date_trunc there too and on the test database (PGlite or
 * PostgreSQL 15, a plain table). Every report must be identical, row for row.
 */

// Its own endpoint key (host:port) so the driver sends it to the TimescaleDB gateway, while the test
// database (host pglite or 127.0.0.1) goes to the run's shared gateway.
const TIMESCALE_URL = 'postgresql://zeus@pglite:15433/zeus';
let gateway: Gateway;
let timescale: Database;
let plain: Database;

const tag = uniqueId('usage-ts');
// Far from every other test's data (and random, should an old run have left rows in a kept PostgreSQL).
const YEAR = 2300 + Math.floor(Math.random() * 400);
const CLUSTERS = [`${tag}-a`, `${tag}-b`, `${tag}-c`];
const ids = () => crypto.randomUUID();
const projects = [0, 1, 2].map((i) => ({ id: ids(), name: `${tag}-p${i}`, allocation: ids() }));
const users = [0, 1, 2].map((i) => ({ id: ids(), username: `${tag}-u${i}` }));

const pad = (n: number) => String(n).padStart(2, '0');
/** Times that sit on every kind of UTC boundary, written as collectors might write them. */
function boundaryTimes(): string[] {
  const out: string[] = [];
  for (let m = 1; m <= 12; m++) {
    const first = `${YEAR}-${pad(m)}-01`;
    const last = new Date(Date.UTC(YEAR, m - 1, 0)).toISOString().slice(0, 10); // the day before the 1st
    out.push(`${first}T00:00:00Z`, `${last}T23:59:59.999999Z`, `${first}T00:30:00+01:00`, `${last}T22:30:00-02:00`);
  }
  // Around Monday 00:00 UTC (weeks), and the new year.
  const monday = new Date(Date.UTC(YEAR, 5, 1));
  monday.setUTCDate(monday.getUTCDate() + ((8 - monday.getUTCDay()) % 7));
  const m = monday.toISOString().slice(0, 10);
  const sunday = new Date(monday.getTime() - 86_400_000).toISOString().slice(0, 10);
  out.push(`${m}T00:00:00Z`, `${sunday}T23:59:59.999999Z`, `${m}T00:59:00+01:00`, `${sunday}T23:00:00-05:00`, `${YEAR + 1}-01-01T00:00:00+14:00`);
  return out;
}

type Row = { i: number; id: string; start: string; source: string; metrics: Record<string, number>; context: Record<string, string> };
type Link = { event_id: string; start: string; user_id: string | null; project_id: string | null; allocation_id: string | null; status: string };

function dataset(): { events: Row[]; links: Link[] } {
  const times = [
    ...boundaryTimes(),
    // And a spread: every 26.3 hours over 14 months.
    ...Array.from({ length: 390 }, (_, i) => new Date(Date.UTC(YEAR, 0, 1) + i * 94_680_000).toISOString()),
  ];
  const events = times.map((start, i) => ({
    i,
    id: ids(),
    start,
    source: i % 5 === 0 ? 'openstack' : 'pbs',
    metrics: {
      cpu_time_seconds: i * 10 + 1,
      walltime_used: (i % 7) * 3600,
      ram_bytes_allocated: (i % 3) * 8_589_934_592,
      used_cpu_percent: (i % 9) * 12.5,
      ...(i % 6 === 0 ? { gpu_time_seconds: i * 0.25 } : {}),
    },
    context: { ...(i % 4 === 3 ? {} : { cluster: CLUSTERS[i % 4]! }), project: 'as sent', jobname: 'daily' },
  }));
  const links = events.flatMap((e, i): Link[] => {
    const p = projects[(i + (i % 2)) % 3]!;
    const u = users[i % 3]!;
    const base = { event_id: e.id, start: e.start };
    switch (i % 10) {
      case 6:
        return [{ ...base, user_id: u.id, project_id: null, allocation_id: null, status: 'partial' }];
      case 7:
        return [{ ...base, user_id: null, project_id: null, allocation_id: null, status: 'unresolved' }];
      case 8:
        return [{ ...base, user_id: null, project_id: p.id, allocation_id: null, status: 'manual' }];
      case 9:
        return []; // not mapped yet
      default:
        return [{ ...base, user_id: u.id, project_id: p.id, allocation_id: p.allocation, status: 'resolved' }];
    }
  });
  return { events, links };
}

const data = dataset();

async function seed(db: Database): Promise<void> {
  await db.execute(
    sql`INSERT INTO projects (id, name) SELECT x.id, x.name FROM jsonb_to_recordset(${JSON.stringify(projects)}::jsonb) AS x(id uuid, name text)`,
  );
  await db.execute(sql`INSERT INTO allocations (id, project_id, kind, valid_from)
    SELECT x.allocation, x.id, 'hpc', '2000-01-01' FROM jsonb_to_recordset(${JSON.stringify(projects)}::jsonb) AS x(id uuid, allocation uuid)`);
  await db.execute(sql`INSERT INTO users (id, username, email) SELECT x.id, x.username, x.username || '@example.org'
    FROM jsonb_to_recordset(${JSON.stringify(users)}::jsonb) AS x(id uuid, username text)`);
  await db.execute(sql`
    INSERT INTO resource_usage_events (id, natural_key, schema_version, source, time_window_start, time_window_end,
      collected_at, metrics, identities, context)
    SELECT x.id, md5(${tag} || x.i), '1.0', x.source, x.start, x.start + interval '1 hour', x.start + interval '2 hours',
      x.metrics, '[]', x.context
    FROM jsonb_to_recordset(${JSON.stringify(data.events)}::jsonb)
      AS x(i int, id uuid, start timestamptz, source text, metrics jsonb, context jsonb)`);
  await db.execute(sql`
    INSERT INTO resource_usage_event_links (event_id, event_time, user_id, project_id, allocation_id, status, rule_version)
    SELECT x.event_id, x.start, x.user_id, x.project_id, x.allocation_id, x.status, 1
    FROM jsonb_to_recordset(${JSON.stringify(data.links)}::jsonb)
      AS x(event_id uuid, start timestamptz, user_id uuid, project_id uuid, allocation_id uuid, status text)`);
}

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    pglite: { create: async () => (await TimescalePGlite.create({ extensions: { timescaledb } })) as unknown as PGlite },
  });
  timescale = createDb({ DATABASE_URL: TIMESCALE_URL, DATABASE_HTTP_URL: gateway.sqlUrl });
  plain = createDb({ DATABASE_URL: inject('databaseUrl'), DATABASE_HTTP_URL: inject('gatewaySqlUrl') });
  // Migrations 0000-0003 through the driver and the gateway, after a harmless first statement (see
  // test/unit/db/hypertable.test.ts). What makes 0003 fail on this unofficial build: its sessions
  // start with search_path = pg_catalog (database template1), so unqualified tables are created in
  // pg_catalog and 0003's foreign keys, which name "public"."projects", find nothing. The statements
  // are applied with that qualifier removed; everything else is the migration as it is.
  await timescale.$client.query('SELECT 1');
  for (const statement of migrationStatements(/^000[0-3]_/)) await timescale.$client.query(statement.replaceAll('"public".', ''));
  await seed(timescale);
  await seed(plain);
}, 120_000);

afterAll(async () => {
  const events = data.events.map((e) => e.id);
  await plain.execute(
    sql`DELETE FROM resource_usage_event_links WHERE event_id::text IN (${sql.join(
      events.map((id) => sql`${id}`),
      sql`, `,
    )})`,
  );
  await plain.execute(
    sql`DELETE FROM resource_usage_events WHERE natural_key IN (SELECT md5(${tag} || g) FROM generate_series(0, ${events.length}) g)`,
  );
  await plain.execute(sql`DELETE FROM users WHERE username LIKE ${`${tag}-%`}`);
  await plain.execute(sql`DELETE FROM projects WHERE name LIKE ${`${tag}-%`}`);
  await gateway?.close();
});

const query = (q: Record<string, string>): UsageQuery => UsageQuerySchema.parse({ from: `${YEAR - 1}-12-01`, to: `${YEAR + 1}-04-01`, ...q });
const GROUPINGS: UsageDimension[][] = [[], ['cluster'], ['user'], ['project', 'user', 'allocation', 'cluster', 'source']];

describe('bucketing: time_bucket (TimescaleDB) and date_trunc give the same reports', () => {
  it('detects TimescaleDB where it is installed, and only there', async () => {
    expect(await detectBucketing(timescale)).toBe('time_bucket');
    expect(await detectBucketing(plain)).toBe('date_trunc');
    const [hypertable] = (await timescale.$client.query(`SELECT count(*)::int AS n FROM show_chunks('resource_usage_events')`)) as { n: number }[];
    expect(hypertable!.n).toBeGreaterThan(10);
    // The plain database really has no time_bucket: the two paths are different SQL.
    await expect(queryUsage(plain, query({ cluster: CLUSTERS.join(',') }), { bucketing: 'time_bucket' })).rejects.toThrow(/time_bucket/);
  });

  it('the same rows on the hypertable with either function and on the plain table, for every bucket and grouping', async () => {
    for (const bucket of ['day', 'week', 'month']) {
      for (const groupBy of GROUPINGS) {
        const q = query({ bucket, cluster: CLUSTERS.join(','), ...(groupBy.length ? { group_by: groupBy.join(',') } : {}) });
        const withTimeBucket = await queryUsage(timescale, q);
        expect(withTimeBucket.rows.length).toBeGreaterThan(0);
        expect(await queryUsage(timescale, q, { bucketing: 'date_trunc' }), `${bucket} ${groupBy}`).toEqual(withTimeBucket);
        expect(await queryUsage(plain, q), `${bucket} ${groupBy}`).toEqual(withTimeBucket);
      }
    }
  });

  it('with filters too', async () => {
    for (const filter of <Record<string, string>[]>[
      { project: projects[0]!.name },
      { user: `${users[1]!.username},${users[2]!.id}` },
      { allocation: projects[2]!.allocation },
      { source: 'openstack' },
    ]) {
      const q = query({ bucket: 'week', group_by: 'project,user', cluster: CLUSTERS.join(','), ...filter });
      const withTimeBucket = await queryUsage(timescale, q);
      expect(withTimeBucket.rows.length, JSON.stringify(filter)).toBeGreaterThan(0);
      expect(await queryUsage(plain, q)).toEqual(withTimeBucket);
    }
  });

  it('buckets in UTC whatever the session time zone', async () => {
    const dialect = new PgDialect();
    for (const [db, bucketing] of [
      [timescale, 'time_bucket'],
      [plain, 'date_trunc'],
    ] as const) {
      const statement = dialect.sqlToQuery(usageStatement(query({ bucket: 'week', cluster: CLUSTERS.join(',') }), bucketing, 10_000));
      const utc = await db.$client.query(statement.sql, statement.params);
      const [, chatham] = await db.$client.transaction([
        db.$client.query(`SET LOCAL TimeZone = 'Pacific/Chatham'`),
        db.$client.query(statement.sql, statement.params),
      ]);
      expect(chatham).toEqual(utc);
    }
  });

  it('no event is dropped: with every grouping, the rows add up to the events (null cluster and no link included)', async () => {
    const expected: Record<string, number> = { events: data.events.length };
    // used_cpu_percent is a ratio recomputed per row (none here: no cpu_core_seconds), never a sum.
    for (const k of METRIC_KEYS.filter((m) => m !== 'used_cpu_percent'))
      expected[k] = data.events.reduce((s, e) => s + ((e.metrics as Record<string, number>)[k] ?? 0), 0);
    for (const bucket of ['day', 'month']) {
      for (const groupBy of GROUPINGS) {
        // The TimescaleDB database holds this test's rows only: no filter needed.
        const { rows } = await queryUsage(timescale, query({ bucket, ...(groupBy.length ? { group_by: groupBy.join(',') } : {}) }));
        const got = Object.fromEntries(
          Object.keys(expected).map((k) => [k, rows.reduce((s, r) => s + (r as unknown as Record<string, number>)[k]!, 0)]),
        );
        expect(got, `${bucket} ${groupBy}`).toEqual(expected);
        if (groupBy.includes('cluster')) expect(rows.some((r) => r.cluster === null)).toBe(true);
        if (groupBy.includes('project'))
          expect(rows.filter((r) => r.unmapped).every((r) => r.project_id === null || r.user_id === null || r.allocation_id === null)).toBe(true);
      }
    }
  });
});

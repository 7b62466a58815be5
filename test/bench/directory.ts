/**
 * Part 8: the directory. A full sync of 100,000 users, 20,000 projects and 40,000 allocations through the Worker
 * (`wrangler dev`, its own gateway, PostgreSQL) with the typed client's pushDirectory (batches of 5000, one full run
 * per kind), against node pg running INSERT … ON CONFLICT of the same rows in the same batches, in the same run;
 * then the same sync again (nothing changes). Then the balance of one allocation with 1,000,000 linked events:
 * GET /allocations/{id}/balance through the Worker, p50/p95, against the plain sum over its links and events.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { pushDirectory } from '../../src/client/index.ts';
import type { DirectoryAllocation, DirectoryProject, DirectoryUser } from '../../src/contracts/directory.ts';
import type { Database } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/local/migrate.ts';
import { allocationBalance } from '../../src/reporting/allocation-balances.ts';
import { uniqueId } from '../support/events.ts';
import { startWranglerDev } from '../support/wrangler-dev.ts';
import { percentile, spawnGateway } from './lib.ts';

/** BENCH_DIRECTORY_SCALE (default 1) shrinks every size for a quick look while iterating; figures are at 1. */
const SCALE = Number(process.env.BENCH_DIRECTORY_SCALE ?? 1);
const PROJECTS = Math.round(20_000 * SCALE);
const USERS = Math.round(100_000 * SCALE);
const ALLOCATIONS = Math.round(40_000 * SCALE);
const BATCH = 5000;
const LINKED_EVENTS = Math.round(1_000_000 * SCALE);
const BALANCE_READS = 200;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ADMIN = 'bench-admin-key-0123456789abcdef';

/** The export of `tag`: `size` projects, users and allocations (the figures' sizes unless told). */
function exportOf(tag: string, size = { projects: PROJECTS, users: USERS, allocations: ALLOCATIONS }) {
  const projects: DirectoryProject[] = Array.from({ length: size.projects }, (_, i) => ({ id: `${tag}-p${i}`, name: `${tag}-proj-${i}` }));
  const users: DirectoryUser[] = Array.from({ length: size.users }, (_, i) => ({
    id: `${tag}-u${i}`,
    username: `${tag}-user-${i}`,
    email: `${tag}-user-${i}@example.org`,
    oidc_sub: `${tag}-sub-${i}`,
    default_project_id: `${tag}-p${i % size.projects}`,
  }));
  const allocations: DirectoryAllocation[] = Array.from({ length: size.allocations }, (_, i) => ({
    id: `${tag}-a${i}`,
    project_id: `${tag}-p${i % size.projects}`,
    kind: 'hpc' as const,
    valid_from: i < size.projects ? '2025-01-01T00:00:00Z' : '2026-01-01T00:00:00Z',
    valid_to: i < size.projects ? '2026-01-01T00:00:00Z' : null,
    grants: { cpu_core_seconds: 3_600_000 + i, walltime_allocated: 1_000_000 },
    payload: { core_hours: 1000 },
  }));
  return { projects, users, allocations };
}

/** The same rows by node pg: INSERT … ON CONFLICT (directory_id), one statement per batch of 5000. */
async function directInsert(pool: pg.Pool, data: ReturnType<typeof exportOf>): Promise<number> {
  const t = performance.now();
  const batches = <T>(rows: T[]) => Array.from({ length: Math.ceil(rows.length / BATCH) }, (_, i) => rows.slice(i * BATCH, (i + 1) * BATCH));
  for (const b of batches(data.projects)) {
    await pool.query(
      `INSERT INTO projects (directory_id, name) SELECT id, name FROM jsonb_to_recordset($1::jsonb) AS x(id text, name text)
       ON CONFLICT (directory_id) DO UPDATE SET name = EXCLUDED.name`,
      [JSON.stringify(b)],
    );
  }
  for (const b of batches(data.users)) {
    await pool.query(
      `INSERT INTO users (directory_id, username, email, external_id, default_project_id)
       SELECT x.id, x.username, x.email, x.oidc_sub, p.id FROM jsonb_to_recordset($1::jsonb)
         AS x(id text, username text, email text, oidc_sub text, default_project_id text)
       LEFT JOIN projects p ON p.directory_id = x.default_project_id
       ON CONFLICT (directory_id) DO UPDATE SET username = EXCLUDED.username, email = EXCLUDED.email,
         external_id = EXCLUDED.external_id, default_project_id = EXCLUDED.default_project_id`,
      [JSON.stringify(b)],
    );
  }
  for (const b of batches(data.allocations)) {
    await pool.query(
      `INSERT INTO allocations (directory_id, project_id, kind, valid_from, valid_to, grants, payload)
       SELECT x.id, p.id, x.kind, x.valid_from, x.valid_to, x.grants, x.payload FROM jsonb_to_recordset($1::jsonb)
         AS x(id text, project_id text, kind text, valid_from timestamptz, valid_to timestamptz, grants jsonb, payload jsonb)
       JOIN projects p ON p.directory_id = x.project_id
       ON CONFLICT (directory_id) DO UPDATE SET project_id = EXCLUDED.project_id, valid_from = EXCLUDED.valid_from,
         valid_to = EXCLUDED.valid_to, grants = EXCLUDED.grants, payload = EXCLUDED.payload`,
      [JSON.stringify(b)],
    );
  }
  return (performance.now() - t) / 1000;
}

async function remove(pool: pg.Pool, tag: string) {
  await pool.query(`DELETE FROM allocations WHERE directory_id LIKE $1 || '-%'`, [tag]);
  await pool.query(`DELETE FROM users WHERE directory_id LIKE $1 || '-%'`, [tag]);
  await pool.query(`DELETE FROM projects WHERE directory_id LIKE $1 || '-%'`, [tag]);
  // What was removed is vacuumed away (untimed), so that no timed part, the Worker's or the baseline's, wades
  // through the dead rows of an earlier one: autovacuum may be off (it is on the benchmark machine), and each round
  // deletes 320,000 rows.
  await pool.query('VACUUM (ANALYZE) allocations, users, projects, directory_sync_runs');
}

/**
 * Before each timed part, untimed: what autovacuum and the checkpointer would have done by then on a database left
 * to itself. VACUUM (ANALYZE) the directory's tables (autovacuum is off on this machine: without it the rows a part
 * just wrote are read unhinted and without statistics), then CHECKPOINT, so that no timed part shares the two cores
 * and the disk with the flushing of an earlier part's writes: the baseline and the Worker alike.
 */
async function settle(pool: pg.Pool): Promise<void> {
  await pool.query('VACUUM (ANALYZE) allocations, users, projects, directory_sync_runs');
  await pool.query('CHECKPOINT');
}

const fmt = (n: number) => n.toFixed(2);

export async function benchDirectory(databaseUrl: string): Promise<void> {
  const gateway = await spawnGateway();
  await migrateDatabase({ databaseUrl, sqlUrl: gateway.sqlUrl });
  const worker = await startWranglerDev({
    DATABASE_URL: databaseUrl,
    DATABASE_HTTP_URL: gateway.sqlUrl,
    COLLECTOR_API_KEY: 'bench-collector-key-0123456789abcdef',
    ADMIN_API_KEY: ADMIN,
    READ_API_KEY: 'bench-read-key-0123456789abcdef',
  });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  // Each request's time (the client's fetch, body already written), by kind: printed after each timed sync.
  const requests: { kind: string; ms: number }[] = [];
  const timedFetch = async (request: Request) => {
    const t = performance.now();
    const response = await fetch(request);
    const body = await response.arrayBuffer();
    requests.push({ kind: new URL(request.url).pathname.split('/').at(-1)!, ms: performance.now() - t });
    return new Response(body, { status: response.status, headers: response.headers });
  };
  const perRequest = () => {
    const kinds = [...new Set(requests.map((r) => r.kind))].map((kind) => {
      const ms = requests.filter((r) => r.kind === kind).map((r) => r.ms);
      return `${kind} ${ms.length} × median ${fmt(percentile(ms, 50))} ms, last ${fmt(ms.at(-1)!)} ms`;
    });
    requests.length = 0;
    return kinds.join('; ');
  };
  const client = { baseUrl: worker.origin, adminKey: ADMIN, fetch: timedFetch };
  try {
    // Warm-up, untimed: the first requests after `wrangler dev` starts meet cold code in the Worker (its bundle, zod,
    // the driver) and in the gateway, which the baseline's node pg does not have. A tenth of the export (two
    // batches of users) goes through both sides, the Worker's twice as the rounds do, and is removed before round 1.
    const warm = { projects: Math.ceil(PROJECTS / 10), users: Math.ceil(USERS / 10), allocations: Math.ceil(ALLOCATIONS / 10) };
    const warmDirect = uniqueId('bdx');
    await directInsert(pool, exportOf(warmDirect, warm));
    await remove(pool, warmDirect);
    const warmWorker = uniqueId('bdy');
    await pushDirectory(client, exportOf(warmWorker, warm), { full: true });
    await pushDirectory(client, exportOf(warmWorker, warm), { full: true });
    await remove(pool, warmWorker);

    requests.length = 0;
    const rows: string[][] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const worked = uniqueId('bdw');
      const direct = uniqueId('bdd');
      await settle(pool);
      const base = await directInsert(pool, exportOf(direct));
      // The baseline's rows go before the Worker's sync: left in the same tables they are records the full list
      // does not name, and the sync would spend seconds marking 160,000 of them inactive — work that exists only
      // because the baseline ran first, and that the baseline itself never does.
      await remove(pool, direct);
      const data = exportOf(worked);
      await settle(pool);
      let t = performance.now();
      const first = await pushDirectory(client, data, { full: true });
      const sync = (performance.now() - t) / 1000;
      const syncRequests = perRequest();
      await settle(pool);
      t = performance.now();
      const again = await pushDirectory(client, data, { full: true });
      const resend = (performance.now() - t) / 1000;
      const resendRequests = perRequest();
      const stored = first.projects.inserted + first.users.inserted + first.allocations.inserted;
      const unchanged = again.projects.unchanged + again.users.unchanged + again.allocations.unchanged;
      rows.push([String(round), fmt(base), fmt(sync), fmt(sync / base), fmt(resend), fmt(resend / sync), `${stored}`, `${unchanged}`]);
      console.log(
        `round ${round}: direct INSERT … ON CONFLICT ${fmt(base)} s · Worker full sync ${fmt(sync)} s (${fmt(sync / base)}×, ${stored} inserted) · ` +
          `re-send ${fmt(resend)} s (${fmt(resend / sync)}× the first, ${unchanged} unchanged)\n` +
          `  requests of the full sync: ${syncRequests}\n  requests of the re-send: ${resendRequests}`,
      );
      await remove(pool, worked);
    }
    const col = (i: number) => rows.map((r) => Number(r[i]));
    const range = (i: number) => `${fmt(Math.min(...col(i)))}–${fmt(Math.max(...col(i)))}`;
    console.log(
      `full sync of ${USERS} users, ${PROJECTS} projects, ${ALLOCATIONS} allocations over ${ROUNDS} rounds: Worker ${range(2)} s ` +
        `(target < 60 s), ${range(3)}× direct (target < 2×); re-send ${range(5)}× the first (target < 0.5×)`,
    );

    // The balance of one allocation with 1,000,000 linked events (resolved links, 365 days).
    const tag = uniqueId('bdb');
    const data = {
      projects: [{ id: `${tag}-p`, name: `${tag}-proj` }],
      allocations: [
        { id: `${tag}-a`, project_id: `${tag}-p`, kind: 'hpc' as const, valid_from: '2025-01-01T06:00:00Z', grants: { cpu_core_seconds: 1e12 } },
      ],
    };
    await pushDirectory(client, data);
    const { rows: ids } = await pool.query<{ id: string; project_id: string }>(`SELECT id, project_id FROM allocations WHERE directory_id = $1`, [
      `${tag}-a`,
    ]);
    const { id: allocation, project_id: project } = ids[0]!;
    let t = performance.now();
    await pool.query(
      `INSERT INTO resource_usage_events (natural_key, schema_version, source, time_window_start, time_window_end, collected_at, metrics, identities, context)
       SELECT md5($1 || g), '1.0', 'pbs', '2025-01-01'::timestamptz + (g % 365) * interval '1 day' + (g % 24) * interval '1 hour',
         '2025-01-02'::timestamptz + (g % 365) * interval '1 day', '2026-01-01', jsonb_build_object('cpu_core_seconds', g % 100), '[]', jsonb_build_object('cluster', $1)
       FROM generate_series(1, ${LINKED_EVENTS}) g`,
      [tag],
    );
    await pool.query(
      `INSERT INTO resource_usage_event_links (event_id, event_time, project_id, allocation_id, status, reasons, rule_version)
       SELECT id, time_window_start, $2, $3, 'resolved', '[]', 2 FROM resource_usage_events WHERE context->>'cluster' = $1`,
      [tag, project, allocation],
    );
    await pool.query('ANALYZE resource_usage_event_links; ANALYZE allocation_charges');
    console.log(`balance: ${LINKED_EVENTS} events stored and linked (charges kept by the link trigger) in ${fmt((performance.now() - t) / 1000)} s`);
    const reads: number[] = [];
    let used = 0;
    for (let i = 0; i < BALANCE_READS; i++) {
      t = performance.now();
      const res = await fetch(`${worker.origin}/allocations/${encodeURIComponent(`${tag}-a`)}/balance`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      const body = (await res.json()) as { metrics: { cpu_core_seconds: { used: number } } };
      reads.push(performance.now() - t);
      used = body.metrics.cpu_core_seconds.used;
    }
    // The same query (allocationBalance) by node pg, no Worker, driver or gateway: what the database takes.
    const direct = drizzle(pool) as unknown as Database;
    const queried: number[] = [];
    for (let i = 0; i < BALANCE_READS; i++) {
      t = performance.now();
      await allocationBalance(direct, `${tag}-a`);
      queried.push(performance.now() - t);
    }
    const naive: number[] = [];
    let expected = 0;
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      const { rows: sum } = await pool.query<{ s: number }>(
        `SELECT sum((e.metrics->>'cpu_core_seconds')::float8) AS s FROM resource_usage_event_links l
         JOIN resource_usage_events e ON e.id = l.event_id AND e.time_window_start = l.event_time
         WHERE l.allocation_id = $1 AND l.status IN ('resolved', 'manual') AND l.event_time >= '2025-01-01T06:00:00Z'`,
        [allocation],
      );
      naive.push(performance.now() - t);
      expected = Number(sum[0]!.s);
    }
    console.log(
      `balance of one allocation with ${LINKED_EVENTS} linked events through the Worker (${BALANCE_READS} reads): p50 ${fmt(percentile(reads, 50))} ms, ` +
        `p95 ${fmt(percentile(reads, 95))} ms (target < 100 ms); the same query by node pg: p50 ${fmt(percentile(queried, 50))} ms, ` +
        `p95 ${fmt(percentile(queried, 95))} ms; the plain sum over links and events by node pg: ${fmt(Math.min(...naive))}–${fmt(Math.max(...naive))} ms; ` +
        `used ${used} ${used === expected ? '= the plain sum' : `≠ the plain sum ${expected}`}`,
    );
    await pool.query(`DELETE FROM resource_usage_event_links WHERE allocation_id = $1`, [allocation]);
    await pool.query(`DELETE FROM resource_usage_events WHERE context->>'cluster' = $1`, [tag]);
    await remove(pool, tag);
    await pool.query('VACUUM (ANALYZE) resource_usage_event_links, resource_usage_events, allocation_charges');
  } finally {
    await pool.end();
    await worker.stop();
    await gateway.stop();
  }
}

/**
 * Part 3: link mapping of 100,000 stored events on PostgreSQL through the real consumer
 * (consumeMapping: driver → gateway → PostgreSQL, one batch of 100 messages × 1000 ids, as the queue
 * delivers them), against an INSERT … SELECT by node pg writing the same number of link rows into
 * the same table, in the same run: once from the events with constant link values, once the very
 * rows mapping wrote (the pure cost of writing its output). Then a re-run (nothing changes).
 */
import { neonConfig } from '@neondatabase/serverless';
import pg from 'pg';
import { parseConfig } from '../../src/config.ts';
import type { MappingMessage } from '../../src/contracts/mapping-message.ts';
import { createDb } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/local/migrate.ts';
import { consumeMapping } from '../../src/mapping/consume-mapping.ts';
import type { Services } from '../../src/services.ts';
import { uniqueId } from '../support/events.ts';
import { spawnGateway } from './lib.ts';

const EVENTS = 100_000;
const USERS = 2_000;
const PROJECTS = 200;
const ROUNDS = 3;

/** Users, projects (two hpc allocations each, one OpenStack GitOps for every tenth) and events. */
export async function seed(pool: pg.Pool, tag: string): Promise<void> {
  await pool.query(`INSERT INTO projects (name) SELECT $1 || '-p' || g FROM generate_series(1, ${PROJECTS}) g`, [tag]);
  await pool.query(
    `INSERT INTO users (username, email, external_id, default_project_id)
     SELECT $1 || '-u' || g, $1 || '-u' || g || '@Example.org', $1 || '-sub' || g,
       (SELECT id FROM projects WHERE name = $1 || '-p' || (1 + g % ${PROJECTS}))
     FROM generate_series(1, ${USERS}) g`,
    [tag],
  );
  await pool.query(
    `INSERT INTO allocations (project_id, kind, valid_from, valid_to, payload)
     SELECT p.id, 'hpc', v.f, v.t, '{}' FROM projects p
     CROSS JOIN (VALUES ('2025-01-01'::timestamptz, '2026-01-01'::timestamptz), ('2026-01-01', NULL)) v(f, t)
     WHERE p.name LIKE $1 || '-p%'
     UNION ALL
     SELECT p.id, 'openstack', '2025-01-01', NULL,
       jsonb_build_object('openstack', jsonb_build_object('project_id', md5(p.name), 'project_name', 'os-' || p.name))
     FROM projects p WHERE p.name LIKE $1 || '-p%0'`,
    [tag],
  );
  // 90 % PBS by username (some with _pbs_project_default, some unknown users or projects), 5 % by e-mail, 5 % OpenStack.
  await pool.query(
    `INSERT INTO resource_usage_events (natural_key, schema_version, source, time_window_start, time_window_end,
       collected_at, metrics, identities, context)
     SELECT md5($1 || g), '1.0', CASE WHEN g % 20 = 0 THEN 'openstack' ELSE 'pbs' END,
       '2025-10-01'::timestamptz + (g % 180) * interval '1 day', '2025-10-02'::timestamptz + (g % 180) * interval '1 day',
       '2026-05-01', '{"cpu_time_seconds": 3600}',
       CASE WHEN g % 20 = 1 THEN jsonb_build_array(jsonb_build_object('scheme', 'user_email', 'value', upper($1) || '-U' || (g % ${USERS} + 1) || '@EXAMPLE.ORG'))
            ELSE jsonb_build_array(jsonb_build_object('scheme', 'perun_username', 'value', $1 || '-u' || (g % ${USERS + 50} + 1), 'authority', 'bench')) END,
       jsonb_build_object('cluster', $1, 'jobname', 'daily', 'project',
         CASE WHEN g % 20 = 0 THEN 'os-' || $1 || '-p' || (10 * (1 + g % ${PROJECTS / 10}))
              WHEN g % 10 = 3 THEN '_pbs_project_default'
              ELSE $1 || '-p' || (g % ${PROJECTS + 5} + 1) END)
     FROM generate_series(1, ${EVENTS}) g`,
    [tag],
  );
}

function fakeBatch(ids: string[]): MessageBatch<unknown> & { outcome: () => { acked: number; retried: number } } {
  let acked = 0;
  let retried = 0;
  const messages = Array.from({ length: Math.ceil(ids.length / 1000) }, (_, i) => ({
    id: `bench-${i}`,
    timestamp: new Date(),
    attempts: 1,
    body: { kind: 'events', event_ids: ids.slice(i * 1000, (i + 1) * 1000) } satisfies MappingMessage,
    ack: () => void acked++,
    retry: () => void retried++,
  }));
  return {
    queue: 'zeus-mapping',
    messages,
    ackAll: () => undefined,
    retryAll: () => undefined,
    outcome: () => ({ acked, retried }),
  } as unknown as MessageBatch<unknown> & { outcome: () => { acked: number; retried: number } };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchMapping(databaseUrl: string): Promise<Record<string, number>> {
  const gateway = await spawnGateway();
  await migrateDatabase({ databaseUrl, sqlUrl: gateway.sqlUrl });
  neonConfig.fetchEndpoint = gateway.sqlUrl;
  const config = parseConfig({
    DATABASE_URL: databaseUrl,
    DATABASE_HTTP_URL: gateway.sqlUrl,
    COLLECTOR_API_KEY: 'bench-collector-key-0123456789abcdef',
    ADMIN_API_KEY: 'bench-admin-key-0123456789abcdef',
  });
  const services = { config, db: createDb(config) } as Services;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const tag = uniqueId('benchmap');
  const events = `SELECT id FROM resource_usage_events WHERE context->>'cluster' = $1`;
  const clearLinks = () => pool.query(`DELETE FROM resource_usage_event_links WHERE event_id IN (${events})`, [tag]);
  const log = console.info;
  try {
    const t = performance.now();
    await seed(pool, tag);
    await pool.query('ANALYZE resource_usage_events; ANALYZE users; ANALYZE projects; ANALYZE allocations');
    console.log(`seeded ${EVENTS} events, ${USERS} users, ${PROJECTS} projects in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const ids = (await pool.query<{ id: string }>(events, [tag])).rows.map((r) => r.id);

    // Each write starts from the same state: no links for these events, dead rows vacuumed.
    const clean = async () => {
      await clearLinks();
      await pool.query('VACUUM resource_usage_event_links');
    };
    const timed = async (fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      return (performance.now() - t0) / 1000;
    };
    const copy = `bench_links_${tag.replace(/\W/g, '_')}`;
    const naive: number[] = [];
    const same: number[] = [];
    const mapped: number[] = [];
    const rerun: number[] = [];
    let statuses = '';
    console.info = () => undefined; // the consumer's one log line per batch
    for (let round = 0; round < ROUNDS; round++) {
      await clean();
      // The same input as mapping: the events of these ids.
      naive.push(
        await timed(() =>
          pool.query(
            `INSERT INTO resource_usage_event_links (event_id, event_time, status, reasons, rule_version)
         SELECT id, time_window_start, 'unresolved', '[]', 0 FROM resource_usage_events WHERE id = ANY($1::uuid[])`,
            [ids],
          ),
        ),
      );
      await clean();
      const batch = fakeBatch(ids);
      mapped.push(await timed(() => consumeMapping(batch, services)));
      if (batch.outcome().acked !== batch.messages.length) throw new Error(`mapping: ${JSON.stringify(batch.outcome())}`);
      rerun.push(await timed(() => consumeMapping(fakeBatch(ids), services)));
      if (round === 0) {
        const { rows } = await pool.query(
          `SELECT status, count(*)::int AS n FROM resource_usage_event_links WHERE event_id IN (${events}) GROUP BY status ORDER BY status`,
          [tag],
        );
        statuses = rows.map((r) => `${r.status} ${r.n}`).join(', ');
        await pool.query(`CREATE TABLE ${copy} AS SELECT * FROM resource_usage_event_links WHERE event_id IN (${events})`, [tag]);
      }
      await clean();
      same.push(await timed(() => pool.query(`INSERT INTO resource_usage_event_links SELECT * FROM ${copy}`)));
    }
    await pool.query(`DROP TABLE IF EXISTS ${copy}`);
    console.info = log;
    const [n, w, m, r] = [median(naive), median(same), median(mapped), median(rerun)];
    const line = (label: string, secs: number, unit: string) =>
      console.log(`${label.padEnd(62)} ${(EVENTS / secs).toFixed(0).padStart(7)} ${unit}  ${secs.toFixed(2)} s`);
    console.log(`median of ${ROUNDS} rounds, ${EVENTS} events (${statuses})`);
    line('INSERT … SELECT from the same events, constant link values (node pg)', n, 'rows/s  ');
    line('INSERT … SELECT of the very link rows mapping wrote (node pg)', w, 'rows/s  ');
    line('mapping: consumeMapping, 100 messages × 1000 ids → gateway → PG', m, 'events/s');
    line('re-run over the same events (nothing changes, nothing written)', r, 'events/s');
    console.log(`ratio mapping/INSERT … SELECT: ${(n / m).toFixed(2)} (constant values), ${(w / m).toFixed(2)} (same rows); target ≥ 0.5`);
    console.log(`${EVENTS} events mapped in ${m.toFixed(2)} s (target < 10 s)`);
    return { naiveRowsPerSecond: EVENTS / n, sameRowsPerSecond: EVENTS / w, mappedPerSecond: EVENTS / m, rerunPerSecond: EVENTS / r, ratio: n / m };
  } finally {
    console.info = log;
    await clearLinks().catch(() => undefined);
    await pool.query(`DELETE FROM resource_usage_events WHERE context->>'cluster' = $1`, [tag]).catch(() => undefined);
    await pool.query(`DELETE FROM users WHERE username LIKE $1 || '-u%'`, [tag]).catch(() => undefined);
    await pool.query(`DELETE FROM projects WHERE name LIKE $1 || '-p%'`, [tag]).catch(() => undefined);
    await pool.end();
    await gateway.stop();
  }
}

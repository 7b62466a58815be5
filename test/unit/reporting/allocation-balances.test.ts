import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { PGlite as TimescalePGlite } from 'pglite-timescaledb';
import { timescaledb } from 'pglite-timescaledb/timescaledb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { UsageEventSchema } from '../../../src/contracts/usage-event.ts';
import { createDb, type Database } from '../../../src/db/client.ts';
import { upsertEvents } from '../../../src/db/queries/usage-events.ts';
import { naturalKeyText } from '../../../src/ingest/natural-key.ts';
import { type Gateway, startGateway } from '../../../src/local/gateway/server.ts';
import { mapEvents } from '../../../src/mapping/map-events.ts';
import { allocationBalance, allocationShares } from '../../../src/reporting/allocation-balances.ts';
import { makeEvent, uniqueId } from '../../support/events.ts';
import { migrationStatements } from '../../support/migrations.ts';

/**
 * Balances and the per-day charges the link triggers keep, on both kinds of event table: a TimescaleDB
 * hypertable (the TimescaleDB build of PGlite) and the plain table of the test database.
 */
const TIMESCALE_URL = 'postgresql://zeus@pglite:15434/zeus';
let gateway: Gateway;
const backends: Record<string, Database> = {};

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    pglite: { create: async () => (await TimescalePGlite.create({ extensions: { timescaledb } })) as unknown as PGlite },
  });
  const timescale = createDb({ DATABASE_URL: TIMESCALE_URL, DATABASE_HTTP_URL: gateway.sqlUrl });
  // As in test/unit/reporting/usage-bucketing.test.ts: a harmless first statement, and "public". removed.
  await timescale.$client.query('SELECT 1');
  for (const statement of migrationStatements(/^000[0-5]_/)) await timescale.$client.query(statement.replaceAll('"public".', ''));
  const { rows } = await timescale.execute<{ n: number }>(
    sql`SELECT count(*)::int AS n FROM timescaledb_information.hypertables WHERE hypertable_name = 'resource_usage_events'`,
  );
  expect(rows).toEqual([{ n: 1 }]);
  backends.timescale = timescale;
  backends.plain = createDb({ DATABASE_URL: inject('databaseUrl'), DATABASE_HTTP_URL: inject('gatewaySqlUrl') });
}, 120_000);
afterAll(() => gateway?.close());

async function directory(db: Database) {
  const tag = uniqueId('bal');
  const { rows } = await db.execute<{ project: string; allocation: string }>(sql`
    WITH p AS (INSERT INTO projects (name, directory_id) VALUES (${tag}, ${`p-${tag}`}) RETURNING id),
    u AS (INSERT INTO users (username) VALUES (${tag})),
    a AS (INSERT INTO allocations (project_id, kind, valid_from, valid_to, grants, directory_id)
      SELECT id, 'hpc', '2026-01-01T00:00:00Z', '2026-03-01T00:00:00Z', '{"cpu_core_seconds": 10000, "walltime_allocated": 100}', ${`a-${tag}`} FROM p
      RETURNING id)
    SELECT (SELECT id::text FROM p) AS project, (SELECT id::text FROM a) AS allocation`);
  return { tag, ...rows[0]! };
}

async function store(db: Database, events: ReturnType<typeof makeEvent>[]) {
  const keyed = events.map((e, index) => {
    const event = UsageEventSchema.parse(e);
    return { index, event, keyText: naturalKeyText(event) };
  });
  return (await upsertEvents(db, keyed)).map((o) => o.id!);
}

const charges = async (db: Database, allocation: string) =>
  (
    await db.execute<{ day: string; events: number; cpu: number }>(sql`
      SELECT day::text, events, cpu_core_seconds AS cpu FROM allocation_charges WHERE allocation_id = ${allocation} ORDER BY day`)
  ).rows;

describe.each(['timescale', 'plain'])('allocation balances (%s)', (name) => {
  it('the link triggers keep per-day charges; mapping re-sums a day whose event came again with new metrics', async () => {
    const db = backends[name]!;
    const { tag, allocation } = await directory(db);
    const identities = [{ scheme: 'perun_username' as const, value: tag }];
    // Days 0 and 40 fall in different 30-day chunks of the hypertable; day 70 is after the validity.
    const events = [0, 0, 40, 70].map((day, i) =>
      makeEvent({
        project: tag,
        day,
        identities,
        context: { cluster: 'c', project: tag, jobname: `j${i}` },
        metrics: { cpu_core_seconds: 100 * (i + 1), walltime_allocated: 1 },
      }),
    );
    const ids = await store(db, events);
    expect(await mapEvents(db, { eventIds: ids, ranges: [] })).toMatchObject({ inserted: 4, resolved: 3, partial: 1 });
    expect(await charges(db, allocation)).toEqual([
      { day: '2026-01-01', events: 2, cpu: 300 },
      { day: '2026-02-10', events: 1, cpu: 300 },
    ]);
    expect(await allocationBalance(db, `a-${tag}`)).toMatchObject({
      metrics: {
        cpu_core_seconds: { granted: 10000, used: 600, remaining: 9400, used_share: 0.06 },
        walltime_allocated: { granted: 100, used: 3, remaining: 97, used_share: 0.03 },
      },
    });

    // Collected again, newer, with new figures: the link does not change, the charge does.
    const again = { ...events[2]!, collected_at: '2026-06-01T00:00:00Z', metrics: { cpu_core_seconds: 1000, walltime_allocated: 1 } };
    const [sameId] = await store(db, [again]);
    expect(sameId).toBe(ids[2]);
    expect(await mapEvents(db, { eventIds: [sameId!], ranges: [] })).toMatchObject({ unchanged: 1 });
    expect(await charges(db, allocation)).toEqual([
      { day: '2026-01-01', events: 2, cpu: 300 },
      { day: '2026-02-10', events: 1, cpu: 1000 },
    ]);

    // A link deleted, or no longer charging (a manual link elsewhere), takes its usage out of the day.
    await db.execute(sql`DELETE FROM resource_usage_event_links WHERE event_id = ${ids[0]}`);
    await db.execute(sql`UPDATE resource_usage_event_links SET status = 'manual', allocation_id = NULL WHERE event_id = ${ids[2]}`);
    expect(await charges(db, allocation)).toEqual([{ day: '2026-01-01', events: 1, cpu: 200 }]);

    const shares = (await allocationShares(db, { activeOnly: true })).filter((s) => s.allocation_id === `a-${tag}`);
    expect(shares).toEqual([
      { allocation_id: `a-${tag}`, project_id: `p-${tag}`, metric: 'cpu_core_seconds', granted: 10000, used: 200, used_share: 0.02 },
      { allocation_id: `a-${tag}`, project_id: `p-${tag}`, metric: 'walltime_allocated', granted: 100, used: 1, used_share: 0.01 },
    ]);
    await db.execute(sql`UPDATE allocations SET active = false WHERE id = ${allocation}`);
    expect((await allocationShares(db, { activeOnly: true })).filter((s) => s.allocation_id === `a-${tag}`)).toEqual([]);
    expect((await allocationShares(db)).filter((s) => s.allocation_id === `a-${tag}`)).toHaveLength(2);
  });
});

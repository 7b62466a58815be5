/**
 * Spec §3.9 / §3.11 / §8: no session state survives a request, concurrent requests all succeed,
 * a large result matches node-postgres, and an over-10-MiB result is refused with 507.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { backends, caught, driverFor, expectSameAsPg, type Harness, startHarness, uid } from '../../support/gateway-harness.ts';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness?.close();
});

describe.each(backends)('sessions and limits through the gateway on $name', (backend) => {
  const sql = driverFor(backend);
  let ref: pg.Client;

  beforeAll(async () => {
    ref = await harness.reference(backend);
  });

  it('SET TIME ZONE in one request does not leak into the next (§8.20)', async () => {
    await sql.query(`SET TIME ZONE 'America/New_York'`);
    expect(await sql`SHOW TIME ZONE`).toEqual([{ TimeZone: 'UTC' }]);
    expect(await sql`SELECT '2024-01-02 03:04:05+00'::timestamptz::text AS t`).toEqual([{ t: '2024-01-02 03:04:05+00' }]);
  });

  it('a SET inside a batch does not leak either, and pinned settings hold', async () => {
    const [, inside] = await sql.transaction([sql`SET IntervalStyle = 'iso_8601'`, sql`SELECT '1 day'::interval::text AS i`]);
    expect(inside).toEqual([{ i: 'P1D' }]);
    expect(
      await sql`SELECT current_setting('IntervalStyle') AS i, current_setting('DateStyle') AS d,
        current_setting('bytea_output') AS b, current_setting('TimeZone') AS tz`,
    ).toEqual([{ i: 'postgres', d: 'ISO, MDY', b: 'hex', tz: 'UTC' }]);
  });

  it('a temp table, a prepared statement and an advisory lock are gone in the next request', async () => {
    const tmp = `tmp_${uid()}`;
    const stmt = `stmt_${uid()}`;
    await sql.query(`CREATE TEMP TABLE ${tmp} (n int)`);
    await sql.query(`PREPARE ${stmt} AS SELECT 1`);
    const lockKey = 1 + Math.floor(Math.random() * 2 ** 30);
    await sql.query('SELECT pg_advisory_lock($1)', [lockKey]);
    expect(await sql`SELECT to_regclass(${tmp}) AS t`).toEqual([{ t: null }]);
    expect(await sql`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = ${stmt}`).toEqual([{ n: 0 }]);
    expect(await sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = ${lockKey} AND granted`).toEqual([{ n: 0 }]);
  });

  it('a BEGIN sent alone is rolled back: the next request is not inside a transaction (§8.23)', async () => {
    const begun = await sql.query('BEGIN', [], { fullResults: true });
    expect(begun).toMatchObject({ command: 'BEGIN', rowCount: null });
    // Inside a transaction left open, now() would still be the BEGIN's time, 150 ms ago.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await sql`SELECT statement_timestamp() - now() < interval '100 ms' AS fresh`).toEqual([{ fresh: true }]);
    // Neon's own check: BEGIN, then a failing statement, then SELECT 1 still works (no 25P02).
    await sql.query('BEGIN');
    expect(await caught(() => sql.query('SELEC garbage'))).toMatchObject({ code: '42601' });
    expect(await sql`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  });

  it('a row inserted after a lone BEGIN is committed and visible to node-postgres', async () => {
    const table = `t_begin_${uid()}`;
    await sql.query(`CREATE TABLE ${table} (n int)`);
    try {
      await sql.query('BEGIN');
      await sql.query(`INSERT INTO ${table} VALUES (1)`);
      await sql.query('ROLLBACK');
      expect((await ref.query(`SELECT n FROM ${table}`)).rows).toEqual([{ n: 1 }]);
    } finally {
      await sql.query(`DROP TABLE ${table}`);
    }
  });

  it(
    backend.name === 'postgres'
      ? 'a client abort cancels the running query (§8.27)'
      : 'a client abort: PGlite cannot cancel, the query completes and the next request works (§8.27)',
    async () => {
      const marker = `abort_${uid()}`;
      const seconds = backend.name === 'postgres' ? 10 : 1;
      const controller = new AbortController();
      const started = Date.now();
      const pending = caught(() => sql.query(`SELECT pg_sleep(${seconds}) /* ${marker} */`, [], { fetchOptions: { signal: controller.signal } }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      controller.abort(new Error('caller gave up'));
      const err = await pending;
      expect(err).toMatchObject({ name: 'NeonDbError' });
      expect(err.message).toMatch(/^Error connecting to database: /);
      expect(err.sourceError).toBeDefined();
      if (backend.name === 'postgres') {
        await vi.waitFor(
          async () => {
            const active = await ref.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1`, [
              `%${marker}%`,
            ]);
            expect(active.rows).toEqual([{ n: 0 }]);
          },
          { timeout: 3000, interval: 100 },
        );
        expect(Date.now() - started).toBeLessThan(5000);
      } else {
        expect(await sql`SELECT 1 AS ok`).toEqual([{ ok: 1 }]);
        expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      }
    },
  );

  it('20 concurrent requests all succeed (§8.30)', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sql`SELECT ${i}::int AS i, pg_backend_pid() AS pid, pg_sleep(0.02)::text AS slept`),
    );
    expect(results.map((r) => r[0]!.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const pids = new Set(results.map((r) => r[0]!.pid));
    if (backend.name === 'postgres') {
      // Pooled: requests in flight at the same time get their own sessions.
      expect(pids.size).toBeGreaterThan(1);
    } else {
      // PGlite is one session; requests are serialised on it.
      expect(pids.size).toBe(1);
    }
  });

  it('concurrent batches stay atomic and isolated from each other', async () => {
    const table = `t_conc_${uid()}`;
    await sql.query(`CREATE TABLE ${table} (k int PRIMARY KEY, v int NOT NULL)`);
    try {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          sql.transaction([
            sql`INSERT INTO ${sql.unsafe(table)} (k, v) VALUES (${i}, ${i})`,
            // Every odd batch fails on its second statement and must leave nothing behind.
            sql`INSERT INTO ${sql.unsafe(table)} (k, v) VALUES (${100 + i}, ${i % 2 ? null : i})`,
          ]),
        ),
      );
      expect(outcomes.map((o) => o.status)).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 ? 'rejected' : 'fulfilled')));
      const rows = await ref.query(`SELECT k FROM ${table} ORDER BY k`);
      expect(rows.rows.map((r) => r.k)).toEqual([0, 2, 4, 6, 8, 100, 102, 104, 106, 108]);
    } finally {
      await sql.query(`DROP TABLE ${table}`);
    }
  });

  it('a large result (5,000 rows of 1 KB) succeeds and matches node-postgres', async () => {
    const rows = await expectSameAsPg(sql, ref, `SELECT g AS id, repeat(md5(g::text), 32) AS payload, g * 1.5 AS n FROM generate_series(1, 5000) g`);
    expect(rows).toHaveLength(5000);
    expect(rows[4999].payload).toHaveLength(1024);
  });

  it('a result over 10 MiB is refused with HTTP 507 (§8.11), and the next request works', async () => {
    const err = await caught(() => sql`SELECT g, repeat('x', 1024) AS payload FROM generate_series(1, 12000) g`);
    expect(err.name).toBe('NeonDbError');
    expect(err.message).toMatch(/^Server error \(HTTP status 507\): /);
    expect(err.message).toContain('response is too large (max is 10485760 bytes)');
    expect(err.code).toBeUndefined();
    expect(await sql`SELECT 1 AS ok`).toEqual([{ ok: 1 }]);
  });

  it('a batch whose results together pass 10 MiB is refused with 507 and rolled back', async () => {
    const table = `t_big_${uid()}`;
    await sql.query(`CREATE TABLE ${table} (n int)`);
    try {
      const big = sql`SELECT repeat('y', 1024) AS payload FROM generate_series(1, 6000)`;
      const err = await caught(() => sql.transaction([sql`INSERT INTO ${sql.unsafe(table)} VALUES (1)`, big, big]));
      expect(err.message).toMatch(/^Server error \(HTTP status 507\)/);
      expect((await ref.query(`SELECT n FROM ${table}`)).rows).toEqual([]);
    } finally {
      await sql.query(`DROP TABLE ${table}`);
    }
  });
});

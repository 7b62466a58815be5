/**
 * Spec §8 error and transaction cases through the real driver: PostgreSQL errors must reach the
 * caller as NeonDbError with the same fields node-postgres reports on the same database, and
 * `sql.transaction()` batches must be all-or-nothing with the requested settings.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, caught, driverFor, expectSameAsPg, expectSameErrorAsPg, type Harness, startHarness, uid } from '../../support/gateway-harness.ts';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness?.close();
});

describe.each(backends)('errors and transactions through the gateway on $name', (backend) => {
  const sql = driverFor(backend);
  let ref: pg.Client;
  const parent = `t_parent_${uid()}`;
  const child = `t_child_${uid()}`;

  beforeAll(async () => {
    ref = await harness.reference(backend);
    await sql.query(`CREATE TABLE ${parent} (id int PRIMARY KEY, email text NOT NULL UNIQUE)`);
    await sql.query(`CREATE TABLE ${child} (id serial PRIMARY KEY, parent_id int NOT NULL REFERENCES ${parent} (id))`);
    await sql.query(`INSERT INTO ${parent} (id, email) VALUES (1, 'ann@example.com')`);
  });
  afterAll(async () => {
    await sql.query(`DROP TABLE IF EXISTS ${child}, ${parent}`);
  });

  it('syntax error: 42601 with position "1" (§8.13)', async () => {
    const err = await expectSameErrorAsPg(sql, ref, 'SELEC 1');
    expect(err).toMatchObject({ code: '42601', position: '1', message: 'syntax error at or near "SELEC"' });
    expect(err.severity).toBe('ERROR');
  });

  it('multi-statement text is refused with 42601 (§8.14)', async () => {
    const err = await expectSameErrorAsPg(sql, ref, 'SELECT 1; SELECT 2');
    expect(err).toMatchObject({ code: '42601', message: 'cannot insert multiple commands into a prepared statement' });
  });

  it('a parameter-count mismatch is a PostgreSQL error', async () => {
    const err = await expectSameErrorAsPg(sql, ref, 'SELECT $1::int AS a, $2::int AS b', ['1']);
    expect(err.code).toBe('08P01');
  });

  it('runtime errors keep their fields (division by zero, bad cast, missing table)', async () => {
    expect((await expectSameErrorAsPg(sql, ref, 'SELECT 1 / 0')).code).toBe('22012');
    expect((await expectSameErrorAsPg(sql, ref, 'SELECT $1::int', ['x'])).code).toBe('22P02');
    const missing = await expectSameErrorAsPg(sql, ref, `SELECT * FROM no_such_table_${uid()}`);
    expect(missing).toMatchObject({ code: '42P01', position: '15' });
    // An error after some rows were produced answers the error only.
    expect((await expectSameErrorAsPg(sql, ref, 'SELECT 10 / (3 - g) AS q FROM generate_series(1, 5) g')).code).toBe('22012');
  });

  it('an error inside PL/pgSQL carries internalQuery, internalPosition and where like pg', async () => {
    const err = await expectSameErrorAsPg(sql, ref, `DO $$ BEGIN EXECUTE 'SELEC 1'; END $$`);
    expect(err).toMatchObject({ code: '42601', internalQuery: 'SELEC 1', internalPosition: '1' });
    expect(err.position).toBeUndefined();
    expect(err.where).toMatch(/PL\/pgSQL function inline_code_block line 1 at EXECUTE/);
  });

  it('unique violation: 23505 with detail, constraint, table, schema (§8.16)', async () => {
    const err = await expectSameErrorAsPg(sql, ref, `INSERT INTO ${parent} (id, email) VALUES ($1, $2)`, [2, 'ann@example.com']);
    expect(err).toMatchObject({
      code: '23505',
      detail: 'Key (email)=(ann@example.com) already exists.',
      constraint: `${parent}_email_key`,
      table: parent,
      schema: 'public',
      routine: '_bt_check_unique',
    });
    expect(err.file).toEqual(expect.any(String));
    expect(err.line).toMatch(/^\d+$/);
    expect(err.hint).toBeUndefined();
  });

  it('foreign-key violation: 23503 with detail, constraint, table, schema (§8.16)', async () => {
    const err = await expectSameErrorAsPg(sql, ref, `INSERT INTO ${child} (parent_id) VALUES ($1)`, [999]);
    expect(err).toMatchObject({
      code: '23503',
      detail: `Key (parent_id)=(999) is not present in table "${parent}".`,
      constraint: `${child}_parent_id_fkey`,
      table: child,
      schema: 'public',
    });
  });

  it('a batch runs in order and returns one result per statement', async () => {
    const results = await sql.transaction(
      [
        sql`INSERT INTO ${sql.unsafe(parent)} (id, email) VALUES (${10}, ${'b@example.com'}) RETURNING id`,
        sql`UPDATE ${sql.unsafe(parent)} SET email = ${'b2@example.com'} WHERE id = ${10}`,
        sql`SELECT email FROM ${sql.unsafe(parent)} WHERE id = ${10}`,
        sql`DELETE FROM ${sql.unsafe(parent)} WHERE id = ${10}`,
      ],
      { fullResults: true },
    );
    expect(results.map((r) => [r.command, r.rowCount, r.rows])).toEqual([
      ['INSERT', 1, [{ id: 10 }]],
      ['UPDATE', 1, []],
      ['SELECT', 1, [{ email: 'b2@example.com' }]],
      ['DELETE', 1, []],
    ]);
  });

  it('a failed batch rolls back whole: the first statement left no row (§8.17)', async () => {
    const err = await caught(() =>
      sql.transaction([
        sql`INSERT INTO ${sql.unsafe(parent)} (id, email) VALUES (${20}, ${'c@example.com'})`,
        sql`INSERT INTO ${sql.unsafe(parent)} (id, email) VALUES (${21}, ${'ann@example.com'})`,
        sql`INSERT INTO ${sql.unsafe(parent)} (id, email) VALUES (${22}, ${'d@example.com'})`,
      ]),
    );
    expect(err).toMatchObject({ name: 'NeonDbError', code: '23505', constraint: `${parent}_email_key` });
    const direct = await ref.query(`SELECT id FROM ${parent} WHERE id >= 20`);
    expect(direct.rows).toEqual([]);
    expect(await sql`SELECT count(*)::int AS n FROM ${sql.unsafe(parent)} WHERE id >= 20`).toEqual([{ n: 0 }]);
  });

  it('a read-only batch refuses an INSERT with 25006 (§8.18)', async () => {
    const err = await caught(() =>
      sql.transaction([sql`INSERT INTO ${sql.unsafe(parent)} (id, email) VALUES (${30}, ${'e@example.com'})`], {
        readOnly: true,
      }),
    );
    expect(err).toMatchObject({ name: 'NeonDbError', code: '25006' });
    expect(err.message).toBe('cannot execute INSERT in a read-only transaction');
    expect((await ref.query(`SELECT id FROM ${parent} WHERE id = 30`)).rows).toEqual([]);
  });

  it('batch settings are visible inside the transaction (§8.19)', async () => {
    const settings = sql`SELECT current_setting('transaction_isolation') AS iso,
      current_setting('transaction_read_only') AS ro, current_setting('transaction_deferrable') AS def`;
    const [strict] = await sql.transaction([settings], {
      isolationLevel: 'Serializable',
      readOnly: true,
      deferrable: true,
    });
    expect(strict).toEqual([{ iso: 'serializable', ro: 'on', def: 'on' }]);
    const [repeatable] = await sql.transaction([settings], {
      isolationLevel: 'RepeatableRead',
      readOnly: false,
      deferrable: false,
    });
    expect(repeatable).toEqual([{ iso: 'repeatable read', ro: 'off', def: 'off' }]);
    const [plain] = await sql.transaction([settings]);
    const defaults = await ref.query(`SELECT current_setting('default_transaction_isolation') AS iso`);
    expect(plain).toEqual([{ iso: defaults.rows[0].iso, ro: 'off', def: 'off' }]);
  });

  it('an error raised at COMMIT (deferred constraint) is a 400 and nothing is kept', async () => {
    const table = `t_deferred_${uid()}`;
    await sql.query(`CREATE TABLE ${table} (id int, CONSTRAINT ${table}_u UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)`);
    try {
      const err = await caught(() =>
        sql.transaction([
          sql`INSERT INTO ${sql.unsafe(table)} VALUES (1)`,
          sql`INSERT INTO ${sql.unsafe(table)} VALUES (1)`,
          sql`SELECT count(*)::int AS n FROM ${sql.unsafe(table)}`,
        ]),
      );
      expect(err).toMatchObject({ name: 'NeonDbError', code: '23505', constraint: `${table}_u`, table });
      expect((await ref.query(`SELECT id FROM ${table}`)).rows).toEqual([]);
    } finally {
      await sql.query(`DROP TABLE ${table}`);
    }
  });

  it('a batch is one transaction: every statement sees the same now()', async () => {
    const [a, b] = await sql.transaction([
      sql`SELECT now() AS t, txid_current() AS x`,
      sql`SELECT now() AS t, txid_current() AS x, pg_sleep(0.01)::text AS slept`,
    ]);
    expect(a).toEqual([{ t: expect.any(Date), x: expect.any(String) }]);
    expect(b).toEqual([{ ...a![0], slept: '' }]);
  });

  it('an empty transaction returns [] (§8.29)', async () => {
    expect(await sql.transaction([])).toEqual([]);
  });

  it('batch values are parsed like single statements', async () => {
    const text = `SELECT '2024-01-02 03:04:05+00'::timestamptz AS tz, ARRAY[1.5]::numeric[] AS n, '{"a":1}'::jsonb AS j`;
    const [rows] = await sql.transaction([sql.query(text)]);
    expect(rows).toEqual((await ref.query(text)).rows);
    await expectSameAsPg(sql, ref, text);
  });

  it(
    backend.name === 'postgres'
      ? 'statement timeout cancels with 57014 (§8.12)'
      : 'statement timeout is not enforced by PGlite: the sleep completes (§6.4, §8.12)',
    async () => {
      const started = Date.now();
      const run = () =>
        sql.transaction([
          sql`SET LOCAL statement_timeout = '100ms'`,
          sql`SELECT current_setting('statement_timeout') AS timeout, pg_sleep(2)::text AS slept`,
        ]);
      if (backend.name === 'postgres') {
        const err = await caught(run);
        expect(err).toMatchObject({
          name: 'NeonDbError',
          code: '57014',
          message: 'canceling statement due to statement timeout',
        });
        expect(Date.now() - started).toBeLessThan(1500);
      } else {
        const [, rows] = await run();
        expect(rows).toEqual([{ timeout: '100ms', slept: '' }]);
        expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      }
      // The session that timed out (or slept) is usable again and kept no setting.
      expect(await sql`SELECT current_setting('statement_timeout') AS t`).toEqual([{ t: '0' }]);
    },
  );
});

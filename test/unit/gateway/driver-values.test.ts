/**
 * Spec §8 value cases: what the real @neondatabase/serverless driver returns through the gateway
 * must deep-equal what node-postgres returns for the same query on the same database.
 *
 * This file never constructs a drizzle instance: drizzle's neon-http driver swaps some of the
 * driver's global type parsers for identity functions (spec §4.4), which would make timestamps,
 * dates, intervals and numeric[] come back as strings here. See drizzle.test.ts for that.
 */
import { types } from '@neondatabase/serverless';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, driverFor, expectSameAsPg, type Harness, startHarness, uid } from '../../support/gateway-harness.ts';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness?.close();
});

it('uses the driver default type parsers (no drizzle instance in this file)', () => {
  expect(types.getTypeParser(1184, 'text')('2024-01-02 03:04:05+00')).toBeInstanceOf(Date);
  expect(types.getTypeParser(1231, 'text')('{1.5}')).toEqual([1.5]);
});

describe.each(backends)('driver values through the gateway on $name', (backend) => {
  const sql = driverFor(backend);
  let ref: pg.Client;
  const same = (text: string, params: unknown[] = [], opts: { arrayMode?: boolean } = {}) => expectSameAsPg(sql, ref, text, params, opts);

  beforeAll(async () => {
    ref = await harness.reference(backend);
  });

  it('empty result keeps its fields (§8.1)', async () => {
    expect(await same('SELECT 1 AS x WHERE false')).toEqual([]);
    const full = await sql.query('SELECT 1 AS x WHERE false', [], { fullResults: true });
    expect(full).toMatchObject({ command: 'SELECT', rowCount: 0, rows: [] });
    expect(full.fields).toEqual([expect.objectContaining({ name: 'x', dataTypeID: 23, format: 'text' })]);
  });

  it('DDL answers CREATE/DROP with no fields and a null rowCount (§8.2)', async () => {
    const [a, b] = [`t_ddl_${uid()}`, `t_ddl_${uid()}`];
    const shape = ({
      fields,
      rows,
      command,
      rowCount,
    }: Pick<pg.QueryResult, 'fields' | 'rows' | 'command'> & {
      rowCount: number | null;
    }) => ({ fields, rows, command, rowCount });
    const created = await sql.query(`CREATE TABLE ${a} (n int)`, [], { fullResults: true });
    expect(shape(created)).toEqual(shape(await ref.query(`CREATE TABLE ${b} (n int)`)));
    expect(shape(created)).toEqual({ fields: [], rows: [], command: 'CREATE', rowCount: null });
    const dropped = await sql.query(`DROP TABLE ${b}`, [], { fullResults: true });
    expect(shape(dropped)).toEqual(shape(await ref.query(`DROP TABLE ${a}`)));
    expect(dropped.command).toBe('DROP');
  });

  it('empty query text gives an empty result (§8.15)', async () => {
    const full = await sql.query('', [], { fullResults: true });
    expect(full).toMatchObject({ fields: [], rows: [], command: '', rowCount: null });
  });

  it('NULLs of several types (§8.3)', async () => {
    const rows = await same('SELECT NULL AS a, NULL::int AS b, NULL::jsonb AS c, NULL::text[] AS d, NULL::timestamptz AS e, NULL::bytea AS f');
    expect(rows).toEqual([{ a: null, b: null, c: null, d: null, e: null, f: null }]);
  });

  it('jsonb and json, including "str" and null documents (§8.4)', async () => {
    const rows = await same(
      `SELECT '{"a": [1, 2, {"b": null}]}'::jsonb AS jb, '{"a":1,  "b" : [true]}'::json AS j,
              '"str"'::jsonb AS s, 'null'::jsonb AS n, '3.25'::jsonb AS num, '[1,"x"]'::json AS arr`,
    );
    expect(rows).toEqual([{ jb: { a: [1, 2, { b: null }] }, j: { a: 1, b: [true] }, s: 'str', n: null, num: 3.25, arr: [1, 'x'] }]);
  });

  it('timestamptz, timestamp, date, time, interval and infinities (§8.5)', async () => {
    const rows = await same(
      `SELECT '2024-01-02 03:04:05.678+00'::timestamptz AS tz, '2024-06-01 12:00:00+05:30'::timestamptz AS tz2,
              '2024-01-02 03:04:05.678'::timestamp AS ts, '2024-01-02'::date AS d, '03:04:05'::time AS t,
              '03:04:05.5+02'::timetz AS ttz, '1 day 02:03:04'::interval AS i,
              '-1 year -2 mons +3 days -04:05:06.5'::interval AS ni, 'infinity'::timestamptz AS inf,
              '-infinity'::timestamptz AS ninf, 'infinity'::timestamp AS tsinf, 'infinity'::date AS dinf,
              '-infinity'::date AS dninf`,
    );
    const r = rows[0];
    expect(r.tz).toEqual(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)));
    expect(r.tz2).toEqual(new Date(Date.UTC(2024, 5, 1, 6, 30)));
    expect(r.ts).toBeInstanceOf(Date);
    expect(r.d).toBeInstanceOf(Date);
    expect(r.t).toBe('03:04:05');
    expect({ ...r.i }).toEqual({ days: 1, hours: 2, minutes: 3, seconds: 4 });
    expect([r.inf, r.ninf, r.tsinf, r.dinf, r.dninf]).toEqual([Infinity, -Infinity, Infinity, Infinity, -Infinity]);
  });

  it('BC dates and timestamps (§8.28)', async () => {
    const rows = await same(
      `SELECT '0001-01-01 BC'::date AS d, '0044-03-15 12:00:00 BC'::timestamp AS ts,
              '0100-01-01 00:00:00+00 BC'::timestamptz AS tz, '4713-01-01 BC'::date AS oldest`,
    );
    expect(rows[0].d.getFullYear()).toBeLessThanOrEqual(0);
    expect(rows[0].tz.getUTCFullYear()).toBe(-99);
  });

  it('numeric, bigint, floats with NaN/Infinity, and money (§8.6)', async () => {
    const rows = await same(
      `SELECT '1.50'::numeric AS n, 9007199254740993::int8 AS big, 'NaN'::float8 AS nan, 'Infinity'::float8 AS inf,
              '-Infinity'::float4 AS ninf, 1.1::float4 AS f4, 0.1::float8 AS f8, 'NaN'::numeric AS nnan,
              'Infinity'::numeric AS ninfn, '12.34'::money AS m, 32767::int2 AS small, 42::oid AS o`,
    );
    expect(rows[0]).toMatchObject({ n: '1.50', big: '9007199254740993', inf: Infinity, ninf: -Infinity, m: '$12.34' });
    expect(rows[0].nan).toBeNaN();
  });

  it('arrays: NULLs, quoting, 2-D, empty, jsonb, numeric, int8, bool, date (§8.7)', async () => {
    const rows = await same(
      `SELECT ARRAY[1,2,NULL]::int[] AS ints, ARRAY['a','b,c','"q"',NULL,'NULL','x y','back\\slash']::text[] AS texts,
              '{{1,2},{3,4}}'::int[] AS grid, '{}'::int[] AS empty, ARRAY['{"x":1}'::jsonb, 'null'] AS jsons,
              ARRAY[1.5, 2.25]::numeric[] AS nums, ARRAY[1, 9007199254740993]::int8[] AS bigs,
              ARRAY[true, false, NULL] AS bools, ARRAY['2024-01-02'::date, 'infinity'] AS dates,
              ARRAY['2024-01-02 03:04:05+00'::timestamptz] AS tzs, ARRAY['1 day'::interval] AS ivs,
              ARRAY['\\x01ff'::bytea] AS bytes, ARRAY[1.5::float8, 'NaN'] AS floats, '[0:1]={7,8}'::int[] AS bounded`,
    );
    expect(rows[0]).toMatchObject({
      ints: [1, 2, null],
      texts: ['a', 'b,c', '"q"', null, 'NULL', 'x y', 'back\\slash'],
      grid: [
        [1, 2],
        [3, 4],
      ],
      empty: [],
      jsons: [{ x: 1 }, null],
      nums: [1.5, 2.25],
      bigs: ['1', '9007199254740993'],
      bools: [true, false, null],
    });
    expect(rows[0].dates[0]).toBeInstanceOf(Date);
  });

  it('bytea out, and Buffer params in (§8.8)', async () => {
    const rows = await same(`SELECT '\\xdeadbeef'::bytea AS b, '\\x'::bytea AS e, 'a\\000b'::bytea AS esc`);
    expect(rows[0].b).toEqual(Buffer.from('deadbeef', 'hex'));
    expect(rows[0].e).toEqual(Buffer.alloc(0));
    const buf = Buffer.from([1, 2, 255, 0, 92]);
    // The tagged template appends ::bytea after a Buffer's placeholder (§2.5).
    const viaTemplate = await sql`SELECT ${buf} AS b, octet_length(${buf}) AS n`;
    const direct = await ref.query('SELECT $1::bytea AS b, octet_length($2::bytea) AS n', [buf, buf]);
    expect(viaTemplate).toEqual(direct.rows);
    expect(viaTemplate).toEqual([{ b: buf, n: 5 }]);
    await same('SELECT $1::bytea AS b', [new Uint8Array([7, 8, 9])]);
  });

  it('bigint, Date, object, array, boolean, number and null params (§8.9)', async () => {
    const when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    const rows = await same(
      `SELECT $1::int8 AS big, $2::timestamptz AS at, $3::jsonb AS obj, $4::int[] AS arr, $5::text[] AS texts,
              $6::int[] AS grid, $7::bool AS yes, $8::float8 AS num, $9::text AS nothing, $10::text AS undef,
              $11 AS untyped, $12 * 1 AS inferred, $13::date AS day`,
      [
        123n,
        when,
        { k: 'v', n: [1, null] },
        [1, 2, 3],
        ['a"b', 'c,d', null, 'NULL'],
        [
          [1, 2],
          [3, 4],
        ],
        true,
        1.5,
        null,
        undefined,
        42,
        '42',
        new Date(2024, 5, 7),
      ],
    );
    expect(rows[0]).toMatchObject({
      big: '123',
      at: when,
      obj: { k: 'v', n: [1, null] },
      arr: [1, 2, 3],
      texts: ['a"b', 'c,d', null, 'NULL'],
      yes: true,
      num: 1.5,
      nothing: null,
      undef: null,
      untyped: '42',
      inferred: 42,
    });
  });

  it('duplicate column names: the last one wins, array mode keeps both (§8.10)', async () => {
    expect(await same('SELECT 1 AS x, 2 AS x')).toEqual([{ x: 2 }]);
    expect(await same('SELECT 1 AS x, 2 AS x', [], { arrayMode: true })).toEqual([[1, 2]]);
  });

  it('other scalar types come back as pg returns them', async () => {
    await same(
      `SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '192.168.0.1/24'::inet AS ip, point(1, 2) AS p,
              circle '<(1,2),3>' AS c, ROW(1, 'x y') AS rec, true AS t, 'f'::bool AS f, 'abc'::varchar(5) AS v,
              'x'::char(3) AS ch, 'a fat cat'::tsvector AS tsv, '{"a":1}'::json::text AS jt, 7::int2 + 1 AS i2`,
    );
  });

  it('enum and enum[] columns report their real OIDs and come back as strings (§8.21)', async () => {
    const type = `mood_${uid()}`;
    await sql.query(`CREATE TYPE ${type} AS ENUM ('foo', 'bar')`);
    try {
      const rows = await same(`SELECT 'foo'::${type} AS e, ARRAY['foo', 'bar']::${type}[] AS ea`);
      expect(rows).toEqual([{ e: 'foo', ea: '{foo,bar}' }]);
      const full = await sql.query(`SELECT 'foo'::${type} AS e, ARRAY['foo']::${type}[] AS ea`, [], { fullResults: true });
      const oids = await ref.query('SELECT oid, typarray FROM pg_type WHERE typname = $1', [type]);
      expect(full.fields.map((f) => f.dataTypeID)).toEqual([oids.rows[0].oid, oids.rows[0].typarray]);
      expect(oids.rows[0].oid).toBeGreaterThan(16383);
    } finally {
      await sql.query(`DROP TYPE ${type}`);
    }
  });

  it('varchar(255) / numeric(12,2) typmods and table ids pass through in fields (§8.22)', async () => {
    const table = `t_typmod_${uid()}`;
    await sql.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, name varchar(255), amount numeric(12,2))`);
    try {
      await sql.query(`INSERT INTO ${table} (name, amount) VALUES ($1, $2)`, ['ann', '10.5']);
      await same(`SELECT id, name, amount FROM ${table}`);
      const full = await sql.query(`SELECT name, amount FROM ${table}`, [], { fullResults: true });
      expect(full.fields.map((f) => [f.dataTypeModifier, f.columnID])).toEqual([
        [259, 2],
        [786438, 3],
      ]);
      expect(full.fields[0]!.tableID).toBeGreaterThan(0);
      expect(full.rows).toEqual([{ name: 'ann', amount: '10.50' }]);
    } finally {
      await sql.query(`DROP TABLE ${table}`);
    }
  });

  it('unicode, emoji, control characters and a 1 MB text value (§8.26)', async () => {
    const odd = 'héllo ✓ 😀 \t\n\r\u0001\u001f "quote" \\ back\\slash \u2028 end';
    const rows = await same('SELECT $1::text AS t, length($1) AS n, $1 = $2 AS eq', [odd, odd]);
    expect(rows[0]).toEqual({ t: odd, n: [...odd].length, eq: true });
    const big = 'ab😀'.repeat(262_144); // 1 MiB of characters, 1.5 MiB of UTF-8 text
    const [echoed] = await sql.query('SELECT $1::text AS t', [big]);
    expect(echoed!.t === big).toBe(true);
    await same(`SELECT repeat('x€', 524288) AS t`);
  });
});

/**
 * drizzle-orm/neon-http through the gateway: builder queries, returning, rowCount, db.execute,
 * relational queries, db.batch (all-or-nothing), errors with `cause`, and the migrator.
 *
 * Creating a drizzle instance swaps the driver's global parsers for 1184, 1114, 1082, 1186, 1231,
 * 1115, 1185, 1187 and 1182 to identity (spec §4.4), for every neon() in this file. Value checks
 * against node-postgres with the DEFAULT parsers therefore live in driver-values.test.ts (vitest
 * runs each file in its own module graph); here the comparison gives node-postgres the same parsers.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neon, types } from '@neondatabase/serverless';
import { eq, relations, sql as dsql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/neon-http';
import { migrate } from 'drizzle-orm/neon-http/migrator';
import { date, integer, jsonb, numeric, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, caught, type Harness, startHarness, uid } from '../../support/gateway-harness.ts';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness?.close();
});

function schemaFor(id: string) {
  const users = pgTable(`d_users_${id}`, {
    id: serial('id').primaryKey(),
    email: text('email').notNull().unique(),
    name: text('name'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    born: date('born'),
    meta: jsonb('meta'),
    balance: numeric('balance', { precision: 12, scale: 2 }),
  });
  const posts = pgTable(`d_posts_${id}`, {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    title: text('title').notNull(),
  });
  const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));
  const postsRelations = relations(posts, ({ one }) => ({
    user: one(users, { fields: [posts.userId], references: [users.id] }),
  }));
  return { users, posts, usersRelations, postsRelations };
}

describe.each(backends)('drizzle-orm/neon-http through the gateway on $name', (backend) => {
  const id = uid();
  const schema = schemaFor(id);
  const { users, posts } = schema;
  const db = drizzle({ client: neon(backend.url), schema });
  let ref: pg.Client;

  beforeAll(async () => {
    ref = await harness.reference(backend);
    await db.execute(
      dsql.raw(`CREATE TABLE d_users_${id} (id serial PRIMARY KEY, email text NOT NULL UNIQUE,
      name text, created_at timestamptz NOT NULL DEFAULT now(), born date, meta jsonb, balance numeric(12,2))`),
    );
    await db.execute(
      dsql.raw(`CREATE TABLE d_posts_${id} (id serial PRIMARY KEY,
      user_id int NOT NULL REFERENCES d_users_${id} (id), title text NOT NULL)`),
    );
  });
  afterAll(async () => {
    await db.execute(dsql.raw(`DROP TABLE IF EXISTS d_posts_${id}, d_users_${id}`));
  });

  it('insert…returning gives typed values', async () => {
    const [ann] = await db
      .insert(users)
      .values({ email: 'ann@example.com', name: 'Ann', born: '2000-02-29', meta: { tags: ['a'], n: 1 }, balance: '10.5' })
      .returning();
    expect(ann).toMatchObject({ email: 'ann@example.com', born: '2000-02-29', meta: { tags: ['a'], n: 1 }, balance: '10.50' });
    expect(ann!.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(ann!.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('select matches what node-postgres reads from the same rows', async () => {
    const rows = await db.select().from(users).where(eq(users.email, 'ann@example.com'));
    const direct = await ref.query(`SELECT id, email, name, created_at, born::text AS born, meta, balance FROM d_users_${id} WHERE email = $1`, [
      'ann@example.com',
    ]);
    expect(rows).toEqual(direct.rows.map(({ created_at: createdAt, ...r }) => ({ ...r, createdAt })));
  });

  it('update and delete report rowCount', async () => {
    await db.insert(users).values([{ email: 'u1@example.com' }, { email: 'u2@example.com' }, { email: 'u3@example.com' }]);
    const updated = await db.update(users).set({ name: 'renamed' }).where(dsql`${users.email} like 'u%'`);
    expect(updated).toMatchObject({ command: 'UPDATE', rowCount: 3 });
    const deleted = await db.delete(users).where(eq(users.email, 'u3@example.com'));
    expect(deleted).toMatchObject({ command: 'DELETE', rowCount: 1 });
    const none = await db.delete(users).where(eq(users.email, 'nobody@example.com'));
    expect(none.rowCount).toBe(0);
  });

  it('db.execute returns the full result', async () => {
    const res = await db.execute(dsql`SELECT count(*)::int AS n, ${'x'}::text AS p FROM ${users}`);
    expect(res).toMatchObject({ command: 'SELECT', rowCount: 1, rows: [{ n: 3, p: 'x' }] });
    expect(res.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ['n', 23],
      ['p', 25],
    ]);
  });

  it('relational queries with `with` get nested json rows', async () => {
    const [ann] = await db.select({ id: users.id }).from(users).where(eq(users.email, 'ann@example.com'));
    await db.insert(posts).values([
      { userId: ann!.id, title: 'first' },
      { userId: ann!.id, title: 'second' },
    ]);
    const found = await db.query.users.findFirst({
      where: eq(users.id, ann!.id),
      with: { posts: { orderBy: (p, { asc }) => [asc(p.id)] } },
    });
    expect(found?.posts.map((p) => p.title)).toEqual(['first', 'second']);
    expect(found?.createdAt).toBeInstanceOf(Date);
  });

  it('a unique violation surfaces as err.cause.code 23505', async () => {
    const err = await caught(() => db.insert(users).values({ email: 'ann@example.com' }));
    expect(err.message).toMatch(/^Failed query: insert into "d_users_/);
    const cause = err.cause as Record<string, unknown>;
    expect(cause).toMatchObject({ name: 'NeonDbError', code: '23505', constraint: `d_users_${id}_email_key`, table: `d_users_${id}` });
  });

  it('a foreign-key violation surfaces as err.cause.code 23503', async () => {
    const err = await caught(() => db.insert(posts).values({ userId: 999_999, title: 'orphan' }));
    expect((err.cause as Record<string, unknown>).code).toBe('23503');
  });

  it('db.batch runs everything in one transaction and returns each result', async () => {
    const [inserted, counted, updated] = await db.batch([
      db.insert(users).values({ email: 'batch1@example.com' }).returning({ email: users.email }),
      db.select({ n: dsql<number>`count(*)::int` }).from(users),
      db.update(users).set({ name: 'b' }).where(eq(users.email, 'batch1@example.com')),
    ]);
    expect(inserted).toEqual([{ email: 'batch1@example.com' }]);
    expect(counted).toEqual([{ n: 4 }]);
    expect(updated).toMatchObject({ rowCount: 1 });
  });

  it('db.batch is all-or-nothing: a failing statement leaves no row from earlier ones', async () => {
    const err = await caught(() =>
      db.batch([db.insert(users).values({ email: 'batch2@example.com' }), db.insert(users).values({ email: 'ann@example.com' })]),
    );
    expect((err.cause as Record<string, unknown> | undefined)?.code ?? err.code).toBe('23505');
    expect((await ref.query(`SELECT id FROM d_users_${id} WHERE email = 'batch2@example.com'`)).rows).toEqual([]);
  });

  it('db.transaction() is refused by the neon-http driver itself', async () => {
    await expect(db.transaction(async () => undefined)).rejects.toThrow('No transactions support in neon-http driver');
  });

  it('after drizzle() the driver keeps those types as text, exactly as node-postgres given the same parsers', async () => {
    expect(types.getTypeParser(1184, 'text')('2024-01-02 03:04:05+00')).toBe('2024-01-02 03:04:05+00');
    const text = `SELECT '2024-01-02 03:04:05.678+00'::timestamptz AS tz, '2024-01-02 03:04:05'::timestamp AS ts,
      '2024-01-02'::date AS d, '1 day 02:03:04'::interval AS i, ARRAY[1.5]::numeric[] AS na,
      ARRAY['2024-01-02'::date] AS da, ARRAY['infinity'::timestamptz] AS tza, 42 AS n, '{"a":1}'::jsonb AS j`;
    const viaGateway = await neon(backend.url).query(text);
    expect(viaGateway).toEqual([
      {
        tz: '2024-01-02 03:04:05.678+00',
        ts: '2024-01-02 03:04:05',
        d: '2024-01-02',
        i: '1 day 02:03:04',
        na: '{1.5}',
        da: '{2024-01-02}',
        tza: '{infinity}',
        n: 42,
        j: { a: 1 },
      },
    ]);
    const direct = await ref.query({ text, types: { getTypeParser: types.getTypeParser } } as pg.QueryConfig);
    expect(viaGateway).toEqual(direct.rows);
  });

  it('the migrator applies breakpoint-separated statements once', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'gw-migrations-'));
    const migrationsSchema = `mig_${id}`;
    try {
      mkdirSync(join(folder, 'meta'));
      const entries = [{ idx: 0, version: '7', when: 1700000000000, tag: '0000_init', breakpoints: true }];
      writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'postgresql', entries }));
      writeFileSync(
        join(folder, '0000_init.sql'),
        `CREATE TABLE "${migrationsSchema}"."things" ("id" serial PRIMARY KEY, "label" text NOT NULL);\n` +
          `--> statement-breakpoint\nINSERT INTO "${migrationsSchema}"."things" ("label") VALUES ('seed');`,
      );
      await migrate(db, { migrationsFolder: folder, migrationsSchema });
      await migrate(db, { migrationsFolder: folder, migrationsSchema }); // already applied: no-op
      const things = await ref.query(`SELECT label FROM "${migrationsSchema}".things`);
      expect(things.rows).toEqual([{ label: 'seed' }]);
      const applied = await ref.query(`SELECT created_at FROM "${migrationsSchema}".__drizzle_migrations`);
      expect(applied.rows).toEqual([{ created_at: '1700000000000' }]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
      await db.execute(dsql.raw(`DROP SCHEMA IF EXISTS "${migrationsSchema}" CASCADE`));
    }
  });
});

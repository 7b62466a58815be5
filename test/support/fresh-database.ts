/**
 * An empty database behind a gateway, for tests that must see migrations applied from nothing:
 * with TEST_DATABASE_URL, a new PostgreSQL database beside it (dropped at the end); otherwise the
 * in-memory PGlite of a gateway of its own.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, type Database } from '../../src/db/client.ts';
import { EMBEDDED_DATABASE_URL, startGateway } from '../../src/local/gateway/server.ts';
import { migrateDatabase } from '../../src/local/migrate.ts';

export interface FreshDatabase {
  /** What the Worker would hold in DATABASE_URL (with a password, which the gateway ignores on loopback). */
  databaseUrl: string;
  /** The gateway's /sql endpoint (DATABASE_HTTP_URL). */
  sqlUrl: string;
  close(): Promise<void>;
}

export async function startFreshDatabase(): Promise<FreshDatabase> {
  const gateway = await startGateway({ port: 0, pglite: {}, log: () => undefined });
  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    const url = new URL(EMBEDDED_DATABASE_URL);
    url.password = 'not-a-real-password';
    return { databaseUrl: url.toString(), sqlUrl: gateway.sqlUrl, close: () => gateway.close() };
  }
  const url = new URL(base);
  const name = `${decodeURIComponent(url.pathname.slice(1))}_fresh_${randomBytes(4).toString('hex')}`;
  const admin = new URL(base);
  admin.pathname = '/postgres';
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE "${name}"`);
  url.pathname = `/${name}`;
  url.password = 'not-a-real-password';
  return {
    databaseUrl: url.toString(),
    sqlUrl: gateway.sqlUrl,
    async close() {
      await gateway.close();
      await run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

export type MigratedDatabase = FreshDatabase & { db: Database };

/** startFreshDatabase with the migrations applied, and the Worker's driver on it (through its gateway). */
export async function startMigratedDatabase(): Promise<MigratedDatabase> {
  const database = await startFreshDatabase();
  try {
    await migrateDatabase({ databaseUrl: database.databaseUrl, sqlUrl: database.sqlUrl });
  } catch (err) {
    await database.close();
    throw err;
  }
  return { ...database, db: createDb({ DATABASE_URL: database.databaseUrl, DATABASE_HTTP_URL: database.sqlUrl }) };
}

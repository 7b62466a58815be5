/**
 * Shared plumbing for the gateway conformance suite (test/unit/gateway/).
 *
 * Each test file starts its OWN gateway (in-memory PGlite plus, when TEST_DATABASE_URL is set,
 * the real PostgreSQL behind it), points the real `@neondatabase/serverless` driver at it, and
 * opens a node `pg` reference client on the SAME database so results can be compared:
 *   - PostgreSQL: a plain `pg.Client` on TEST_DATABASE_URL, with the gateway's pinned settings;
 *   - PGlite: a `pg.Client` whose socket is replaced by a stream into the gateway's own PGlite.
 */
import { randomBytes } from 'node:crypto';
import { neon, neonConfig, type NeonQueryFunction } from '@neondatabase/serverless';
import pg from 'pg';
import { expect } from 'vitest';
import { PINNED_SETTINGS } from '../../src/local/gateway/backend.ts';
import { EMBEDDED_DATABASE_URL, type Gateway, startGateway } from '../../src/local/gateway/server.ts';
import { pgliteStream } from './pglite-pg-stream.ts';

export type BackendName = 'pglite' | 'postgres';

export interface BackendCase {
  name: BackendName;
  /** The connection string the driver sends in Neon-Connection-String. */
  url: string;
}

/** PGlite always; PostgreSQL as well when TEST_DATABASE_URL is set. */
export const backends: BackendCase[] = [
  { name: 'pglite', url: EMBEDDED_DATABASE_URL },
  ...(process.env.TEST_DATABASE_URL ? [{ name: 'postgres' as const, url: process.env.TEST_DATABASE_URL }] : []),
];

/** A short random suffix for table and type names, so runs and files never collide. */
export function uid(): string {
  return randomBytes(5).toString('hex');
}

export interface Harness {
  gateway: Gateway;
  /** A reference node-postgres client for `backend`, opened on first use. */
  reference(backend: BackendCase): Promise<pg.Client>;
  close(): Promise<void>;
}

/**
 * Start a gateway on a free port, point the driver at it (neonConfig.fetchEndpoint is global, so
 * one gateway per test file serves every backend), and open reference clients lazily.
 */
export async function startHarness(): Promise<Harness> {
  const gateway = await startGateway({ port: 0, pglite: {}, log: () => undefined });
  neonConfig.fetchEndpoint = gateway.sqlUrl;
  // Start the in-memory PGlite now (seconds of initdb) rather than in the first test.
  await gateway.pglite.start();
  const clients = new Map<BackendName, Promise<pg.Client>>();

  const open = async (backend: BackendCase): Promise<pg.Client> => {
    let client: pg.Client;
    if (backend.name === 'pglite') {
      // The gateway's own PGlite: one session, whose settings the gateway pins after each request.
      const db = await gateway.pglite.start();
      client = new pg.Client({ stream: pgliteStream(db), user: 'postgres', database: 'postgres' });
    } else {
      const options = Object.entries(PINNED_SETTINGS)
        .map(([k, v]) => `-c ${k}=${v.replace(/ /g, '')}`)
        .join(' ');
      client = new pg.Client({ connectionString: backend.url, options });
    }
    await client.connect();
    return client;
  };

  return {
    gateway,
    reference(backend) {
      let c = clients.get(backend.name);
      if (!c) {
        c = open(backend);
        clients.set(backend.name, c);
      }
      return c;
    },
    async close() {
      for (const c of clients.values()) await (await c.catch(() => undefined))?.end();
      await gateway.close();
    },
  };
}

/** The real driver for `backend`, as an app would create it. */
export function driverFor(backend: BackendCase): NeonQueryFunction<false, false> {
  return neon(backend.url);
}

type Driver = NeonQueryFunction<false, false>;

/**
 * Run `text` with `params` through the driver (via the gateway, `fullResults`) and through the
 * node-postgres reference client on the same database (extended protocol, like the gateway), and
 * assert the JS rows, the `fields`, `command` and `rowCount` are deep-equal. Returns the rows.
 */
export async function expectSameAsPg(
  sql: Driver,
  ref: pg.Client,
  text: string,
  params: unknown[] = [],
  opts: { arrayMode?: boolean } = {},
  // biome-ignore lint/suspicious/noExplicitAny: rows of any query, each test reads the columns it asked for
): Promise<any[]> {
  const arrayMode = opts.arrayMode ?? false;
  const viaGateway = await sql.query(text, params, { fullResults: true, arrayMode });
  const direct = await ref.query({
    text,
    values: params,
    queryMode: 'extended',
    ...(arrayMode ? { rowMode: 'array' } : {}),
  } as pg.QueryConfig);
  expect(viaGateway.rows, `rows of ${text}`).toEqual(direct.rows);
  expect(viaGateway.fields, `fields of ${text}`).toEqual(direct.fields.map((f) => ({ ...f })));
  expect(viaGateway.command).toBe(direct.command ?? '');
  expect(viaGateway.rowCount).toBe(direct.rowCount);
  // biome-ignore lint/suspicious/noExplicitAny: as above
  return viaGateway.rows as any[];
}

/** The Postgres error fields NeonDbError copies from a 400 body (spec §4.3). */
export const ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

/**
 * Run a failing statement through the driver and through node-postgres, and assert the driver
 * throws a NeonDbError with the same message and the same 16 error fields. Returns it.
 */
export async function expectSameErrorAsPg(
  sql: Driver,
  ref: pg.Client,
  text: string,
  params: unknown[] = [],
): Promise<Record<string, unknown> & Error> {
  const viaGateway = await caught(() => sql.query(text, params));
  const direct = await caught(() => ref.query({ text, values: params, queryMode: 'extended' } as pg.QueryConfig));
  expect(viaGateway.name).toBe('NeonDbError');
  expect(direct.code, 'node-postgres should fail with a SQLSTATE').toMatch(/^[0-9A-Z]{5}$/);
  expect(viaGateway.message).toBe(direct.message);
  const pick = (e: Record<string, unknown>) => Object.fromEntries(ERROR_FIELDS.map((k) => [k, e[k]]));
  expect(pick(viaGateway)).toEqual(pick(direct));
  return viaGateway;
}

/** POST a raw body to the gateway, the way the driver does, for transport-level checks. */
export async function postSql(
  gateway: Gateway,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const res = await fetch(gateway.sqlUrl, {
    method: 'POST',
    headers: { 'Neon-Raw-Text-Output': 'true', 'Neon-Array-Mode': 'true', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

/** Run `fn` and return what it threw (fails the test if it did not throw). */
export async function caught(fn: () => Promise<unknown>): Promise<Record<string, unknown> & Error> {
  try {
    await fn();
  } catch (err) {
    return err as Record<string, unknown> & Error;
  }
  throw new Error('expected the call to throw, but it resolved');
}

import { neon, neonConfig, type NeonQueryFunction } from '@neondatabase/serverless';
import { drizzle, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import type { Config } from '../config.ts';

export type Database = NeonHttpDatabase<Record<string, never>> & { $client: NeonQueryFunction<false, false> };

type EndpointFn = (host: string, port: number | string, options?: { jwtAuth?: boolean }) => string;

/**
 * The driver takes its endpoint from one global setting. Route it per connection string instead,
 * so that clients built from different configurations in one isolate (tests, a second database)
 * each reach their own endpoint; anything not registered goes where Neon's default sends it.
 */
const endpoints = new Map<string, string>();
const neonDefault = neonConfig.fetchEndpoint as EndpointFn;
const endpointKey = (host: string, port: number | string) => `${host}:${port}`;

function registerEndpoint(databaseUrl: string, endpoint: string): void {
  const url = new URL(databaseUrl);
  endpoints.set(endpointKey(url.hostname, url.port), endpoint);
  if (neonConfig.fetchEndpoint === neonDefault || typeof neonConfig.fetchEndpoint !== 'function') {
    neonConfig.fetchEndpoint = ((host, port, options) => endpoints.get(endpointKey(host, port)) ?? neonDefault(host, port, options)) as EndpointFn;
  }
}

/** The only place the driver is configured. Build it once per isolate and configuration. */
export function createDb(config: Pick<Config, 'DATABASE_URL' | 'DATABASE_HTTP_URL'>): Database {
  if (config.DATABASE_HTTP_URL) registerEndpoint(config.DATABASE_URL, config.DATABASE_HTTP_URL);
  return drizzle({ client: neon(config.DATABASE_URL) }) as Database;
}

/**
 * True when an error means the database could not be reached (network, HTTP endpoint down or
 * overloaded, server shutting down), as opposed to a query the database rejected.
 * drizzle wraps driver errors: the driver's error is then its `cause`.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = driverError(err);
  if (!e) return false;
  if (e.code) return /^(08|53|57P0[1-3])/.test(e.code);
  return /^(Error connecting to database|Server error \(HTTP status 5)/.test(e.message ?? '');
}

/**
 * True when the database refused a value rather than the query (SQLSTATE class 22, data exception: a
 * timestamp out of range, a numeric overflow, a bad character; class 54, program limit exceeded): the
 * request's fault, answered 422, never 500. Nothing was written (the statement failed whole).
 */
export function isDataError(err: unknown): boolean {
  const code = driverError(err)?.code;
  return code !== undefined && /^(22|54)/.test(code);
}

type ErrorChain = { name?: string; message?: string; code?: string; cause?: unknown } | undefined;

/** The driver's own error inside drizzle's wrapper (whose message repeats the query and its parameters). */
export function driverError(err: unknown): ErrorChain {
  for (let e = err as ErrorChain; e; e = e.cause as ErrorChain) if (e.name === 'NeonDbError') return e;
  return undefined;
}

/** A loggable one-line description: the driver's message and code, never the query's parameters. */
export function describeDbError(err: unknown): string {
  const e = driverError(err);
  return e ? `${e.name}${e.code ? ` ${e.code}` : ''}: ${e.message}` : String((err as Error)?.stack ?? err);
}

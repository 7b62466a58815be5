import { neon, neonConfig, type NeonQueryFunction } from '@neondatabase/serverless';
import { drizzle, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import type { Config } from '../config.ts';

export type Database = NeonHttpDatabase<Record<string, never>> & { $client: NeonQueryFunction<false, false> };

/** The only place the driver is configured. One client per isolate and connection string. */
export function createDb(config: Config): Database {
  if (config.DATABASE_HTTP_URL) {
    // Global to the driver copy in this isolate; every client here talks to the same endpoint.
    neonConfig.fetchEndpoint = config.DATABASE_HTTP_URL;
  }
  return drizzle({ client: neon(config.DATABASE_URL) }) as Database;
}

/**
 * True when an error means the database could not be reached (network, HTTP endpoint down or
 * overloaded, server shutting down), as opposed to a query the database rejected.
 * drizzle wraps driver errors: the driver's error is then its `cause`.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { name?: string; message?: string; code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.name === 'NeonDbError') {
      if (e.code) return /^(08|53|57P0[1-3])/.test(e.code);
      return /^(Error connecting to database|Server error \(HTTP status 5)/.test(e.message ?? '');
    }
  }
  return false;
}

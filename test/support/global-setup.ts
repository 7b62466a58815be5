import type { TestProject } from 'vitest/node';
import { EMBEDDED_DATABASE_URL, type Gateway, startGateway } from '../../src/local/gateway/server.ts';
import { migrateDatabase } from '../../src/local/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The connection string the Worker under test is configured with. */
    databaseUrl: string;
    /** The gateway's /sql endpoint (neonConfig.fetchEndpoint). */
    gatewaySqlUrl: string;
  }
}

let gateway: Gateway | undefined;

/**
 * Start one gateway on a free loopback port and migrate the test database through it:
 * the PostgreSQL at TEST_DATABASE_URL when set, otherwise an in-memory PGlite.
 */
export default async function setup(project: TestProject) {
  const databaseUrl = process.env.TEST_DATABASE_URL || EMBEDDED_DATABASE_URL;
  gateway = await startGateway({ port: 0, verbose: process.env.GATEWAY_VERBOSE === '1' });
  await migrateDatabase({ databaseUrl, sqlUrl: gateway.sqlUrl });
  project.provide('databaseUrl', databaseUrl);
  project.provide('gatewaySqlUrl', gateway.sqlUrl);
  return async () => {
    await gateway?.close();
  };
}

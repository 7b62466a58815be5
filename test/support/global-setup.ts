import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { EMBEDDED_DATABASE_URL, type Gateway, startGateway } from '../../src/local/gateway/server.ts';
import { migrateDatabase } from '../../src/local/migrate.ts';
import { type CollectorRelay, startCollectorRelay } from './collector-relay.ts';
import { type OpenStackRelay, startCollectorClouds } from './openstack-cloud.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The connection string the Worker under test is configured with. */
    databaseUrl: string;
    /** The gateway's /sql endpoint (neonConfig.fetchEndpoint). */
    gatewaySqlUrl: string;
    /** A real relay process serving the collector tests' accounting log (support/collector-relay.ts). */
    relayUrl: string;
    /** The same relay behind a proxy that cuts every response off half-way. */
    cutoffRelayUrl: string;
    /** A real relay process reading a stand-in cloud (support/openstack-cloud.ts, with Prometheus). */
    openstackRelayUrl: string;
    /** The same cloud, whose Nova fails the second page of its live listing (503). */
    openstackFailingRelayUrl: string;
  }
}

let gateway: Gateway | undefined;
let relay: CollectorRelay | undefined;
let clouds: OpenStackRelay[] = [];

/**
 * Drop and re-create the database TEST_DATABASE_URL names, so that every run starts as empty as the
 * in-memory PGlite does. Tests pick random stretches of time to stay apart; on a database that keeps
 * earlier runs' (or the benchmark's) events, a stretch can overlap one of theirs.
 */
async function recreateTestDatabase(databaseUrl: string) {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name || name === 'postgres' || name.startsWith('template')) {
    throw new Error(`TEST_DATABASE_URL must name a database of its own for the tests (it is dropped and re-created), not "${name}"`);
  }
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const quoted = `"${name.replaceAll('"', '""')}"`;
    await client.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoted}`);
  } finally {
    await client.end();
  }
}

/**
 * Start one gateway on a free loopback port and migrate the test database through it:
 * the PostgreSQL at TEST_DATABASE_URL when set, otherwise an in-memory PGlite. And the relay
 * processes of the collector tests: a PBS one, and two OpenStack ones (a healthy cloud, a failing one).
 */
export default async function setup(project: TestProject) {
  const databaseUrl = process.env.TEST_DATABASE_URL || EMBEDDED_DATABASE_URL;
  if (process.env.TEST_DATABASE_URL) await recreateTestDatabase(process.env.TEST_DATABASE_URL);
  [gateway, relay, clouds] = await Promise.all([
    startGateway({ port: 0, verbose: process.env.GATEWAY_VERBOSE === '1' }),
    startCollectorRelay(),
    startCollectorClouds(),
  ]);
  await migrateDatabase({ databaseUrl, sqlUrl: gateway.sqlUrl });
  project.provide('databaseUrl', databaseUrl);
  project.provide('gatewaySqlUrl', gateway.sqlUrl);
  project.provide('relayUrl', relay.relay.url);
  project.provide('cutoffRelayUrl', relay.cutoffUrl);
  project.provide('openstackRelayUrl', clouds[0]!.relay.url);
  project.provide('openstackFailingRelayUrl', clouds[1]!.relay.url);
  return async () => {
    await Promise.all([gateway?.close(), relay?.stop(), ...clouds.map((c) => c.stop())]);
  };
}

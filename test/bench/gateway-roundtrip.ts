/**
 * Part 1: round trips per second of a small query through driver → gateway → PostgreSQL,
 * against node pg straight to the same database, in the same run.
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import pg from 'pg';
import { EMBEDDED_DATABASE_URL } from '../../src/local/gateway/server.ts';
import { measure, perSecond, printTable, spawnGateway } from './lib.ts';

const QUERY = 'SELECT $1::int + 1 AS n';

export async function benchGatewayRoundTrips(databaseUrl: string): Promise<Record<string, number>> {
  const gateway = await spawnGateway();
  neonConfig.fetchEndpoint = gateway.sqlUrl;
  const viaGateway = neon(databaseUrl);
  const embedded = neon(EMBEDDED_DATABASE_URL);
  const direct = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  try {
    const n = 2000;
    // Warm up: connections, PGlite start, JIT.
    await measure('warm-up', 200, 4, () => viaGateway.query(QUERY, [1]));
    await measure('warm-up', 200, 4, () => direct.query(QUERY, [1]));
    await measure('warm-up', 50, 1, () => embedded.query(QUERY, [1]));

    const rows = [
      await measure('node pg → PostgreSQL, 1 in flight', n, 1, () => direct.query(QUERY, [1])),
      await measure('driver → gateway → PostgreSQL, 1 in flight', n, 1, () => viaGateway.query(QUERY, [1])),
      await measure('node pg → PostgreSQL, 8 in flight', n * 2, 8, () => direct.query(QUERY, [1])),
      await measure('driver → gateway → PostgreSQL, 8 in flight', n * 2, 8, () => viaGateway.query(QUERY, [1])),
      await measure('driver → gateway → PGlite (embedded), 1 in flight', n / 2, 1, () => embedded.query(QUERY, [1])),
    ];
    printTable(rows);
    const [d1, g1, d8, g8, e1] = rows.map(perSecond) as [number, number, number, number, number];
    console.log(`ratio gateway/direct, 1 in flight: ${(g1 / d1).toFixed(2)}`);
    console.log(`ratio gateway/direct, 8 in flight: ${(g8 / d8).toFixed(2)}`);
    return { direct1: d1, gateway1: g1, direct8: d8, gateway8: g8, pglite1: e1 };
  } finally {
    await direct.end();
    await gateway.stop();
  }
}

/**
 * `npm run bench` — every figure is printed beside a baseline measured in the same run.
 * Needs a PostgreSQL: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local one on 127.0.0.1:5432.
 */
import pg from 'pg';
import { benchGatewayRoundTrips } from './gateway-roundtrip.ts';
import { benchCollector } from './collector.ts';
import { benchDirectory } from './directory.ts';
import { benchIngest } from './ingest.ts';
import { benchMapping } from './mapping.ts';
import { benchMetrics } from './metrics.ts';
import { benchOpenStack } from './openstack.ts';
import { benchRelayThreads } from './relay-threads.ts';
import { benchReporting } from './reporting.ts';

const databaseUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/test';

const probe = new pg.Client({ connectionString: databaseUrl });
try {
  await probe.connect();
  const { rows } = await probe.query<{ server_version: string }>('SHOW server_version');
  console.log(`bench: PostgreSQL ${rows[0]?.server_version} at ${new URL(databaseUrl).host}; node ${process.version}`);
} catch (err) {
  console.error(`bench: cannot reach PostgreSQL at ${new URL(databaseUrl).host} (${(err as Error).message}); set BENCH_DATABASE_URL`);
  process.exit(1);
} finally {
  await probe.end().catch(() => undefined);
}

// `npm run bench -- ingest` runs only the parts named; no name runs them all.
const only = new Set(process.argv.slice(2));
const wanted = (part: string) => only.size === 0 || only.has(part);

if (wanted('gateway')) {
  console.log('\n== Part 1: gateway round trips (small query) ==');
  await benchGatewayRoundTrips(databaseUrl);
}

if (wanted('ingest')) {
  console.log('\n== Part 2: ingest (events per second) ==');
  await benchIngest(databaseUrl);
}

if (wanted('collector')) {
  console.log('\n== Part 3: collector (1,000,000-job day) ==');
  await benchCollector(databaseUrl);
}

if (wanted('mapping')) {
  console.log('\n== Part 4: link mapping (events per second) ==');
  await benchMapping(databaseUrl);
}

if (wanted('reporting')) {
  console.log('\n== Part 5: reporting (GET /usage over a year) ==');
  await benchReporting(databaseUrl);
}

if (wanted('openstack')) {
  console.log('\n== Part 6: OpenStack (a cloud of 20,000 servers, one day) ==');
  await benchOpenStack(databaseUrl);
}

if (wanted('relay-threads')) {
  console.log('\n== Part 7: relay memory per parse thread ==');
  await benchRelayThreads();
}

if (wanted('directory')) {
  console.log('\n== Part 8: directory (a full sync of 100,000 users, 20,000 projects, 40,000 allocations; a balance over 1,000,000 events) ==');
  await benchDirectory(databaseUrl);
}

if (wanted('metrics')) {
  console.log('\n== Part 9: GET /metrics (1,000,000 events) ==');
  await benchMetrics(databaseUrl);
}

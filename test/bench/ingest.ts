/**
 * Part 2: ingest throughput through the whole path (HTTP → Worker in workerd → Neon driver →
 * gateway → PostgreSQL) for batches of 100 and 1000 events, against a multi-row INSERT of the same
 * rows by node pg straight to the same database, in the same run. Plus the cost of validating and
 * keying 1000 events.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { IngestRequestSchema } from '../../src/contracts/usage-event.ts';
import { naturalKeyText } from '../../src/ingest/natural-key.ts';
import { migrateDatabase } from '../../src/local/migrate.ts';
import { makeEvent, uniqueId } from '../support/events.ts';
import { startWranglerDev } from '../support/wrangler-dev.ts';
import { type Measure, measure, percentile, perSecond, printTable, spawnGateway } from './lib.ts';

const KEY = 'bench-collector-key-0123456789abcdef';
const ROUNDS: Record<number, number> = { 100: 40, 1000: 12 };

const batchOf = (size: number) => {
  const project = uniqueId('bench');
  return Array.from({ length: size }, (_, day) => makeEvent({ project, day }));
};

async function directInsert(pool: pg.Pool, events: ReturnType<typeof batchOf>): Promise<void> {
  const cols = 10;
  const values: unknown[] = [];
  const tuples = events.map((e, i) => {
    values.push(
      randomBytes(32).toString('hex'),
      '1.0',
      e.source,
      e.time_window_start,
      e.time_window_end,
      e.collected_at,
      JSON.stringify(e.metrics),
      JSON.stringify(e.identities),
      JSON.stringify(e.context),
      null,
    );
    return `(${Array.from({ length: cols }, (_, j) => `$${i * cols + j + 1}`).join(',')})`;
  });
  await pool.query(
    `INSERT INTO resource_usage_events (natural_key, schema_version, source, time_window_start, time_window_end,
      collected_at, metrics, identities, context, extra) VALUES ${tuples.join(',')}`,
    values,
  );
}

function asEventsPerSecond(m: Measure, size: number): Measure {
  return { ...m, label: m.label, ops: m.ops * size };
}

export async function benchIngest(databaseUrl: string): Promise<Record<string, number>> {
  const gateway = await spawnGateway();
  await migrateDatabase({ databaseUrl, sqlUrl: gateway.sqlUrl });
  const worker = await startWranglerDev({
    DATABASE_URL: databaseUrl,
    DATABASE_HTTP_URL: gateway.sqlUrl,
    COLLECTOR_API_KEY: KEY,
    ADMIN_API_KEY: 'bench-admin-key-0123456789abcdef',
  });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const post = async (events: unknown[]) => {
    const res = await fetch(`${worker.origin}/collector/resource-usage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-zeus-collector-key': KEY },
      body: JSON.stringify({ events }),
    });
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  const figures: Record<string, number> = {};
  try {
    for (const size of [100, 1000]) {
      const rounds = ROUNDS[size]!;
      // Bodies are built before timing; each batch is new data (inserts on both sides).
      const viaWorker = Array.from({ length: rounds + 2 }, () => batchOf(size));
      const direct = Array.from({ length: rounds + 2 }, () => batchOf(size));
      await post(viaWorker.pop()!);
      await directInsert(pool, direct.pop()!);
      await post(viaWorker.pop()!);
      await directInsert(pool, direct.pop()!);
      const rows = [
        asEventsPerSecond(await measure(`node pg multi-row INSERT, ${size}/batch`, rounds, 1, () => directInsert(pool, direct.pop()!)), size),
        asEventsPerSecond(await measure(`HTTP → Worker → gateway → PG, ${size}/batch`, rounds, 1, () => post(viaWorker.pop()!)), size),
      ];
      printTable(rows);
      const ratio = perSecond(rows[1]!) / perSecond(rows[0]!);
      console.log(`ratio Worker path/direct INSERT, ${size} events per batch: ${ratio.toFixed(2)} (events/s; latency per batch)`);
      figures[`direct${size}`] = perSecond(rows[0]!);
      figures[`worker${size}`] = perSecond(rows[1]!);
      figures[`ratio${size}`] = ratio;
    }

    const thousand = { events: batchOf(1000) };
    const validate = await measure('validate 1000 events (zod)', 30, 1, async () => IngestRequestSchema.parse(thousand));
    const parsed = IngestRequestSchema.parse(thousand);
    const keys = await measure('natural keys of 1000 events', 30, 1, async () => parsed.events.map(naturalKeyText));
    console.log(
      `validation: ${percentile(validate.latenciesMs, 50).toFixed(1)} ms per 1000 events (p50); ` +
        `keying: ${percentile(keys.latenciesMs, 50).toFixed(1)} ms per 1000 events (p50), in Node`,
    );
    figures.validate1000ms = percentile(validate.latenciesMs, 50);
    return figures;
  } finally {
    await pool.query(`DELETE FROM resource_usage_events WHERE context->>'project' LIKE 'bench-%'`).catch(() => undefined);
    await pool.end();
    await worker.stop();
    await gateway.stop();
  }
}

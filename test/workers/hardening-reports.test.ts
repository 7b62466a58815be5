import { exports } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { UsageReport } from '../../src/contracts/usage-report.ts';
import { uniqueId } from '../support/events.ts';
import { TEST_ADMIN_KEY } from '../support/keys.ts';
import { db } from './helpers.ts';

const get = (path: string, accept = 'application/json') =>
  exports.default.fetch(`http://worker.test${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, accept } });

/** Rows straight into the table, with metrics the contract would refuse today (stored before its limits). */
async function storeRaw(cluster: string, start: string, metrics: Record<string, number>[]) {
  await db.execute(sql`
    INSERT INTO resource_usage_events (natural_key, schema_version, source, time_window_start, time_window_end, collected_at, metrics, identities, context)
    SELECT md5(random()::text || x.i), '1.0', 'pbs', ${start}::timestamptz, ${start}::timestamptz + interval '1 hour',
      ${start}::timestamptz + interval '2 hours', x.metrics, '[]', jsonb_build_object('cluster', ${cluster}::text, 'project', 'p')
    FROM jsonb_to_recordset(${JSON.stringify(metrics.map((m, i) => ({ i, metrics: m })))}::jsonb) AS x(i int, metrics jsonb)`);
}

describe('reports stay sane whatever was stored', () => {
  it('used_cpu_percent is recomputed as 100 × Σ cpu_time_seconds / Σ cpu_core_seconds, never summed; null without core-seconds', async () => {
    const cluster = uniqueId('ratio');
    await storeRaw(cluster, '2026-04-10T00:00:00Z', [
      { cpu_time_seconds: 50, cpu_core_seconds: 100, used_cpu_percent: 50 },
      { cpu_time_seconds: 300, cpu_core_seconds: 300, used_cpu_percent: 100 },
    ]);
    await storeRaw(cluster, '2026-04-11T00:00:00Z', [{ cpu_time_seconds: 7, used_cpu_percent: 90 }]);
    const res = await get(`/usage?from=2026-04-10&to=2026-04-12&cluster=${cluster}`);
    expect(res.status).toBe(200);
    const { rows } = (await res.json()) as UsageReport;
    expect(rows.map((r) => [r.bucket_start, r.used_cpu_percent, r.cpu_time_seconds])).toEqual([
      ['2026-04-10T00:00:00Z', 87.5, 350],
      ['2026-04-11T00:00:00Z', null, 7],
    ]);
  });

  it('values of 1e308 (stored before the limits) give finite exact-summed totals in /usage JSON and CSV, and /operator answers 200', async () => {
    const cluster = uniqueId('huge');
    const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    await storeRaw(cluster, `${day}T00:00:00Z`, [
      { cpu_time_seconds: 1e308, cpu_core_seconds: 1e308, ram_bytes_allocated: 1e308 },
      { cpu_time_seconds: 1e308, cpu_core_seconds: 1e308, ram_bytes_allocated: 1e18 },
      { walltime_used: 9.2e18 },
      { walltime_used: 9.2e18 },
      { walltime_used: 1 },
    ]);
    const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const res = await get(`/usage?from=${day}&to=${next}&cluster=${cluster}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toMatch(/Infinity|NaN/);
    const { rows } = JSON.parse(text) as UsageReport;
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.cpu_time_seconds).toBe(1.84e19);
    expect(row.ram_bytes_allocated).toBe(9.2e18 + 1e18);
    // 18400000000000000001 exactly in numeric; the JSON number is its nearest double.
    expect(row.walltime_used).toBe(Number(18_400_000_000_000_000_001n));
    expect(row.used_cpu_percent).toBe(100);
    for (const value of Object.values(row)) if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);

    const csv = await get(`/usage?from=${day}&to=${next}&cluster=${cluster}`, 'text/csv');
    expect(csv.status).toBe(200);
    expect(await csv.text()).toContain(',18400000000000000000,');

    const operator = await get(`/operator?cluster=${cluster}`);
    expect(operator.status).toBe(200);
    const everything = await get('/operator');
    expect(everything.status).toBe(200);
  });
});

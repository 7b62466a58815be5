/**
 * Part 7: the relay's memory per parse thread. The built relay is started with 0, 1, 2, 4 … parse
 * threads over the same generated day; for each: resident memory idle, and the peak while it serves
 * /v1/jobs and then /v1/usage for the day (a fresh process per route, so neither peak hides the other).
 */
import { readFileSync } from 'node:fs';
import { writeDemoAccountingLog } from '../../src/local/demo-accounting.ts';
import { startRelayProcess } from '../support/relay-process.ts';
import { curlRelay } from './lib.ts';

const JOBS = Number(process.env.BENCH_RELAY_THREADS_JOBS ?? 300_000);
const THREADS = (process.env.BENCH_RELAY_THREADS ?? '0,1,2,4').split(',').map(Number);
const DAY = '2026-02-10';
const TZ = 'Europe/Prague';

const status = (pid: number, key: string) =>
  Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

export async function benchRelayThreads(): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  const source = await startRelayProcess({ accountingFiles: {}, env: { RELAY_TIMEZONE: TZ }, bundle: true });
  try {
    const users = Array.from({ length: 200 }, (_, i) => `user${i}`);
    await writeDemoAccountingLog({ dir: source.accountingDir, days: [DAY], jobsPerDay: JOBS, timeZone: TZ, users, seed: 3 });
    const from = `${DAY}T00:00:00.000Z`;
    const to = new Date(Date.parse(from) + 86_400_000).toISOString();
    const query = new URLSearchParams({ from, to });
    for (const threads of THREADS) {
      const row: string[] = [];
      for (const route of ['/v1/jobs', '/v1/usage']) {
        const relay = await startRelayProcess({
          accountingFiles: false,
          bundle: true,
          env: { RELAY_TIMEZONE: TZ, RELAY_ACCOUNTING_DIR: source.accountingDir, RELAY_PARSE_THREADS: String(threads) },
        });
        try {
          const started = await relay.waitForLog((l) => l.msg === 'listening');
          const idle = status(relay.pid, 'VmRSS');
          const { seconds } = await curlRelay(relay, `${route}?${query}`);
          const peak = status(relay.pid, 'VmHWM');
          row.push(`${route} peak ${peak.toFixed(0)} MiB (idle ${idle.toFixed(0)}), ${(JOBS / seconds / 1000).toFixed(0)}k jobs/s`);
          figures[`${route}:${threads}`] = peak;
          if (started.parse_threads !== threads) row.push(`(clamped to ${started.parse_threads})`);
        } finally {
          await relay.stop();
        }
      }
      console.log(`RELAY_PARSE_THREADS=${threads}: ${row.join('; ')}`);
    }
  } finally {
    await source.stop();
  }
  return figures;
}

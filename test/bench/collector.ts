/**
 * Part 3: the collector on a generated 1,000,000-job day (PBS Pro accounting log, ~600 MB):
 *   - relay parse throughput (a real relay process answering /v1/jobs, and /v1/usage, for the day;
 *     records/s and its peak RSS) against a plain line split of the same files in the same run (ratio);
 *   - bytes on the wire for both routes, gzip or not;
 *   - the Worker's CPU per window in both modes (the consumer's code path in this process);
 *   - the whole day collected end to end in both modes: relay → Worker (wrangler dev) → gateway → PostgreSQL.
 */
import { createReadStream, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { collectWindow } from '../../src/collector/collect-window.ts';
import { UsageEventSchema } from '../../src/contracts/usage-event.ts';
import { writeDemoAccountingLog } from '../../src/local/demo-accounting.ts';
import { relayNodeFlags, startRelayProcess } from '../support/relay-process.ts';
import { collectDayEndToEnd, curlRelay } from './lib.ts';

const JOBS = Number(process.env.BENCH_COLLECTOR_JOBS ?? 1_000_000);
const DAY = '2026-02-10';
const TZ = 'Europe/Prague';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

async function plainSplit(dir: string): Promise<{ lines: number; seconds: number }> {
  const t = performance.now();
  let lines = 0;
  for (const f of readdirSync(dir).sort()) {
    for await (const _ of createInterface({ input: createReadStream(join(dir, f)), crlfDelay: Infinity })) lines++;
  }
  return { lines, seconds: (performance.now() - t) / 1000 };
}

async function workerCpu(url: string, secret: string, mode: 'usage' | 'jobs') {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let events = 0;
  const result = await collectWindow({ cluster: 'bench', url, kind: 'pbs', authority: 'bench', mode }, DAY, {
    relaySecret: secret,
    write: async (batch) => {
      for (const e of batch) UsageEventSchema.parse(e);
      events += batch.length;
      return { inserted: batch.length, updated: 0, unchanged: 0 };
    },
  });
  const used = process.cpuUsage(c0);
  return { cpuSeconds: (used.user + used.system) / 1e6, wallSeconds: (performance.now() - t0) / 1000, events, jobs: result.jobs };
}

export async function benchCollector(databaseUrl: string): Promise<Record<string, number>> {
  const relay = await startRelayProcess({ accountingFiles: {}, env: { RELAY_TIMEZONE: TZ }, bundle: true });
  const started = relay.logs().find((l) => l.msg === 'listening')!;
  const figures: Record<string, number> = {};
  try {
    const t = performance.now();
    const users = Array.from({ length: 200 }, (_, i) => `user${i}`);
    const log = await writeDemoAccountingLog({ dir: relay.accountingDir, days: [DAY], jobsPerDay: JOBS, timeZone: TZ, users, seed: 3 });
    const bytes = readdirSync(relay.accountingDir).reduce((s, f) => s + readFileSync(join(relay.accountingDir, f)).length, 0);
    console.log(`generated ${log.jobs} jobs, ${mib(bytes)} in ${log.files.length} files, ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const split = await plainSplit(relay.accountingDir);
    console.log(`plain line split (node readline, same files):       ${(split.lines / split.seconds).toFixed(0).padStart(9)} lines/s`);

    // The relay: parse, filter by window, serialise NDJSON, stream over HTTP (read and discarded here).
    const from = `${DAY}T00:00:00.000Z`;
    const to = new Date(Date.parse(from) + 86_400_000).toISOString();
    const path = `/v1/jobs?${new URLSearchParams({ from, to })}`;
    const { seconds: relaySeconds, bytes: streamed, logged } = await curlRelay(relay, path);
    const records = Number(logged.records);
    if (logged.complete !== true || records !== JOBS) throw new Error(`the relay wrote ${records} records, complete: ${logged.complete}`);
    const relayRate = records / relaySeconds;
    const relayRss = peakRss(relay.pid);
    console.log(
      `relay /v1/jobs (parse + NDJSON over HTTP, ${mib(streamed)}): ${relayRate.toFixed(0).padStart(9)} records/s, ` +
        `${records} records, peak RSS ${mib(relayRss)} (node ${relayNodeFlags().join(' ')}, ${started.parse_threads} parse threads)`,
    );
    console.log(
      `ratio relay/plain split: ${(relayRate / (split.lines / split.seconds)).toFixed(2)} (target ≥ 0.50); relay peak RSS ${(relayRss / 1e6).toFixed(0)} MB (target < 100 MB)`,
    );

    // The same day folded on site (/v1/usage), and bytes on the wire for both routes, gzip or not.
    const gzip = { 'Accept-Encoding': 'gzip' };
    const usagePath = `/v1/usage?${new URLSearchParams({ from, to })}`;
    const usage = await curlRelay(relay, usagePath);
    if (usage.logged.complete !== true) throw new Error('the relay did not complete /v1/usage');
    const usageRss = peakRss(relay.pid);
    const jobsGzip = await curlRelay(relay, path, gzip);
    const usageGzip = await curlRelay(relay, usagePath, gzip);
    const usageRate = JOBS / usage.seconds;
    console.log(
      `relay /v1/usage (parse + fold on site, ${usage.logged.records} lines):   ${usageRate.toFixed(0).padStart(9)} jobs/s, ${usage.seconds.toFixed(2)} s, ` +
        `ratio relay/plain split ${(usageRate / (split.lines / split.seconds)).toFixed(2)}; peak RSS so far ${mib(usageRss)}`,
    );
    console.log(
      `bytes on the wire: /v1/jobs ${mib(streamed)} (gzip ${mib(jobsGzip.bytes)}, ${jobsGzip.seconds.toFixed(1)} s); ` +
        `/v1/usage ${(usage.bytes / 1024).toFixed(1)} KiB (gzip ${(usageGzip.bytes / 1024).toFixed(1)} KiB) = ` +
        `${((100 * usageGzip.bytes) / streamed).toFixed(4)} % of jobs-mode NDJSON (target ≤ 1 %)`,
    );
    figures.relayRate = relayRate;
    figures.relayRss = Math.max(relayRss, usageRss);
    figures.splitRate = split.lines / split.seconds;
    figures.usageRate = usageRate;
    figures.jobsBytes = streamed;
    figures.jobsGzipBytes = jobsGzip.bytes;
    figures.usageBytes = usage.bytes;
    figures.usageGzipBytes = usageGzip.bytes;

    // The Worker's CPU per window: the consumer's code path (collectWindow: fetch, decode, validate,
    // transform, events checked as ingest checks them) in this process, CPU from process.cpuUsage; the
    // database write is left out (its CPU is in the database).
    for (const mode of ['usage', 'jobs'] as const) {
      const cpu = await workerCpu(relay.url, relay.secrets[0]!, mode);
      console.log(
        `Worker CPU, ${mode} mode (collectWindow in node, gzip): ${cpu.cpuSeconds.toFixed(2)} s CPU, ${cpu.wallSeconds.toFixed(2)} s wall, ` +
          `${cpu.jobs} jobs → ${cpu.events} events${mode === 'usage' ? ' (target < 1 s)' : ''}`,
      );
      figures[`${mode}CpuSeconds`] = cpu.cpuSeconds;
    }

    // End to end: the Worker collects the day through a backfill, in each mode.
    for (const mode of ['usage', 'jobs'] as const) {
      const { run, wall } = await collectDayEndToEnd({
        databaseUrl,
        relay: { url: relay.url, secret: relay.secrets[0]! },
        entry: { cluster: `bench-${mode}-${Date.now()}`, authority: 'bench', mode },
        day: DAY,
      });
      const target =
        mode === 'usage' ? ` (target < 10 s and ≤ 1.5× the relay's /v1/jobs ${relaySeconds.toFixed(1)} s: ${(wall / relaySeconds).toFixed(2)}×)` : '';
      console.log(
        `end to end, ${mode} mode, one ${JOBS}-job day: ${run.status} in ${wall.toFixed(1)} s wall (run ${(Number(run.duration_ms) / 1000).toFixed(1)} s): ` +
          `${run.jobs} jobs → ${run.events} events${target}${run.error ? `; error: ${run.error}` : ''}`,
      );
      figures[`${mode}EndToEndSeconds`] = wall;
    }
    return figures;
  } finally {
    await relay.stop();
  }
}

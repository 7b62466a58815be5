/**
 * Part 3: the collector on a generated 1,000,000-job day (PBS Pro accounting log, ~600 MB):
 *   - relay parse throughput (a real relay process answering /v1/jobs for the day, records/s and its
 *     peak RSS) against a plain line split of the same files in the same run (ratio);
 *   - the transform's throughput and heap growth;
 *   - the whole day collected end to end: relay → Worker (wrangler dev) → gateway → PostgreSQL.
 */
import { createReadStream, readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type JobRecord, JobRecordSchema } from '../../src/contracts/job-record.ts';
import { signRelayRequest } from '../../src/contracts/relay-signing.ts';
import { PbsEventBuilder } from '../../src/collector/transform/pbs-events.ts';
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

export async function benchCollector(databaseUrl: string): Promise<Record<string, number>> {
  const relay = await startRelayProcess({ accountingFiles: {}, env: { RELAY_TIMEZONE: TZ }, bundle: true });
  const started = relay.logs().find((l) => l.msg === 'listening')!;
  const figures: Record<string, number> = {};
  try {
    let t = performance.now();
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
      `ratio relay/plain split: ${(relayRate / (split.lines / split.seconds)).toFixed(2)} (target ≥ 0.40); relay peak RSS ${(relayRss / 1e6).toFixed(0)} MB (target < 100 MB)`,
    );

    // The first 50k records, as the Worker would receive them, for the transform below.
    const kept: Buffer[] = [];
    let keptLines = 0;
    await new Promise<void>((resolve, reject) => {
      void signRelayRequest(relay.secrets[0]!, 'GET', path).then((h) =>
        http
          .get(`${relay.url}${path}`, { headers: h }, (res) => {
            res.on('data', (buf: Buffer) => {
              kept.push(buf);
              for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) keptLines++;
              if (keptLines >= 50_000) {
                res.destroy();
                resolve();
              }
            });
            res.on('end', resolve);
            res.on('error', () => resolve());
          })
          .on('error', reject),
      );
    });

    // The transform, over the records the Worker would receive (validated as the Worker does).
    const jobs: JobRecord[] = Buffer.concat(kept)
      .toString('utf8')
      .split('\n')
      .slice(0, -1) // the last kept line may be cut where the chunk ended
      .filter((l) => l.startsWith('{"job_id"'))
      .map((l) => JSON.parse(l) as JobRecord);
    const heapBefore = process.memoryUsage().heapUsed;
    t = performance.now();
    const builder = new PbsEventBuilder({ cluster: 'bench', authority: 'bench' });
    const rounds = Math.ceil(JOBS / jobs.length);
    for (let r = 0; r < rounds; r++) for (const j of jobs) builder.add(JobRecordSchema.parse(j));
    const transformSeconds = (performance.now() - t) / 1000;
    console.log(
      `transform (validate + fold), ${rounds * jobs.length} records:        ${((rounds * jobs.length) / transformSeconds).toFixed(0).padStart(9)} records/s, ` +
        `${builder.size} groups, heap +${mib(Math.max(0, process.memoryUsage().heapUsed - heapBefore))}`,
    );
    figures.relayRate = relayRate;
    figures.relayRss = relayRss;
    figures.splitRate = split.lines / split.seconds;
    figures.transformRate = (rounds * jobs.length) / transformSeconds;

    // End to end: the Worker collects the day through a backfill.
    const { run, wall } = await collectDayEndToEnd({
      databaseUrl,
      relay: { url: relay.url, secret: relay.secrets[0]! },
      entry: { cluster: `bench-${Date.now()}`, authority: 'bench' },
      day: DAY,
    });
    console.log(
      `end to end, one ${JOBS}-job day: ${run.status} in ${wall.toFixed(1)} s wall (run ${(Number(run.duration_ms) / 1000).toFixed(1)} s): ` +
        `${run.jobs} jobs → ${run.events} events (target < 60 s)${run.error ? `; error: ${run.error}` : ''}`,
    );
    figures.endToEndSeconds = wall;
    return figures;
  } finally {
    await relay.stop();
  }
}

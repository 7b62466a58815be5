import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { signRelayRequest } from '../../src/contracts/relay-signing.ts';
import { migrateDatabase } from '../../src/local/migrate.ts';
import type { RelayProcess } from '../support/relay-process.ts';
import { freePort, startWranglerDev } from '../support/wrangler-dev.ts';

export interface Measure {
  label: string;
  ops: number;
  seconds: number;
  latenciesMs: number[];
}

export const perSecond = (m: Measure) => m.ops / m.seconds;

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Run `op` `total` times with `concurrency` in flight; record each latency. */
export async function measure(label: string, total: number, concurrency: number, op: () => Promise<unknown>): Promise<Measure> {
  const latenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t = performance.now();
        await op();
        latenciesMs.push(performance.now() - t);
      }
    }),
  );
  return { label, ops: total, seconds: (performance.now() - started) / 1000, latenciesMs };
}

export function printTable(rows: Measure[]): void {
  console.log(
    rows
      .map((m) =>
        [
          m.label.padEnd(52),
          `${perSecond(m).toFixed(0).padStart(8)} /s`,
          `p50 ${percentile(m.latenciesMs, 50).toFixed(2).padStart(6)} ms`,
          `p95 ${percentile(m.latenciesMs, 95).toFixed(2).padStart(6)} ms`,
        ].join('  '),
      )
      .join('\n'),
  );
}

/** Start the gateway as its own process (as in `npm run dev`) and wait until it listens. */
export async function spawnGateway(args: string[] = []): Promise<{ sqlUrl: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/local/gateway/cli.ts', '--port', String(port), '--memory', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gateway exited (${code})`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve();
    });
  });
  return {
    sqlUrl: `http://127.0.0.1:${port}/sql`,
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface EndToEndDay {
  run: Record<string, unknown>;
  /** Seconds from the backfill request to the recorded run. */
  wall: number;
}

/**
 * One UTC day collected end to end, as production does it: a Worker in `wrangler dev` (its own gateway,
 * migrations applied) with this relay as its only `RELAYS` entry, asked to backfill the day; waits for
 * the run, then removes what the run stored.
 */
export async function collectDayEndToEnd(opts: {
  databaseUrl: string;
  relay: { url: string; secret: string };
  /** The RELAYS entry without its url (`cluster`, `kind`, `authority`). */
  entry: Record<string, string>;
  day: string;
}): Promise<EndToEndDay> {
  const admin = 'bench-admin-key-0123456789abcdef';
  const cluster = opts.entry.cluster!;
  const gateway = await spawnGateway();
  await migrateDatabase({ databaseUrl: opts.databaseUrl, sqlUrl: gateway.sqlUrl });
  const worker = await startWranglerDev({
    DATABASE_URL: opts.databaseUrl,
    DATABASE_HTTP_URL: gateway.sqlUrl,
    COLLECTOR_API_KEY: 'bench-collector-key-0123456789abcdef',
    ADMIN_API_KEY: admin,
    RELAY_SECRET: opts.relay.secret,
    RELAYS: JSON.stringify([{ ...opts.entry, url: opts.relay.url }]),
  });
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 1 });
  try {
    const t = performance.now();
    const queued = await fetch(`${worker.origin}/admin/collection/backfill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cluster, from: opts.day, to: opts.day }),
    });
    if (queued.status !== 202) throw new Error(`backfill answered ${queued.status}: ${await queued.text()}`);
    let run: Record<string, unknown> | undefined;
    while (!run && performance.now() - t < 300_000) {
      await new Promise((r) => setTimeout(r, 250));
      run = (await pool.query('SELECT * FROM collection_runs WHERE cluster = $1', [cluster])).rows[0];
    }
    const wall = (performance.now() - t) / 1000;
    if (!run) throw new Error('the collection did not finish within 300 s');
    await pool.query(`DELETE FROM resource_usage_events WHERE context->>'cluster' = $1`, [cluster]);
    for (const table of ['collection_runs', 'collection_days', 'collection_watermarks']) {
      await pool.query(`DELETE FROM ${table} WHERE cluster = $1`, [cluster]);
    }
    return { run, wall };
  } finally {
    await pool.end();
    await worker.stop();
    await gateway.stop();
  }
}

/**
 * Read one signed relay stream with curl into /dev/null, the cheapest reader there is (on two cores a
 * reader in this process would take CPU from the relay), run asynchronously (a stand-in the relay reads
 * may live in this process). The relay's own log line for the request gives what it wrote.
 */
export async function curlRelay(
  relay: RelayProcess,
  path: string,
  extraHeaders: Record<string, string> = {},
): Promise<{ seconds: number; bytes: number; logged: Awaited<ReturnType<RelayProcess['waitForLog']>> }> {
  // curl sends the headers as given and saves the body as it came (gzip stays gzip): bytes on the wire.
  const headers = { ...(await signRelayRequest(relay.secrets[0]!, 'GET', path)), ...extraHeaders };
  const before = new Set(relay.logs());
  const t = performance.now();
  const curl = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}'];
    const child = spawn('curl', [...args, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), `${relay.url}${path}`]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
  const seconds = (performance.now() - t) / 1000;
  if (curl.status !== 0 || !curl.stdout.startsWith('200 ')) throw new Error(`curl: ${curl.stdout} ${curl.stderr}`);
  const pathOnly = path.split('?')[0];
  const logged = await relay.waitForLog((l) => l.msg === 'request' && l.path === pathOnly && !before.has(l));
  return { seconds, bytes: Number(curl.stdout.split(' ')[1]), logged };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../support/wrangler-dev.ts';

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

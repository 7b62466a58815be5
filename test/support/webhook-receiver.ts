/**
 * A REAL webhook receiver: a separate Node process (`node --import tsx test/support/webhook-receiver.ts`)
 * listening on loopback, answering every POST with the next status of RECEIVER_STATUSES (comma-separated,
 * the last one repeats; default 204) and writing each request it received to stdout as one JSON line
 * `{received: {method, path, headers, body, status}}`. Its first line is `{listening: port}`.
 * Imported, this file gives `startWebhookReceiver()`, which spawns it (port 0, or a port to come back on).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  pid: number;
  received(): ReceivedRequest[];
  /** Wait until `n` requests have arrived in all. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function serve() {
  const statuses = (process.env.RECEIVER_STATUSES ?? '204').split(',').map(Number);
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = statuses[Math.min(n++, statuses.length - 1)]!;
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
      process.stdout.write(
        `${JSON.stringify({ received: { method: req.method, path: req.url, headers, body: Buffer.concat(chunks).toString('utf8'), status } })}\n`,
      );
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? '' : 'not now');
    });
  });
  server.listen(Number(process.env.RECEIVER_PORT ?? 0), '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ listening: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

export async function startWebhookReceiver(opts: { port?: number; statuses?: number[] } = {}): Promise<WebhookReceiver> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RECEIVER_PORT: String(opts.port ?? 0), RECEIVER_STATUSES: (opts.statuses ?? [204]).join(',') },
  });
  const received: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  let output = '';
  let pending = '';
  let onListening: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve) => (onListening = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = JSON.parse(pending.slice(0, nl)) as { listening?: number; received?: ReceivedRequest };
      pending = pending.slice(nl + 1);
      if (line.listening !== undefined) onListening(line.listening);
      if (line.received) received.push(line.received);
      for (const w of waiters) w();
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const port = await Promise.race([
    listening,
    exited.then(() => {
      throw new Error(`the webhook receiver exited:\n${output}`);
    }),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the webhook receiver did not start:\n${output}`)), 20_000)),
  ]).catch(async (err) => {
    await stop();
    throw err;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    received: () => [...received],
    waitFor(n, timeoutMs = 10_000) {
      if (received.length >= n) return Promise.resolve([...received]);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve([...received]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${received.length} of ${n} webhook requests arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    stop,
  };
}

if (process.argv[1] === SELF) serve();

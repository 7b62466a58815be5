/**
 * The real Worker over HTTP for browser tests: `wrangler dev` as a child process, offline (no telemetry,
 * no Request.cf fetch), in its own process group so that stopping it also stops workerd (as src/local/dev.ts).
 * It ignores the developer's .dev.vars (an empty --env-file) and keeps its state in a temporary folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WranglerDev {
  /** http://127.0.0.1:PORT */
  origin: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Start `wrangler dev` with these vars (and `env` for wrangler itself) and wait until GET /health answers 200. */
export async function startWranglerDev(vars: Record<string, string>, timeoutMs = 60_000, env: Record<string, string> = {}): Promise<WranglerDev> {
  // A free port can be taken by another program between freePort() and wrangler's bind: try new ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(vars, timeoutMs, env);
    } catch (err) {
      if (attempt === 3 || !(err instanceof PortTakenError)) throw err;
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(vars: Record<string, string>, timeoutMs: number, env: Record<string, string>): Promise<WranglerDev> {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const scratch = mkdtempSync(join(tmpdir(), 'zeus-wrangler-dev-'));
  writeFileSync(join(scratch, 'empty.env'), '');
  const child = spawn(
    process.execPath,
    [
      'node_modules/wrangler/bin/wrangler.js',
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      '--env-file',
      join(scratch, 'empty.env'),
      '--persist-to',
      join(scratch, 'state'),
      '--show-interactive-dev-session=false',
      '--test-scheduled', // GET /__scheduled runs the cron
      ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: workerd goes down with it
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', FORCE_COLOR: '0', ...env },
    },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Last resort if the test process dies another way: never leave workerd behind.
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);

  const stop = async () => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(scratch, { recursive: true, force: true });
  };

  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null && !output.includes('Address already in use')) {
    try {
      const res = await fetch(`${origin}/health`);
      if (res.ok) return { origin, stop };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  if (output.includes('Address already in use')) throw new PortTakenError(`port ${port} or ${inspectorPort} was taken`);
  throw new Error(`wrangler dev did not answer ${origin}/health within ${timeoutMs} ms:\n${output.slice(-4000)}`);
}

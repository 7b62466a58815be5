/**
 * `npm run deno` as a child process, exactly as a user starts it (the script in package.json: `deno serve`
 * from the npm `deno` package, its permission flags, src/deno/main.ts), on a free loopback port. It runs
 * in its own process group (npm, sh and deno), stopped whole; its Deno cache is a temporary folder.
 * Nothing may be downloaded: node_modules is used as installed (`--node-modules-dir=manual`, no remote
 * modules), and the npm registry Deno would use points at a closed loopback port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../../../src/config.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const LISTENING = /Listening on (http:\/\/127\.0\.0\.1:\d+)\//;

export interface DenoServe {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The process group's id (npm's pid). */
  pgid: number;
  output(): string;
  /** SIGTERM to the group, SIGKILL after 5 s; rejects if any process of the group outlives it. */
  stop(): Promise<void>;
}

export interface DenoRun {
  /** Exit code (null when killed). */
  code: number | null;
  output: string;
}

/** True while any process of the group is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** `npm run -s deno` with only these configuration keys set (the caller's own config keys never leak in). */
function spawnDeno(config: Record<string, string>, scratch: string): ChildProcess {
  const configKeys = new Set(Object.keys(ConfigSchema.shape));
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !configKeys.has(k)));
  return spawn('npm', ['run', '-s', 'deno'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: {
      ...inherited,
      ...config,
      PORT: '0',
      DENO_DIR: join(scratch, 'deno-dir'),
      DENO_NO_UPDATE_CHECK: '1',
      NO_COLOR: '1',
      NPM_CONFIG_REGISTRY: 'http://127.0.0.1:9/',
    },
  });
}

/** Start it and wait for GET /health to answer 200. */
export async function startDenoServe(config: Record<string, string>, timeoutMs = 60_000): Promise<DenoServe> {
  const scratch = mkdtempSync(join(tmpdir(), 'zeus-deno-'));
  const child = spawnDeno(config, scratch);
  const pgid = child.pid!;
  let output = '';
  const listening = new Promise<string>((resolve) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = LISTENING.exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const onExit = () => killGroup(pgid, 'SIGKILL');
  process.once('exit', onExit);

  const stop = async () => {
    process.off('exit', onExit);
    killGroup(pgid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pgid, 'SIGKILL'), 5000);
    await exited;
    // npm is gone; deno (its grandchild) must follow.
    for (let i = 0; i < 100 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 50));
    clearTimeout(timer);
    rmSync(scratch, { recursive: true, force: true });
    if (groupAlive(pgid)) {
      killGroup(pgid, 'SIGKILL');
      throw new Error(`a process of the deno serve group ${pgid} outlived SIGTERM`);
    }
  };

  try {
    let timer: NodeJS.Timeout | undefined;
    const origin = await Promise.race([
      listening,
      exited.then(() => {
        throw new Error(`npm run deno exited with ${child.exitCode ?? child.signalCode}:\n${output.slice(-4000)}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`deno serve did not listen within ${timeoutMs} ms:\n${output.slice(-4000)}`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    const res = await fetch(`${origin}/health`);
    if (res.status !== 200) throw new Error(`GET /health answered ${res.status}: ${await res.text()}\n${output.slice(-4000)}`);
    await res.body?.cancel();
    return { origin, pgid, output: () => output, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/** Run it to its end (a configuration it must refuse), or kill it after `timeoutMs`. */
export async function runDenoServe(config: Record<string, string>, timeoutMs = 30_000): Promise<DenoRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'zeus-deno-'));
  const child = spawnDeno(config, scratch);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  killGroup(child.pid!, 'SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
  return { code, output };
}

/** The `--allow-env=` list of the `deno` script in package.json. */
export function scriptAllowedEnv(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return /--allow-env=(\S+)/.exec(pkg.scripts.deno ?? '')?.[1]?.split(',') ?? [];
}

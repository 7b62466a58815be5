/**
 * A REAL relay (`node --import tsx src/relay/main.ts`) on a free loopback port, for tests on either side
 * of the relay contract: its own temporary accounting folder, test-only secrets, its JSON log lines kept
 * for assertions. No vitest imports: usable from a globalSetup as well as from a test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type JobRecord, JobRecordSchema, type JobStreamSummary, JobStreamSummarySchema, RELAY_HEALTH_PATH } from '../../src/contracts/job-record.ts';
import type { StreamErrorLine } from '../../src/contracts/relay-api.ts';
import { signRelayRequest } from '../../src/contracts/relay-signing.ts';
import { TEST_RELAY_SECRET, TEST_RELAY_SECRET_NEXT } from './keys.ts';
import { httpsGet } from './tls.ts';

export { TEST_RELAY_SECRET, TEST_RELAY_SECRET_NEXT };

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RelayProcessOptions {
  /** Accepted secrets (default both test secrets). */
  secrets?: string[];
  /**
   * Files to write into the relay's temporary accounting folder (name → content; names may hold
   * sub-folders). `false` leaves RELAY_ACCOUNTING_DIR unset (then configure another source in `env`).
   */
  accountingFiles?: Record<string, string> | false;
  /** More environment for the relay (RELAY_QSTAT_COMMAND, RELAY_ACCOUNTING_DB_URL, RELAY_TIMEZONE, …). */
  env?: Record<string, string>;
  /** How long to wait for the first signed /v1/health 200 (default 20 s). */
  timeoutMs?: number;
  /**
   * Run the bundle `npm run relay` runs (dist/relay/main.mjs, built here first) instead of the sources
   * through tsx: what production runs, and what memory and speed are measured on.
   */
  bundle?: boolean;
  /** The relay serves HTTPS (RELAY_TLS_CERT/RELAY_TLS_KEY in `env`): the CA its certificate is checked against. */
  ca?: string;
}

let built: Promise<void> | undefined;
/** The parse threads' script in the bundle. */
export const RELAY_WORKER_SCRIPT = new URL('../../dist/relay/accounting-worker.mjs', import.meta.url);

/** Build dist/relay (main.mjs, accounting-worker.mjs) once per process, exactly as `npm run relay:build` does. */
/** The node flags `npm run relay` starts the bundle with (package.json), so tests and benchmarks run the same. */
export function relayNodeFlags(): string[] {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.relay ?? '';
  const m = / node ((?:--\S+ )*)dist\/relay\/main\.mjs/.exec(script);
  if (!m) throw new Error(`package.json's relay script does not run "node [flags] dist/relay/main.mjs": ${script}`);
  return m[1]!.split(' ').filter(Boolean);
}

export function buildRelayBundle(): Promise<void> {
  built ??= new Promise<void>((resolve, reject) => {
    const b = spawn('npm', ['run', '-s', 'relay:build'], { cwd: ROOT, stdio: 'inherit' });
    b.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run relay:build exited with ${code}`))));
  });
  return built;
}

export interface RelayLogLine {
  time: string;
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface RelayProcess {
  /** http://127.0.0.1:PORT */
  url: string;
  secrets: string[];
  /** The relay's accounting folder (empty string when none), and the temporary folder around it. */
  accountingDir: string;
  scratchDir: string;
  pid: number;
  /** A signed request (first secret unless told; `nowSeconds` to fake the clock, `headers` to override). */
  fetch(pathWithQuery: string, init?: SignedFetchInit): Promise<Response>;
  /** Every JSON line the relay has logged so far. */
  logs(): RelayLogLine[];
  /** The first log line (already written or still to come) that matches. */
  waitForLog(match: (line: RelayLogLine) => boolean, timeoutMs?: number): Promise<RelayLogLine>;
  /** Everything it wrote to stdout and stderr (for failure messages). */
  output(): string;
  /** SIGTERM, wait for the exit (SIGKILL after 5 s), remove the temporary folder. */
  stop(): Promise<void>;
}

export interface SignedFetchInit {
  method?: string;
  secret?: string;
  nowSeconds?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function startRelayProcess(options: RelayProcessOptions = {}): Promise<RelayProcess> {
  const secrets = options.secrets ?? [TEST_RELAY_SECRET, TEST_RELAY_SECRET_NEXT];
  const scratchDir = mkdtempSync(join(tmpdir(), 'zeus-relay-'));
  let accountingDir = '';
  if (options.accountingFiles !== false) {
    accountingDir = join(scratchDir, 'accounting');
    mkdirSync(accountingDir);
    for (const [name, content] of Object.entries(options.accountingFiles ?? {})) {
      mkdirSync(dirname(join(accountingDir, name)), { recursive: true });
      writeFileSync(join(accountingDir, name), content);
    }
  }
  // The parent's RELAY_* never leak in: the relay sees exactly what the test configures.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RELAY_')));
  if (options.bundle) await buildRelayBundle();
  // BENCH_RELAY_NODE_FLAGS adds node flags to the built relay (say `--cpu-prof --cpu-prof-dir=…` to profile it in a bench).
  const extra = process.env.BENCH_RELAY_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const entry = options.bundle ? [...relayNodeFlags(), ...extra, 'dist/relay/main.mjs'] : ['--import', 'tsx', 'src/relay/main.ts'];
  const child = spawn(process.execPath, entry, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...inherited,
      RELAY_HOST: '127.0.0.1',
      RELAY_PORT: '0',
      RELAY_SECRETS: secrets.join(','),
      ...(accountingDir ? { RELAY_ACCOUNTING_DIR: accountingDir } : {}),
      ...options.env,
    },
  });

  const lines: RelayLogLine[] = [];
  const waiters = new Set<{ match: (l: RelayLogLine) => boolean; resolve: (l: RelayLogLine) => void }>();
  let output = '';
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let line: RelayLogLine;
      try {
        line = JSON.parse(text) as RelayLogLine;
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of waiters) {
        if (w.match(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);

  const waitForLog = (match: (l: RelayLogLine) => boolean, timeoutMs = 10_000) => {
    const found = lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<RelayLogLine>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: RelayLogLine) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching relay log line within ${timeoutMs} ms:\n${output.slice(-4000)}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const stop = async () => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(scratchDir, { recursive: true, force: true });
  };

  try {
    const timeoutMs = options.timeoutMs ?? 20_000;
    const listening = await Promise.race([
      waitForLog((l) => l.msg === 'listening', timeoutMs),
      exited.then(() => {
        throw new Error(`the relay exited with ${child.exitCode ?? child.signalCode}:\n${output.slice(-4000)}`);
      }),
    ]);
    // A relay on every interface (0.0.0.0) is reached on loopback, the address its test certificate names.
    const url = String(listening.url).replace('://0.0.0.0:', '://127.0.0.1:');
    const relay = makeRelay(child, url, secrets, accountingDir, scratchDir, lines, waitForLog, () => output, stop, options.ca);
    const res = await relay.fetch(RELAY_HEALTH_PATH);
    if (res.status !== 200) throw new Error(`the relay's health answered ${res.status}: ${await res.text()}`);
    await res.body?.cancel();
    return relay;
  } catch (err) {
    await stop();
    throw err;
  }
}

function makeRelay(
  child: ChildProcess,
  url: string,
  secrets: string[],
  accountingDir: string,
  scratchDir: string,
  lines: RelayLogLine[],
  waitForLog: RelayProcess['waitForLog'],
  output: () => string,
  stop: () => Promise<void>,
  ca: string | undefined,
): RelayProcess {
  return {
    url,
    secrets,
    accountingDir,
    scratchDir,
    pid: child.pid!,
    async fetch(pathWithQuery, init = {}) {
      const method = init.method ?? 'GET';
      const signed = await signRelayRequest(init.secret ?? secrets[0]!, method, pathWithQuery, init.nowSeconds);
      if (ca !== undefined) {
        const answer = await httpsGet(`${url}${pathWithQuery}`, ca, { ...signed, ...init.headers });
        return new Response(answer.body, { status: answer.status });
      }
      return fetch(`${url}${pathWithQuery}`, { method, headers: { ...signed, ...init.headers }, signal: init.signal ?? null });
    },
    logs: () => [...lines],
    waitForLog,
    output,
    stop,
  };
}

/**
 * A request through node:http, which sends the path exactly as given (fetch would normalise `%2e%2e`
 * and `..` away before signing could cover them). Signed with `secret` unless it is null.
 */
export async function rawRelayRequest(
  url: string,
  pathWithQuery: string,
  options: { method?: string; secret?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const method = options.method ?? 'GET';
  const signed = options.secret === null ? {} : await signRelayRequest(options.secret ?? TEST_RELAY_SECRET, method, pathWithQuery);
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/`, { method, path: pathWithQuery, headers: { ...signed, ...options.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface ParsedJobStream {
  records: JobRecord[];
  /** Null when the stream was cut off (no summary line at the end). */
  summary: JobStreamSummary | null;
  /** The error line that ends a stream whose source failed (in place of the summary), else null. */
  error: StreamErrorLine['error'] | null;
  lines: number;
}

/** An NDJSON body split into its records, its closing summary line and its error line (if any). */
export function splitRelayStream(text: string): { values: unknown[]; summary: unknown; error: StreamErrorLine['error'] | null; lines: number } {
  const values = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const lines = values.length;
  const last = values.at(-1);
  const summary = last && 'summary' in last ? values.pop() : null;
  const error = last && 'error' in last ? (values.pop() as unknown as StreamErrorLine).error : null;
  return { values, summary, error, lines };
}

/** Split an NDJSON body into its job records and its closing summary line (validated by the contract). */
export function parseJobStream(text: string): ParsedJobStream {
  const { values, summary, error, lines } = splitRelayStream(text);
  return {
    records: values.map((v) => JobRecordSchema.parse(v)),
    summary: summary ? JobStreamSummarySchema.parse(summary).summary : null,
    error,
    lines,
  };
}

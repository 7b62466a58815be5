/**
 * Part 6: an OpenStack cloud of 20,000 servers (2,000 changed in the day, 10 instance actions each),
 * served by the local Keystone + Nova stand-in:
 *   - baseline: the same Nova pages (both listings, every server's actions) simply fetched and parsed,
 *     with the relay's concurrency, in this process;
 *   - the relay (a real process, the built bundle) answering /v1/instances for the day: seconds,
 *     records/s and its peak RSS (target < 150 MB);
 *   - the day collected end to end: relay → Worker (wrangler dev) → gateway → PostgreSQL (target < 60 s).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { generateDemoCloud } from '../../src/local/openstack/demo-cloud.ts';
import { startStandin } from '../../src/local/openstack/standin.ts';
import { PAGE_LIMIT } from '../../src/relay/openstack/nova.ts';
import { openstackEnv } from '../support/openstack-cloud.ts';
import { startRelayProcess } from '../support/relay-process.ts';
import { collectDayEndToEnd, curlRelay } from './lib.ts';

const SERVERS = Number(process.env.BENCH_OPENSTACK_SERVERS ?? 20_000);
const CHANGED = Math.round(SERVERS / 10);
const ACTIONS = 10;
const CONCURRENCY = 4;
const DAY = '2026-02-10';
const CREDENTIAL = { id: 'bench-app-credential', secret: 'bench-app-credential-secret' };

/** Run a node script to its end (asynchronously: the stand-in it talks to lives in this process); its stdout. */
function runNode(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

export async function benchOpenStack(databaseUrl: string): Promise<Record<string, number>> {
  const from = Date.parse(`${DAY}T00:00:00Z`);
  const t = performance.now();
  const cloud = generateDemoCloud({
    start: from,
    end: from + 86_400_000,
    servers: SERVERS,
    changed: CHANGED,
    actionsPerServer: ACTIONS,
    projects: 200,
    credentials: { applicationCredential: CREDENTIAL },
    seed: 5,
  });
  const standin = await startStandin({ cloud, frozen: true });
  console.log(
    `generated a cloud of ${SERVERS} servers (${CHANGED} changed in ${DAY}, ${ACTIONS} actions each) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const figures: Record<string, number> = {};
  try {
    // Baseline: the pages the relay reads, fetched and parsed, nothing else, by a process of its own
    // (the relay is one too; the stand-in answering both lives in this one).
    const token = (
      await fetch(`${standin.authUrl}/auth/tokens`, {
        method: 'POST',
        body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: CREDENTIAL } } }),
      })
    ).headers.get('x-subject-token')!;
    const base = await runNode(['--import', 'tsx', 'test/bench/openstack-baseline.ts'], {
      BASELINE_NOVA: `${standin.url}/compute-public/v2.1`,
      BASELINE_TOKEN: token,
      BASELINE_DAY: DAY,
      BASELINE_CONCURRENCY: String(CONCURRENCY),
      BASELINE_PAGE_LIMIT: String(PAGE_LIMIT),
    });
    const { seconds: baseline, pages, actions } = JSON.parse(base) as { seconds: number; pages: number; actions: number };
    console.log(`baseline: ${pages} server pages and ${actions} action lists fetched (node:http) and parsed: ${baseline.toFixed(2)} s`);

    // The relay alone: curl reads the stream into /dev/null (the cheapest reader there is).
    const relay = await startRelayProcess({
      accountingFiles: false,
      env: openstackEnv(standin, {
        RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: CREDENTIAL.id,
        RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: CREDENTIAL.secret,
        RELAY_OPENSTACK_CONCURRENCY: String(CONCURRENCY),
      }),
      bundle: true,
    });
    try {
      const path = `/v1/instances?${new URLSearchParams({ from: `${DAY}T00:00:00Z`, to: new Date(from + 86_400_000).toISOString() })}`;
      const { seconds: relaySeconds, bytes, logged } = await curlRelay(relay, path);
      if (logged.complete !== true) throw new Error(`the relay's window was not complete: ${JSON.stringify(logged.error)}`);
      const records = Number(logged.records);
      console.log(
        `relay /v1/instances (${mib(bytes)} of NDJSON): ${relaySeconds.toFixed(2)} s, ${records} records, ` +
          `${(records / relaySeconds).toFixed(0)} records/s; ratio relay/baseline time ${(relaySeconds / baseline).toFixed(2)}`,
      );
      figures.relaySeconds = relaySeconds;
      figures.baselineSeconds = baseline;

      // End to end: the Worker collects the day through a backfill.
      const { run, wall } = await collectDayEndToEnd({
        databaseUrl,
        relay: { url: relay.url, secret: relay.secrets[0]! },
        entry: { cluster: `bench-cloud-${Date.now()}`, kind: 'openstack' },
        day: DAY,
      });
      const rss = peakRss(relay.pid);
      console.log(
        `end to end, one day of ${SERVERS} servers: ${run.status} in ${wall.toFixed(1)} s wall (run ${(Number(run.duration_ms) / 1000).toFixed(1)} s): ` +
          `${run.jobs} servers → ${run.events} events (target < 60 s)${run.error ? `; error: ${run.error}` : ''}`,
      );
      console.log(`relay peak RSS over both requests: ${mib(rss)} (target < 150 MB: ${(rss / 1e6).toFixed(0)} MB)`);
      figures.endToEndSeconds = wall;
      figures.relayRss = rss;
    } finally {
      await relay.stop();
    }
    return figures;
  } finally {
    await standin.close();
  }
}

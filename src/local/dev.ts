/**
 * `npm run dev` — the whole local stack in one command:
 *   1. the SQL-over-HTTP gateway (embedded PGlite in .data/pglite unless DATABASE_URL names a PostgreSQL),
 *   2. the migrations in drizzle/, applied through it,
 *   3. a demo cloud: a local Keystone + Nova stand-in on 127.0.0.1:8791 (src/local/openstack), with a
 *      generated week of servers,
 *   4. a demo relay on 127.0.0.1:8790 serving a generated PBS accounting log of the last 7 days and
 *      that cloud's servers,
 *   5. `wrangler dev` on 127.0.0.1:8787, offline-safe (no telemetry, no Request.cf fetch), configured to
 *      collect the cluster and the cloud from that relay when its cron is triggered (`/__scheduled`).
 * Ctrl-C stops all of it: the relay, wrangler and workerd run in their own process groups, signalled whole.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { configProblems } from '../config.ts';
import { addDays } from '../lib/utc-day.ts';
import { writeDemoAccountingLog } from './demo-accounting.ts';
import { startGateway } from './gateway/server.ts';
import { migrateDatabase } from './migrate.ts';
import { generateDemoCloud } from './openstack/demo-cloud.ts';
import { type Standin, startStandin } from './openstack/standin.ts';
import { DEMO_OPENSTACK_PROJECT, seedDemo } from './seed-demo.ts';
import { readDevVars, redactUrl, resolveDatabaseUrl } from './settings.ts';

const PORT = Number(process.env.PORT ?? 8787);
const GATEWAY_PORT = Number(process.env.GATEWAY_PORT ?? 4444);
const RELAY_PORT = Number(process.env.RELAY_PORT ?? 8790);
const CLOUD_PORT = Number(process.env.DEMO_CLOUD_PORT ?? 8791);
/** The demo cloud's application credential (the stand-in's; nothing real). */
const DEMO_CREDENTIAL = { id: 'demo-app-credential', secret: 'demo-app-credential-secret' };
const DEMO_DIR = '.data/demo-accounting';
const DEMO_TIMEZONE = 'Europe/Prague';
const started = performance.now();
const say = (msg: string) => console.log(`[dev] ${msg}`);
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;

const { url: databaseUrl, from } = resolveDatabaseUrl();
const devVars = readDevVars('.dev.vars');
/** A setting from the environment, then .dev.vars, else the local default (printed keys are dev-only). */
const setting = (key: string, fallback: string) => process.env[key] || devVars[key] || fallback;
const collectorKey = setting('COLLECTOR_API_KEY', 'dev-collector-key-change-me');
const adminKey = setting('ADMIN_API_KEY', 'dev-admin-key-change-me');
const readKey = setting('READ_API_KEY', 'dev-read-key-change-me');
const relaySecret = setting('RELAY_SECRET', 'dev-relay-secret-change-me');
const demoRelays = JSON.stringify([
  { cluster: 'demo', url: `http://127.0.0.1:${RELAY_PORT}`, authority: 'demo.local' },
  { cluster: 'demo-cloud', url: `http://127.0.0.1:${RELAY_PORT}`, kind: 'openstack' },
]);
/** The `--var`s wrangler gets on top of `.dev.vars` (which it reads itself): the local defaults of missing keys. */
function workerVars(sqlUrl: string, startDate: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    DATABASE_HTTP_URL: sqlUrl,
    ...(devVars.COLLECTOR_API_KEY ? {} : { COLLECTOR_API_KEY: collectorKey }),
    ...(devVars.ADMIN_API_KEY ? {} : { ADMIN_API_KEY: adminKey }),
    ...(devVars.READ_API_KEY ? {} : { READ_API_KEY: readKey }),
    ...(devVars.RELAY_SECRET ? {} : { RELAY_SECRET: relaySecret }),
    ...(devVars.RELAYS ? {} : { RELAYS: demoRelays }),
    ...(devVars.COLLECT_START_DATE ? {} : { COLLECT_START_DATE: startDate }),
  };
}

// The Worker's own schema, before anything starts: a bad key stops here, named, instead of every route answering 500.
const problems = configProblems({ ...devVars, ...workerVars(`http://127.0.0.1:${GATEWAY_PORT}/sql`, '2026-01-01') });
if (problems.length > 0) {
  console.error('[dev] invalid configuration (.dev.vars or the environment); nothing was started:');
  for (const problem of problems) console.error(`[dev]   ${problem}`);
  process.exit(1);
}
say(`database: ${redactUrl(databaseUrl)} (${from})`);

const children: ChildProcess[] = [];
let stopping = false;
/** The demo cloud, once started (stopped with the rest). */
let cloud: Standin | undefined;

/** Start a child in its own process group (so its own children go down with it). */
function startChild(name: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: 'inherit', detached: true, env: { ...process.env, ...env } });
  children.push(child);
  child.on('exit', (code) => {
    if (!stopping) {
      say(`${name} exited (${code}); stopping`);
      void stop(code ?? 1);
    }
  });
  return child;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await Promise.all(
      children
        .filter((c) => c.exitCode === null && c.signalCode === null)
        .map(async (child) => {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          signalGroup(child, 'SIGTERM');
          const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }),
    );
    await Promise.all([gateway?.close(), cloud?.close()]);
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
// Last resort if we die another way: never leave workerd or the relay behind.
process.on('exit', () => {
  for (const c of children) signalGroup(c, 'SIGKILL');
});

const gateway = await startGateway({
  port: GATEWAY_PORT,
  pglite: { dataDir: process.env.GATEWAY_DATA_DIR ?? '.data/pglite' },
  verbose: process.env.GATEWAY_VERBOSE === '1',
}).catch((err: NodeJS.ErrnoException) => {
  if (err.code === 'EADDRINUSE') {
    console.error(`[dev] port ${GATEWAY_PORT} is taken (another npm run dev?); set GATEWAY_PORT to use another`);
    process.exit(1);
  }
  throw err;
});
say(`gateway: ${gateway.sqlUrl}`);

try {
  await migrateDatabase({ databaseUrl, sqlUrl: gateway.sqlUrl });
  await seedDemo({ databaseUrl, sqlUrl: gateway.sqlUrl });
  say(`migrations applied, demo users/projects/allocations seeded (${elapsed()})`);
} catch (err) {
  console.error(`[dev] migrations failed: ${(err as Error).message}`);
  await stop(1);
}

// The demo relay: the last 7 complete UTC days of a small PBS Pro cluster called `demo`.
const yesterday = addDays(new Date().toISOString().slice(0, 10), -1);
const demoDays = Array.from({ length: 7 }, (_, i) => addDays(yesterday, i - 6));
rmSync(DEMO_DIR, { recursive: true, force: true });
const demo = await writeDemoAccountingLog({ dir: DEMO_DIR, days: demoDays, jobsPerDay: 400, timeZone: DEMO_TIMEZONE });
// The demo cloud: a week of servers (the seeded OpenStack GitOps allocation's project among them).
const cloudStart = Date.parse(`${demoDays[0]}T00:00:00Z`);
cloud = await startStandin({
  port: CLOUD_PORT,
  cloud: generateDemoCloud({
    start: cloudStart,
    end: Date.parse(`${yesterday}T00:00:00Z`) + 86_400_000,
    servers: 60,
    changed: 25,
    actionsPerServer: 6,
    projects: 4,
    knownProjects: [DEMO_OPENSTACK_PROJECT],
    credentials: { applicationCredential: DEMO_CREDENTIAL },
  }),
}).catch((err: NodeJS.ErrnoException) => {
  console.error(`[dev] cannot start the demo cloud on port ${CLOUD_PORT} (${err.code ?? err.message}); set DEMO_CLOUD_PORT to use another`);
  return stop(1);
});
say(`demo cloud (Keystone + Nova stand-in): ${cloud.authUrl} (${cloud.cloud.servers.length} servers)`);
const cloudAuthUrl = cloud.authUrl;

// The relay runs as `npm run relay` runs it: the bundled build (smaller and faster than through tsx).
execFileSync('npm', ['run', '-s', 'relay:build'], { stdio: 'inherit' });
startChild('relay', ['dist/relay/main.mjs'], {
  RELAY_HOST: '127.0.0.1',
  RELAY_PORT: String(RELAY_PORT),
  RELAY_SECRETS: relaySecret,
  RELAY_TIMEZONE: DEMO_TIMEZONE,
  RELAY_ACCOUNTING_DIR: DEMO_DIR,
  RELAY_OPENSTACK_AUTH_URL: cloudAuthUrl,
  RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: DEMO_CREDENTIAL.id,
  RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: DEMO_CREDENTIAL.secret,
});
say(`demo relay: http://127.0.0.1:${RELAY_PORT} (${demo.jobs} jobs, ${demoDays[0]} to ${yesterday}, in ${DEMO_DIR}; and the demo cloud)`);

const vars = workerVars(gateway.sqlUrl, demoDays[0]!);
startChild(
  'wrangler',
  [
    'node_modules/wrangler/bin/wrangler.js',
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(PORT),
    '--test-scheduled',
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ],
  { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
);

// Tell the newcomer when the Worker really answers, and what to try.
for (let i = 0; i < 120 && !stopping; i++) {
  try {
    const res = await fetch(`http://127.0.0.1:${PORT}/health`);
    if (res.ok) {
      say(`ready in ${elapsed()}: http://127.0.0.1:${PORT}/ — explorer at /doc. Ctrl-C stops everything.`);
      say(`collect the demo cluster and cloud now: curl 'http://127.0.0.1:${PORT}/__scheduled?cron=15+2+*+*+*'`);
      say(
        `then: curl -H 'Authorization: Bearer ${adminKey === 'dev-admin-key-change-me' ? adminKey : '<ADMIN_API_KEY>'}' http://127.0.0.1:${PORT}/admin/collection/runs`,
      );
      say(
        `operator page: http://127.0.0.1:${PORT}/operator (sign in with ${adminKey === 'dev-admin-key-change-me' ? adminKey : 'an ADMIN_API_KEY'})`,
      );
      break;
    }
  } catch {
    // not up yet
  }
  await new Promise((r) => setTimeout(r, 250));
}

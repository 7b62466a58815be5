/**
 * `npm run dev` — the whole local stack in one command:
 *   1. the SQL-over-HTTP gateway (embedded PGlite in .data/pglite unless DATABASE_URL names a PostgreSQL),
 *   2. the migrations in drizzle/, applied through it,
 *   3. `wrangler dev` on 127.0.0.1:8787, offline-safe (no telemetry, no Request.cf fetch).
 * Ctrl-C stops all of it: wrangler and workerd run in their own process group, which is signalled whole.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { startGateway } from './gateway/server.ts';
import { migrateDatabase } from './migrate.ts';
import { readDevVars, redactUrl, resolveDatabaseUrl } from './settings.ts';

const PORT = Number(process.env.PORT ?? 8787);
const GATEWAY_PORT = Number(process.env.GATEWAY_PORT ?? 4444);
const started = performance.now();
const say = (msg: string) => console.log(`[dev] ${msg}`);
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;

const { url: databaseUrl, from } = resolveDatabaseUrl();
// A key for local collectors when none is configured, printed so curl examples work.
const devVars = readDevVars('.dev.vars');
const collectorKey = process.env.COLLECTOR_API_KEY || devVars.COLLECTOR_API_KEY || 'dev-collector-key-change-me';
const adminKey = process.env.ADMIN_API_KEY || devVars.ADMIN_API_KEY || 'dev-admin-key-change-me';
say(`database: ${redactUrl(databaseUrl)} (${from})`);

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

let wrangler: ChildProcess | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (wrangler?.pid && wrangler.exitCode === null) {
      const group = -wrangler.pid;
      const exited = new Promise((resolve) => wrangler!.once('exit', resolve));
      try {
        process.kill(group, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(group, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    await gateway.close();
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('exit', () => {
  // Last resort if we die another way: never leave workerd behind.
  if (wrangler?.pid && wrangler.exitCode === null) {
    try {
      process.kill(-wrangler.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

try {
  await migrateDatabase({ databaseUrl, sqlUrl: gateway.sqlUrl });
  say(`migrations applied (${elapsed()})`);
} catch (err) {
  console.error(`[dev] migrations failed: ${(err as Error).message}`);
  await stop(1);
}

wrangler = spawn(
  process.execPath,
  [
    'node_modules/wrangler/bin/wrangler.js',
    'dev',
    '--ip', '127.0.0.1',
    '--port', String(PORT),
    '--test-scheduled',
    '--var', `DATABASE_URL:${databaseUrl}`,
    '--var', `DATABASE_HTTP_URL:${gateway.sqlUrl}`,
    ...(devVars.COLLECTOR_API_KEY ? [] : ['--var', `COLLECTOR_API_KEY:${collectorKey}`]),
    ...(devVars.ADMIN_API_KEY ? [] : ['--var', `ADMIN_API_KEY:${adminKey}`]),
  ],
  {
    stdio: 'inherit',
    detached: true, // its own process group, so workerd goes down with it
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  },
);
wrangler.on('exit', (code) => {
  if (!stopping) {
    say(`wrangler exited (${code}); stopping`);
    void stop(code ?? 1);
  }
});

// Tell the newcomer when the Worker really answers.
for (let i = 0; i < 120 && !stopping; i++) {
  try {
    const res = await fetch(`http://127.0.0.1:${PORT}/health`);
    if (res.ok) {
      say(`ready in ${elapsed()}: http://127.0.0.1:${PORT}/ (health: /health). Ctrl-C stops everything.`);
      break;
    }
  } catch {
    // not up yet
  }
  await new Promise((r) => setTimeout(r, 250));
}

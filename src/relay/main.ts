/**
 * `npm run relay` — the on-site relay (docs/architecture.md §2, §5): serves PBS job records and
 * OpenStack instance records to the Worker over signed HTTP. Configuration comes from the environment
 * (docs/relay.md, docs/openstack.md); logs are JSON lines on stdout.
 */
import { existsSync, statSync } from 'node:fs';
import { parseRelayConfig, type RelayConfig, RelayConfigError } from './config.ts';
import { ParsePool } from './parse-pool.ts';
import { OpenStackSource } from './openstack/instances.ts';
import { type RelayLogEntry, startRelayServer } from './server.ts';
import type { JobSource } from './source.ts';
import { accountingLogSource } from './sources/accounting-log.ts';
import { databaseSource } from './sources/database.ts';
import { qstatSource } from './sources/qstat-command.ts';
import { loadTlsCredentials, type RelayTlsFiles, type TlsCredentials } from './tls.ts';

const log = (level: RelayLogEntry['level'], msg: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);

/**
 * The most parse threads that keep the relay under its 100 MB memory budget. Measured
 * (`npm run bench -- relay-threads`, docs/relay.md): each thread costs about 5–10 MiB at its peak
 * (its V8 isolate, a heap capped at 2 MiB young and 8 MiB old generation, its blocks in flight), on
 * top of ~57 MiB idle and ~90 MiB at the peak of a 1,000,000-job day with none; two fit, three do not. A
 * larger RELAY_PARSE_THREADS is clamped to this, and the start-up log says so.
 */
const MAX_PARSE_THREADS = 2;

/** The parse threads' script: built next to this file (dist/relay); absent when run from the sources. */
const WORKER_SCRIPT = new URL('./accounting-worker.mjs', import.meta.url);

/** The configured sources, in the order a request without `source` reads them. */
function buildSources(config: RelayConfig, pool: ParsePool | undefined): JobSource[] {
  const sources: JobSource[] = [];
  if (config.accounting) sources.push(accountingLogSource({ dir: config.accounting.dir, timeZone: config.timeZone, pool }));
  if (config.qstat) sources.push(qstatSource({ command: config.qstat.argv, timeZone: config.timeZone }));
  if (config.db) sources.push(databaseSource({ url: config.db.url, query: config.db.query, timeZone: config.timeZone }));
  return sources;
}

/** What the start-up line says about each source: never the database URL (it may hold a password). */
function describeSources(config: RelayConfig): Record<string, string> {
  return {
    ...(config.accounting ? { accounting: config.accounting.dir } : {}),
    ...(config.qstat ? { qstat: config.qstat.argv.join(' ') } : {}),
    ...(config.db ? { db: config.db.query.replace(/\s+/g, ' ').slice(0, 80) } : {}),
    // Where Keystone, Prometheus are (never a credential: the Prometheus URL's user and password were removed).
    ...(config.openstack
      ? {
          openstack: `${config.openstack.authUrl} (${config.openstack.auth.method}, ${config.openstack.interface}${config.openstack.region ? `, ${config.openstack.region}` : ''})`,
          ...(config.openstack.prometheus ? { prometheus: config.openstack.prometheus.url } : {}),
        }
      : {}),
  };
}

async function main(): Promise<void> {
  let config: RelayConfig;
  let tls: TlsCredentials | undefined;
  try {
    config = parseRelayConfig(process.env);
    if (config.accounting && !isDirectory(config.accounting.dir)) {
      throw new RelayConfigError(`invalid relay configuration: RELAY_ACCOUNTING_DIR: is not a readable directory (${config.accounting.dir})`);
    }
    tls = config.tls && tlsCredentials(config.tls);
  } catch (err) {
    if (!(err instanceof RelayConfigError)) throw err;
    log('error', err.message);
    process.exit(2);
  }

  let pool: ParsePool | undefined;
  const threads = Math.min(config.parseThreads, MAX_PARSE_THREADS);
  if (config.accounting && threads < config.parseThreads) {
    log(
      'warn',
      `RELAY_PARSE_THREADS=${config.parseThreads} would take the relay past its 100 MB memory budget (5–10 MiB a thread); using ${threads}`,
      {
        parse_threads_asked: config.parseThreads,
        parse_threads: threads,
      },
    );
  }
  if (config.accounting && threads > 0) {
    if (existsSync(WORKER_SCRIPT)) pool = new ParsePool({ script: WORKER_SCRIPT, size: threads });
    else log('warn', 'parse threads need the built relay (npm run relay:build); accounting logs are parsed on the main thread');
  }

  const server = await startRelayServer({
    host: config.host,
    port: config.port,
    ...(tls ? { tls } : {}),
    secrets: config.secrets,
    maxWindowDays: config.maxWindowDays,
    sources: buildSources(config, pool),
    ...(config.openstack ? { instances: new OpenStackSource(config.openstack) } : {}),
  }).catch((err: Error) => {
    log('error', `cannot listen on ${config.host}:${config.port}: ${err.message}`);
    process.exit(1);
  });
  log('info', 'listening', {
    url: server.url,
    sources: describeSources(config),
    time_zone: config.timeZone,
    max_window_days: config.maxWindowDays,
    parse_threads: pool?.size ?? 0,
    secrets: config.secrets.length,
  });

  // SIGHUP (systemctl reload): read the certificate and key again, e.g. after a renewal; keep the old on failure.
  process.on('SIGHUP', () => {
    if (!config.tls) return log('warn', 'SIGHUP: the relay serves plain HTTP; nothing to reload');
    try {
      server.setTls(loadTlsCredentials(config.tls));
      log('info', 'TLS certificate reloaded', { cert: config.tls.certFile });
    } catch (err) {
      log('error', `TLS certificate not reloaded, the old one stays: ${(err as Error).message}`);
    }
  });

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1); // a second signal: stop now
      stopping = true;
      log('info', 'stopping', { signal });
      void Promise.all([server.close(), pool?.close()]).then(() => {
        log('info', 'stopped');
        process.exit(0);
      });
    });
  }
}

function tlsCredentials(files: RelayTlsFiles): TlsCredentials {
  try {
    return loadTlsCredentials(files);
  } catch (err) {
    throw new RelayConfigError(`invalid relay configuration: ${(err as Error).message}`);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

await main();

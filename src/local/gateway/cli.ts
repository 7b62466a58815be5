/**
 * `npm run gateway` — the local SQL-over-HTTP gateway on its own (development and tests only).
 * Production talks to Neon, or to Neon's own open-source proxy in front of a self-hosted database.
 */
import { parseArgs } from 'node:util';
import { EMBEDDED_DATABASE_URL, startGateway } from './server.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: process.env.GATEWAY_HOST ?? '127.0.0.1' },
    port: { type: 'string', default: process.env.GATEWAY_PORT ?? '4444' },
    'data-dir': { type: 'string', default: process.env.GATEWAY_DATA_DIR ?? '.data/pglite' },
    memory: { type: 'boolean', default: false },
    'allow-host': { type: 'string', multiple: true },
    'statement-timeout': { type: 'string' },
    verbose: { type: 'boolean', short: 'v', default: process.env.GATEWAY_VERBOSE === '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`usage: npm run gateway -- [options]

Speaks Neon's SQL-over-HTTP protocol on POST /sql. The connection string the client sends picks
the database: host '${'pglite'}' is the embedded PGlite database, any allowed host is a real PostgreSQL.

  --host H               interface to listen on (default 127.0.0.1; GATEWAY_HOST)
  --port N               port (default 4444; GATEWAY_PORT; 0 = any free port)
  --data-dir DIR         embedded database folder (default .data/pglite; GATEWAY_DATA_DIR)
  --memory               embedded database in memory (nothing kept)
  --allow-host H         PostgreSQL host a connection string may name (repeatable; default loopback)
  --statement-timeout MS statement_timeout for PostgreSQL sessions
  -v, --verbose          one log line per request (GATEWAY_VERBOSE=1)`);
  process.exit(0);
}

const gateway = await startGateway({
  host: values.host,
  port: Number(values.port),
  pglite: values.memory ? {} : { dataDir: values['data-dir'] },
  ...(values['allow-host'] ? { allowedHosts: values['allow-host'] } : {}),
  ...(values['statement-timeout'] ? { postgres: { statementTimeoutMs: Number(values['statement-timeout']) } } : {}),
  verbose: values.verbose,
});
console.log(`gateway: listening on ${gateway.sqlUrl} (development and test tool; not for production)`);
console.log(`gateway: embedded database ${values.memory ? 'in memory' : `in ${values['data-dir']}`}, connection string ${EMBEDDED_DATABASE_URL}`);

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    gateway.close().then(() => process.exit(0));
  });
}

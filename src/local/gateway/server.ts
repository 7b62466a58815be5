import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend } from './backend.ts';
import { PGliteBackend, type PGliteBackendOptions } from './backends/pglite.ts';
import { PostgresBackend, type PostgresBackendOptions } from './backends/postgres.ts';
import { executeBody } from './execute.ts';
import {
  type ConnectionTarget,
  GatewayError,
  gatewayErrorBody,
  MAX_REQUEST_BYTES,
  parseBatchOptions,
  parseBody,
  parseConnectionString,
  PostgresError,
  postgresErrorBody,
} from './protocol.ts';

/** The host name in a connection string that selects the embedded PGlite database. */
export const EMBEDDED_HOST = 'pglite';
/** The connection string `npm run dev` and the tests use when no PostgreSQL is configured. */
export const EMBEDDED_DATABASE_URL = `postgresql://zeus@${EMBEDDED_HOST}/zeus`;

export interface GatewayOptions {
  /** Interface to listen on; loopback unless told otherwise. */
  host?: string;
  /** Port; 0 picks a free one. Default 4444. */
  port?: number;
  /** The embedded backend: a data folder, or in memory when `dataDir` is unset. */
  pglite?: PGliteBackendOptions;
  postgres?: PostgresBackendOptions;
  /** PostgreSQL hosts a connection string may name (default: loopback only). */
  allowedHosts?: string[];
  maxRequestBytes?: number;
  /** One log line per request. */
  verbose?: boolean;
  log?: (line: string) => void;
}

export interface Gateway {
  /** Base URL, e.g. `http://127.0.0.1:4444`. */
  url: string;
  /** The endpoint to give `neonConfig.fetchEndpoint`: `${url}/sql`. */
  sqlUrl: string;
  port: number;
  pglite: PGliteBackend;
  close(): Promise<void>;
}

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers':
    'Authorization, Neon-Connection-String, Neon-Raw-Text-Output, Neon-Array-Mode, Neon-Pool-Opt-In, ' +
    'Neon-Batch-Read-Only, Neon-Batch-Isolation-Level, Neon-Batch-Deferrable',
};

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Access-Control-Allow-Origin': '*',
    'Neon-Request-Id': randomUUID(),
    'Content-Length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

/** Read the body with a cap; over the cap is a 413 without buffering the rest. */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  const tooLarge = () => new GatewayError(413, `request is too large (max is ${max} bytes)`);
  if (Number(req.headers['content-length'] ?? 0) > max) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        chunks.length = 0;
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const pglite = new PGliteBackend(options.pglite);
  const postgres = new PostgresBackend(options.postgres);
  const allowed = new Set(options.allowedHosts ?? LOOPBACK_HOSTS);
  const maxRequestBytes = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const log = options.log ?? ((line: string) => console.log(line));

  const backendFor = (target: ConnectionTarget): Backend => {
    if (target.host === EMBEDDED_HOST) return pglite;
    if (allowed.has(target.host)) return postgres;
    throw new GatewayError(400, `host '${target.host}' is not allowed by this gateway (allowed: ${EMBEDDED_HOST}, ${[...allowed].join(', ')})`);
  };

  async function handleSql(req: IncomingMessage, res: ServerResponse, note: string[]): Promise<number> {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const batch = parseBatchOptions(header);
    const target = parseConnectionString(header('neon-connection-string'));
    const body = parseBody(await readBody(req, maxRequestBytes));
    const backend = backendFor(target);
    note.push(`${backend.name}:${target.user}@${target.database}`);
    note.push(body.kind === 'single' ? 'single' : `batch(${body.statements.length})`);

    const aborted = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    const result = await backend.withSession(target, aborted.signal, (session) =>
      executeBody(session, body, {
        batch,
        rawText: header('neon-raw-text-output') === 'true',
        arrayMode: header('neon-array-mode') === 'true',
      }),
    );
    const echo: Record<string, string> = {};
    if (body.kind === 'batch') {
      if (batch.isolationLevel) echo['Neon-Batch-Isolation-Level'] = batch.isolationLevel;
      if (batch.readOnly) echo['Neon-Batch-Read-Only'] = 'true';
      if (batch.deferrable) echo['Neon-Batch-Deferrable'] = 'true';
    }
    if (res.destroyed) return 499;
    send(res, 200, result, echo);
    return 200;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const note: string[] = [];
    let status: number;
    try {
      if (path === '/sql' && req.method === 'OPTIONS') {
        res.writeHead(200, { Allow: 'OPTIONS, POST', 'Access-Control-Max-Age': '86400', ...CORS_HEADERS });
        res.end();
        status = 200;
      } else if (path === '/sql' && req.method === 'POST') {
        status = await handleSql(req, res, note);
      } else {
        req.resume();
        send(res, 400, 'query is not supported');
        status = 400;
      }
    } catch (err) {
      if (err instanceof PostgresError) {
        status = 400;
        note.push(`error ${err.fields.code}`);
        send(res, status, postgresErrorBody(err));
      } else if (err instanceof GatewayError) {
        status = err.status;
        note.push(`error: ${err.message}`);
        send(res, status, gatewayErrorBody(err.message));
      } else {
        status = 500;
        log(`gateway: internal error: ${(err as Error).stack ?? String(err)}`);
        send(res, status, gatewayErrorBody('internal gateway error'));
      }
    }
    if (options.verbose) {
      log(`${req.method} ${path} ${status} ${(performance.now() - started).toFixed(1)}ms ${note.join(' ')}`);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => log(`gateway: ${(err as Error).message}`));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4444, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  return {
    url,
    sqlUrl: `${url}/sql`,
    port: address.port,
    pglite,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([pglite.close(), postgres.close()]);
    },
  };
}

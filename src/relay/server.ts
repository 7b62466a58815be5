import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  isRfc3339WithOffset,
  JOB_SOURCES,
  type JobSourceKind,
  RELAY_HEALTH_PATH,
  RELAY_INSTANCES_PATH,
  RELAY_JOBS_PATH,
  RELAY_REQUEST_ID_PARAM,
  RELAY_USAGE_PATH,
} from '../contracts/relay-api.ts';
import type { ERROR_CODES, ErrorCode, Problem, ProblemFieldError } from '../contracts/problem.ts';
import { RELAY_SIGNATURE_HEADER, RELAY_TIMESTAMP_HEADER, ReplayGuard, verifyRelayRequest } from '../contracts/relay-signing.ts';
import { errorMessage, type StreamEncoding, type StreamResult, streamJobs, streamNdjson, streamUsage } from './ndjson.ts';
import type { InstanceSource, JobSource, Window } from './source.ts';
import type { TlsCredentials } from './tls.ts';

/**
 * The relay's HTTP API (docs/architecture.md §2, §3, §5): `GET /v1/health`, `GET /v1/jobs?from=&to=[&source=]`
 * and `GET /v1/usage?from=&to=[&source=]` (PBS: the jobs, or their on-site aggregation) and
 * `GET /v1/instances?from=&to=` (OpenStack), each served only when its sources are configured.
 * Every request is signed (relay-signing.ts), unknown paths included; errors are problem+json. The
 * NDJSON routes answer `Accept-Encoding: gzip` with a streamed gzip body.
 *
 * Without `source`, /v1/jobs reads every configured source in turn (accounting, qstat, db) and writes
 * each record each of them yields once. The relay does not deduplicate across sources: a job that two
 * configured sources both know (qstat's history and the accounting log, typically) appears once per
 * source, told apart by `origin.source`. A caller with overlapping sources names one with `source=`.
 */

export interface RelayServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8790; 0 = any free port. */
  port?: number;
  /** Serve HTTPS with this certificate and key (PEM); plain HTTP without. */
  tls?: TlsCredentials;
  /** Accepted signing secrets (more than one while rotating). */
  secrets: readonly string[];
  /** Longest window /v1/jobs serves. */
  maxWindowDays: number;
  /** The configured PBS sources, at most one of each kind, in the order a request without `source` reads them. */
  sources: readonly JobSource[];
  /** The OpenStack source, when configured. */
  instances?: InstanceSource;
  /** One JSON object per request (default: a JSON line on stdout). */
  log?: (entry: RelayLogEntry) => void;
  /** A client that reads nothing for this long is cut off (default 5 minutes). */
  stalledClientMs?: number;
  /** The clock signatures are checked against, in unix seconds (tests). */
  nowSeconds?: () => number;
}

export interface RelayLogEntry {
  time: string;
  level: 'info' | 'warn' | 'error';
  msg: string;
  [key: string]: unknown;
}

export interface RelayServer {
  /** http://HOST:PORT, or https:// */
  url: string;
  host: string;
  port: number;
  /** Stop listening, cut off the streams in flight (their clients see no summary line), and wait. */
  close(): Promise<void>;
  /** Serve new connections with a renewed certificate (HTTPS only; connections open keep theirs). */
  setTls(credentials: TlsCredentials): void;
}

type RelayErrorCode = Extract<ErrorCode, 'bad_request' | 'unauthorized' | 'not_found' | 'method_not_allowed' | 'internal'>;

/**
 * The part of the shared problem table (contracts/problem.ts) the relay answers with, checked against it
 * by the compiler; copied rather than imported so the relay does not load the Worker's OpenAPI library.
 */
const RELAY_ERRORS = {
  bad_request: { status: 400, title: 'Bad request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  internal: { status: 500, title: 'Internal server error' },
} as const satisfies { [K in RelayErrorCode]: (typeof ERROR_CODES)[K] };

class RelayHttpError extends Error {
  constructor(
    readonly code: RelayErrorCode,
    readonly detail: string,
    readonly errors?: ProblemFieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

const badParam = (path: string, message: string) =>
  new RelayHttpError('bad_request', `invalid query parameter '${path}': ${message}`, [{ path, message }]);

/** Whatever the reason (missing, malformed, skewed, wrong secret), the client sees this; the log says why. */
const UNAUTHORIZED = new RelayHttpError(
  'unauthorized',
  `the request must be signed with ${RELAY_TIMESTAMP_HEADER} and ${RELAY_SIGNATURE_HEADER} under a shared secret`,
);

export function startRelayServer(options: RelayServerOptions): Promise<RelayServer> {
  const log = options.log ?? ((entry: RelayLogEntry) => process.stdout.write(`${JSON.stringify(entry)}\n`));
  const inFlight = new Set<AbortController>();
  const replays = new ReplayGuard();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res, options, log, inFlight, replays);
  };
  const tls = options.tls;
  const server = tls ? createHttpsServer({ ...tls, minVersion: 'TLSv1.2' }, onRequest) : createServer(onRequest);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8790, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const { address, port } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      resolve({
        url: `${tls ? 'https' : 'http'}://${host}:${port}`,
        host: address,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const controller of inFlight) controller.abort(new Error('relay stopping'));
            server.closeAllConnections(); // the streams were just cut off; nothing is worth waiting for
          }),
        setTls(credentials) {
          if (!('setSecureContext' in server)) throw new Error('the relay serves plain HTTP: there is no certificate to renew');
          server.setSecureContext({ ...credentials });
        },
      });
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: RelayServerOptions,
  log: (entry: RelayLogEntry) => void,
  inFlight: Set<AbortController>,
  replays: ReplayGuard,
): Promise<void> {
  const started = performance.now();
  const requestId = randomUUID();
  const rawUrl = req.url ?? '/';
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rawUrl.slice(queryAt + 1);
  // Never the query string in the log (only the parameters once they are known to be what they should be).
  const entry: Record<string, unknown> = { request_id: requestId, method: req.method, path: path.slice(0, 200) };
  let records = 0;
  let level: RelayLogEntry['level'] = 'info';
  const controller = new AbortController();
  inFlight.add(controller);
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });
  req.resume(); // a GET has no body; never leave one unread
  res.setHeader('X-Request-Id', requestId);

  try {
    const failure = await verifyRelayRequest(
      options.secrets,
      { timestamp: header(req, RELAY_TIMESTAMP_HEADER), signature: header(req, RELAY_SIGNATURE_HEADER) },
      req.method ?? '',
      rawUrl,
      options.nowSeconds?.(),
    );
    if (failure) {
      entry.auth = failure;
      level = 'warn';
      throw UNAUTHORIZED;
    }
    // A valid signature is good once: the same signed request again within the window is refused.
    const reuse = replays.accept(header(req, RELAY_SIGNATURE_HEADER) ?? '', Number(header(req, RELAY_TIMESTAMP_HEADER)), options.nowSeconds?.());
    if (reuse !== 'ok') {
      entry.auth = reuse === 'replay' ? 'replay' : 'replay_memory_full';
      level = 'warn';
      throw UNAUTHORIZED;
    }
    if (path !== RELAY_HEALTH_PATH && path !== RELAY_JOBS_PATH && path !== RELAY_USAGE_PATH && path !== RELAY_INSTANCES_PATH) {
      throw new RelayHttpError('not_found', `no such path`);
    }
    const callerId = /(?:^|&)request_id=([A-Za-z0-9._-]{1,64})(?:&|$)/.exec(query)?.[1];
    if (callerId) entry.caller_request_id = callerId;
    if (req.method !== 'GET') {
      throw new RelayHttpError('method_not_allowed', `${path} answers GET only`, undefined, { Allow: 'GET' });
    }
    if (path === RELAY_HEALTH_PATH) {
      sendJson(res, 200, 'application/json', {
        status: 'ok',
        sources: [...options.sources.map((s) => s.kind), ...(options.instances ? [options.instances.kind] : [])],
        time: new Date().toISOString(),
      });
    } else {
      let result: StreamResult;
      const encoding: StreamEncoding = acceptsGzip(header(req, 'accept-encoding')) ? 'gzip' : 'identity';
      entry.encoding = encoding;
      if (path === RELAY_JOBS_PATH || path === RELAY_USAGE_PATH) {
        if (options.sources.length === 0) throw new RelayHttpError('not_found', 'this relay has no PBS source (it serves /v1/instances)');
        const request = parseJobsQuery(query, options);
        Object.assign(entry, windowFields(request.window), { source: request.source ?? 'all' });
        const stream = path === RELAY_JOBS_PATH ? streamJobs : streamUsage;
        result = await stream(res, request.sources, request.window, controller.signal, options.stalledClientMs, encoding);
      } else {
        const instances = options.instances;
        if (!instances) throw new RelayHttpError('not_found', 'this relay has no OpenStack source (RELAY_OPENSTACK_AUTH_URL)');
        const { window } = parseWindowQuery(query, ['from', 'to'], options.maxWindowDays);
        Object.assign(entry, windowFields(window), { source: instances.kind });
        const signal = controller.signal;
        result = await streamNdjson(res, (out) => instances.stream(window, out, signal), signal, options.stalledClientMs, encoding);
      }
      records = result.count;
      entry.complete = result.complete;
      if (result.aborted) entry.aborted = true;
      if (result.error) {
        entry.error = result.error;
        level = 'error';
      }
    }
  } catch (err) {
    if (!(err instanceof RelayHttpError)) {
      entry.error = { message: errorMessage(err) };
      level = 'error';
    }
    const problem = err instanceof RelayHttpError ? err : new RelayHttpError('internal', 'the relay failed; see its log');
    if (res.headersSent) res.destroy();
    else sendProblem(res, problem, requestId);
  } finally {
    inFlight.delete(controller);
    log({
      time: new Date().toISOString(),
      level,
      msg: 'request',
      ...entry,
      status: res.statusCode,
      records,
      duration_ms: Math.round(performance.now() - started),
    });
  }
}

interface JobsRequest {
  window: Window;
  source?: JobSourceKind;
  sources: readonly JobSource[];
}

const windowFields = (window: Window) => ({ from: window.from.toISOString(), to: window.to.toISOString() });

/**
 * A stream's query: only the parameters `known`, each at most once; `from` and `to` (RFC 3339 with an
 * offset, `to` after `from`, at most maxWindowDays apart).
 */
export function parseWindowQuery(query: string, known: readonly string[], maxWindowDays: number): { window: Window; params: Map<string, string> } {
  const params = new Map<string, string>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq === -1 ? part : part.slice(0, eq);
    const name = decode(rawName, 'a parameter name');
    if (!known.includes(name) && name !== RELAY_REQUEST_ID_PARAM)
      throw badParam(name.slice(0, 40), `unknown parameter (${known.slice(0, -1).join(', ')} and ${known.at(-1)} are known)`);
    if (params.has(name)) throw badParam(name, 'given more than once');
    // '+' stays '+': it can only be a time zone offset here, never a space.
    params.set(name, decode(eq === -1 ? '' : part.slice(eq + 1), name));
  }
  const requestId = params.get(RELAY_REQUEST_ID_PARAM);
  if (requestId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(requestId))
    throw badParam(RELAY_REQUEST_ID_PARAM, 'must be 1 to 64 letters, digits, dots, dashes or underscores');
  const time = (name: 'from' | 'to'): Date => {
    const value = params.get(name);
    if (value === undefined) throw badParam(name, 'is required');
    if (!isRfc3339WithOffset(value)) throw badParam(name, 'must be an RFC 3339 date-time with an offset, e.g. 2025-11-19T00:00:00Z');
    return new Date(value);
  };
  const from = time('from');
  const to = time('to');
  if (to.getTime() <= from.getTime()) throw badParam('to', 'must be after from');
  if (to.getTime() - from.getTime() > maxWindowDays * 86_400_000) {
    throw badParam('to', `the window is longer than ${maxWindowDays} days`);
  }
  return { window: { from, to }, params };
}

/** /v1/jobs: the window and an optional `source`. */
export function parseJobsQuery(query: string, options: Pick<RelayServerOptions, 'maxWindowDays' | 'sources'>): JobsRequest {
  const { window, params } = parseWindowQuery(query, ['from', 'to', 'source'], options.maxWindowDays);
  const source = params.get('source');
  if (source === undefined) return { window, sources: options.sources };
  if (!(JOB_SOURCES as readonly string[]).includes(source)) {
    throw badParam('source', `must be one of ${JOB_SOURCES.join(', ')}`);
  }
  const chosen = options.sources.filter((s) => s.kind === source);
  if (chosen.length === 0) {
    const configured = options.sources.map((s) => s.kind).join(', ');
    throw badParam('source', `is not configured on this relay (configured: ${configured})`);
  }
  return { window, source: source as JobSourceKind, sources: chosen };
}

/**
 * Whether `Accept-Encoding` accepts gzip (RFC 9110 §12.5.3): `gzip` (or `x-gzip`, or `*`) with a
 * weight above 0; an explicit `gzip;q=0` refuses it even when `*` is accepted.
 */
export function acceptsGzip(value: string | undefined): boolean {
  if (!value) return false;
  let star = false;
  for (const part of value.split(',')) {
    const [name = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    const accepted = Number.isFinite(weight) && weight > 0;
    if (name === 'gzip' || name === 'x-gzip') return accepted;
    if (name === '*') star = accepted;
  }
  return star;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw badParam(what, 'is not valid percent-encoding');
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
}

function sendJson(res: ServerResponse, status: number, type: string, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(text);
}

function sendProblem(res: ServerResponse, err: RelayHttpError, requestId: string): void {
  const body: Problem = {
    type: `/problems/${err.code}`,
    title: RELAY_ERRORS[err.code].title,
    status: RELAY_ERRORS[err.code].status,
    detail: err.detail,
    code: err.code,
    requestId,
    ...(err.errors ? { errors: err.errors } : {}),
  };
  sendJson(res, body.status, 'application/problem+json', body, err.headers);
}

/**
 * One way to call Keystone, Nova and Prometheus: a timeout per request, the window's abort signal,
 * and every failure as an UpstreamError that says which service, which request and what went wrong
 * (never a token, a secret or a whole response body). Through node:http(s) rather than fetch: a window
 * makes thousands of requests, and fetch's streams cost the relay about 30 MB more at its peak.
 * Redirects are not followed (an X-Auth-Token must never travel to another host).
 */
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type UpstreamService = 'keystone' | 'nova' | 'prometheus';
export type UpstreamErrorKind = 'http' | 'network' | 'timeout' | 'parse';

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    readonly service: UpstreamService,
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(`${service}: ${message}`);
  }
}

export interface UpstreamRequest {
  service: UpstreamService;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** The window's signal (the client went away, the relay is stopping). */
  signal: AbortSignal;
  timeoutMs: number;
  /** Said in error messages after the request line, e.g. `(page 3)`. */
  what?: string;
  /** Answer these statuses instead of failing (e.g. 404 for a project that no longer exists). */
  allow?: readonly number[];
}

export interface UpstreamResponse<T> {
  status: number;
  /** A response header (lower-case name). */
  header(name: string): string | undefined;
  body: T;
}

interface RawResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One HTTP exchange, the whole body read as UTF-8; rejects when the connection fails or closes early. */
function exchange(url: URL, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      { method, headers: body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error('the connection closed before the answer was complete'));
          else
            resolve({
              status: res.statusCode ?? 0,
              statusText: res.statusMessage ?? '',
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The request as error messages name it: method and path with query (credentials never travel in either). */
function describe(req: UpstreamRequest): string {
  const url = new URL(req.url);
  return `${req.method ?? 'GET'} ${url.pathname}${url.search}${req.what ? ` ${req.what}` : ''}`;
}

/** The first words of an error body: OpenStack's `{"itemNotFound": {"message": …}}`, Prometheus' `{"error": …}`, or text. */
function bodyHint(text: string): string {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (typeof value.error === 'string') return value.error.slice(0, 200);
    for (const inner of Object.values(value)) {
      if (inner && typeof inner === 'object' && typeof (inner as { message?: unknown }).message === 'string') {
        return (inner as { message: string }).message.slice(0, 200);
      }
    }
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 120);
}

/** Call an upstream and parse its JSON answer; any failure throws an UpstreamError. */
export async function requestJson<T = unknown>(req: UpstreamRequest): Promise<UpstreamResponse<T>> {
  req.signal.throwIfAborted();
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = AbortSignal.any([req.signal, timeout]);
  let response: RawResponse;
  try {
    response = await exchange(new URL(req.url), req.method ?? 'GET', { Accept: 'application/json', ...req.headers }, req.body, signal);
  } catch (err) {
    if (req.signal.aborted) throw req.signal.reason;
    if (timeout.aborted) throw new UpstreamError(req.service, 'timeout', `${describe(req)}: no answer within ${req.timeoutMs / 1000} s`);
    const code = (err as NodeJS.ErrnoException).code;
    throw new UpstreamError(req.service, 'network', `${describe(req)}: ${code ?? (err as Error).message}`);
  }
  const { status, statusText, text } = response;
  if (!(status >= 200 && status < 300) && !req.allow?.includes(status)) {
    const hint = bodyHint(text);
    throw new UpstreamError(
      req.service,
      'http',
      `${describe(req)} answered ${status}${statusText ? ` ${statusText}` : ''}${hint ? `: ${hint}` : ''}`,
      status,
    );
  }
  let body: T;
  try {
    body = (text === '' ? null : JSON.parse(text)) as T;
  } catch {
    throw new UpstreamError(req.service, 'parse', `${describe(req)}: the answer (${status}) is not JSON`, status);
  }
  const headers = response.headers;
  return {
    status,
    header: (name) => {
      const value = headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    body,
  };
}

/** A shape check that fails the window with a clear message instead of a TypeError later. */
export function expectShape(ok: boolean, service: UpstreamService, what: string): asserts ok {
  if (!ok) throw new UpstreamError(service, 'parse', what);
}

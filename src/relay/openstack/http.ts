/**
 * One way to call Keystone, Nova and Prometheus: a timeout per request, the window's abort signal,
 * and every failure as an UpstreamError that says which service, which request and what went wrong
 * (never a token, a secret or a whole response body).
 */

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

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

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
  fetch?: FetchLike;
}

export interface UpstreamResponse<T> {
  status: number;
  headers: Headers;
  body: T;
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
        return ((inner as { message: string }).message).slice(0, 200);
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
  let response: Response;
  let text: string;
  try {
    response = await (req.fetch ?? fetch)(req.url, {
      method: req.method ?? 'GET',
      headers: { Accept: 'application/json', ...req.headers },
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal,
      redirect: 'error',
    });
    text = await response.text();
  } catch (err) {
    if (req.signal.aborted) throw req.signal.reason;
    if (timeout.aborted) throw new UpstreamError(req.service, 'timeout', `${describe(req)}: no answer within ${req.timeoutMs / 1000} s`);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new UpstreamError(req.service, 'network', `${describe(req)}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  if (!response.ok && !req.allow?.includes(response.status)) {
    const hint = bodyHint(text);
    throw new UpstreamError(
      req.service,
      'http',
      `${describe(req)} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${hint ? `: ${hint}` : ''}`,
      response.status,
    );
  }
  let body: T;
  try {
    body = (text === '' ? null : JSON.parse(text)) as T;
  } catch {
    throw new UpstreamError(req.service, 'parse', `${describe(req)}: the answer (${response.status}) is not JSON`, response.status);
  }
  return { status: response.status, headers: response.headers, body };
}

/** A shape check that fails the window with a clear message instead of a TypeError later. */
export function expectShape(ok: boolean, service: UpstreamService, what: string): asserts ok {
  if (!ok) throw new UpstreamError(service, 'parse', what);
}

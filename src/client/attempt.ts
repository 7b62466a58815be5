import { z } from '@hono/zod-openapi';
import { COLLECTOR_KEY_HEADER, type IngestRequest, type IngestResponse, IngestResponseSchema } from '../contracts/usage-event.ts';
import { ProblemSchema } from '../contracts/problem.ts';
import type { ClientProblem, SendFailure } from './report.ts';
import { parseRetryAfter } from './retry.ts';

/** One POST of one batch: build the request, bound it in time, classify and parse the answer. */

/** `globalThis.fetch`, a service binding's `fetch`, or an app's `fetch` handler. */
export type FetchLike = (request: Request) => Promise<Response>;

export const INGEST_PATH = '/collector/resource-usage';
const BODY_TEXT_LIMIT = 2000;

export interface AttemptContext {
  url: string;
  apiKey: string;
  timeoutMs: number;
  fetch: FetchLike;
  /** Removes the API key from any text that ends up in a report, an error or a log. */
  redact: (text: string) => string;
}

export type AttemptResult = { ok: true; status: number; response: IngestResponse } | { ok: false; failure: SendFailure; retryAfterMs?: number };

/**
 * The server's ProblemSchema with `code` widened to any string: a client must still read the
 * problems of a newer server, whose code table has grown since this client was built.
 */
const ClientProblemSchema = ProblemSchema.extend({ code: z.string() });

class Timeout extends Error {}

/**
 * Send `body` once. `start` is the caller position of the batch's first event: indexes in the
 * answer and paths in a problem are shifted by it. Never throws.
 */
export async function postBatch(ctx: AttemptContext, body: IngestRequest, start: number): Promise<AttemptResult> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Raced against both the fetch and the body read, so an injected fetch that ignores the
  // signal still cannot hang a send.
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Timeout(`no complete answer within ${ctx.timeoutMs} ms`);
      controller.abort(err);
      reject(err);
    }, ctx.timeoutMs);
  });
  timedOut.catch(() => {});

  let status: number;
  let text: string;
  let retryAfterMs: number | undefined;
  let contentType: string;
  try {
    const request = new Request(ctx.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, application/problem+json',
        [COLLECTOR_KEY_HEADER]: ctx.apiKey,
      },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    const res = await Promise.race([ctx.fetch(request), timedOut]);
    status = res.status;
    retryAfterMs = parseRetryAfter(res.headers.get('Retry-After'));
    contentType = res.headers.get('Content-Type') ?? '';
    text = ctx.redact(await Promise.race([res.text(), timedOut]));
  } catch (err) {
    if (err instanceof Timeout || (controller.signal.aborted && controller.signal.reason instanceof Timeout)) {
      return { ok: false, failure: { kind: 'timeout', message: `no complete answer within ${ctx.timeoutMs} ms` } };
    }
    return { ok: false, failure: { kind: 'network', message: ctx.redact(describeError(err)) } };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }

  const size = body.events.length;
  if (status >= 200 && status <= 299) {
    const parsed = IngestResponseSchema.safeParse(parseJson(text));
    const bad = parsed.success ? parsed.data.events.find((e) => e.index < 0 || e.index >= size) : undefined;
    if (!parsed.success || bad) {
      const why = parsed.success ? `event index ${bad!.index} outside the batch of ${size}` : 'not an IngestResponse';
      return { ok: false, failure: { kind: 'parse', status, message: `HTTP ${status}: ${why}`, body: clip(text) } };
    }
    const response = parsed.data;
    return {
      ok: true,
      status,
      response: { ...response, events: response.events.map((e) => ({ ...e, index: e.index + start })) },
    };
  }

  const problem = /json/i.test(contentType) ? ClientProblemSchema.safeParse(parseJson(text)) : undefined;
  const failure: SendFailure = problem?.success
    ? {
        kind: 'http',
        status,
        message: `HTTP ${status} ${problem.data.code}: ${problem.data.detail}`,
        problem: shiftProblem(problem.data, start),
      }
    : { kind: 'http', status, message: `HTTP ${status}${text ? `: ${clip(text, 200)}` : ''}`, body: clip(text) };
  return { ok: false, failure, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

/** `events[3].x` in a batch starting at 200 → `events[203].x`; `detail` stays as the server wrote it. */
function shiftProblem(problem: ClientProblem, start: number): ClientProblem {
  if (!problem.errors || start === 0) return problem;
  return {
    ...problem,
    errors: problem.errors.map((e) => ({
      ...e,
      path: e.path.replace(/^events\[(\d+)\]/, (_, i: string) => `events[${Number(i) + start}]`),
    })),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function clip(text: string, limit = BODY_TEXT_LIMIT): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

/** `fetch failed: connect ECONNREFUSED 127.0.0.1:1` — the error and, when there is one, its cause. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause && cause !== err.message ? `${err.message}: ${cause}` : err.message;
}

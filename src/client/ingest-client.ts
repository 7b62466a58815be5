import { MAX_EVENTS_PER_REQUEST, type UsageEvent, type UsageEventInput } from '../contracts/usage-event.ts';
import { type AttemptContext, type FetchLike, INGEST_PATH, postBatch } from './attempt.ts';
import type { BatchResult, IngestClientEvent, SendReport } from './report.ts';
import { cryptoRandom, isRetryable, retryDelayMs, sleep as defaultSleep } from './retry.ts';
import { validateEvents } from './validate.ts';

/**
 * The typed ingest client: the TypeScript counterpart of the seed's Python `ZeusClient`.
 * Runs on Node ≥ 20, Workers and Deno (only fetch, AbortController, setTimeout and
 * crypto.getRandomValues), and inside another Worker through an injected `fetch` (a service binding).
 */

export interface IngestClientOptions {
  /** Base URL of the service (`https://zeus.example.org`); `/collector/resource-usage` is appended unless already there. */
  endpoint: string;
  /** Sent as `X-Zeus-Collector-Key`; never logged, never in a report or an error. */
  apiKey: string;
  /** Events per request (COLLECTOR_BATCH_MAX), 1 … MAX_EVENTS_PER_REQUEST. Default 100. */
  batchMax?: number;
  /** Attempts per batch, the first included. Default 5. */
  maxAttempts?: number;
  /** Backoff ceiling of the first retry; doubles each retry. Default 500 ms. */
  baseDelayMs?: number;
  /** No wait between attempts is longer, Retry-After included. Default 30 000 ms. */
  maxDelayMs?: number;
  /** Per attempt, until the whole answer is read. Default 30 000 ms. */
  timeoutMs?: number;
  /** Stop at the first batch that fails after its retries (the rest are `skipped`). Default false: go on. */
  stopOnError?: boolean;
  /** Default `globalThis.fetch`. In a Worker: a service binding's `fetch`. */
  fetch?: FetchLike;
  /** Progress notes (retries, batch outcomes, a stop) for a logger. Exceptions it throws are ignored. */
  onEvent?: (event: IngestClientEvent) => void;
  /** Waits between attempts. Default setTimeout; tests inject one that records the delays. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) for the jitter. Default from crypto.getRandomValues. */
  random?: () => number;
}

export interface IngestClient {
  /**
   * Validate every event locally (throws IngestValidationError naming `events[i].path`, before
   * anything is sent), then send them in batches of `batchMax`, one after the other.
   * Does not throw for HTTP or network failures: they are in the report.
   * A 401 stops the send at once (the key is wrong for every batch): the remaining batches are
   * `skipped` and `report.stopped` is `'unauthorized'`.
   */
  send(events: readonly UsageEventInput[]): Promise<SendReport>;
}

export function createIngestClient(options: IngestClientOptions): IngestClient {
  const {
    batchMax = 100,
    maxAttempts = 5,
    baseDelayMs = 500,
    maxDelayMs = 30_000,
    timeoutMs = 30_000,
    stopOnError = false,
    sleep = defaultSleep,
    random = cryptoRandom,
  } = options;
  const url = ingestUrl(options.endpoint);
  const apiKey = checkApiKey(options.apiKey);
  checkInteger('batchMax', batchMax, 1, MAX_EVENTS_PER_REQUEST);
  checkInteger('maxAttempts', maxAttempts, 1, 100);
  checkNumber('baseDelayMs', baseDelayMs, 0);
  checkNumber('maxDelayMs', maxDelayMs, 0);
  checkNumber('timeoutMs', timeoutMs, 1);

  const injected = options.fetch;
  const ctx: AttemptContext = {
    url,
    apiKey,
    timeoutMs,
    // Called as a plain function: Workers refuse a `fetch` invoked with another `this`.
    fetch: injected ?? ((request) => fetch(request)),
    redact: (text) => text.split(apiKey).join('[redacted]'),
  };
  const emit = (event: IngestClientEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A failing logger must not fail the send.
    }
  };

  async function sendBatch(batch: number, events: UsageEvent[], start: number): Promise<BatchResult> {
    const end = start + events.length;
    const began = Date.now();
    for (let attempt = 1; ; attempt++) {
      const result = await postBatch(ctx, { events }, start);
      if (result.ok) {
        const durationMs = Date.now() - began;
        emit({ type: 'batch', batch, start, end, outcome: 'ok', status: result.status, attempts: attempt, durationMs });
        return { batch, start, end, outcome: 'ok', status: result.status, attempts: attempt, durationMs, response: result.response };
      }
      const { failure } = result;
      const status = failure.kind === 'http' || failure.kind === 'parse' ? failure.status : null;
      if (!isRetryable(failure) || attempt >= maxAttempts) {
        const durationMs = Date.now() - began;
        emit({ type: 'batch', batch, start, end, outcome: 'failed', status, attempts: attempt, durationMs, message: failure.message });
        return { batch, start, end, outcome: 'failed', status, attempts: attempt, durationMs, failure };
      }
      const delayMs = retryDelayMs(attempt, result.retryAfterMs, { baseDelayMs, maxDelayMs, random });
      emit({ type: 'retry', batch, attempt, kind: failure.kind, status, message: failure.message, delayMs });
      await sleep(delayMs);
    }
  }

  return {
    async send(input) {
      const began = Date.now();
      const events = validateEvents(input);
      const batches: BatchResult[] = [];
      let stopped: SendReport['stopped'];
      for (let start = 0, batch = 0; start < events.length; start += batchMax, batch++) {
        const end = Math.min(start + batchMax, events.length);
        if (stopped) {
          batches.push({ batch, start, end, outcome: 'skipped', status: null, attempts: 0, durationMs: 0 });
          continue;
        }
        const result = await sendBatch(batch, events.slice(start, end), start);
        batches.push(result);
        if (result.outcome === 'failed' && (result.status === 401 || stopOnError)) {
          stopped = result.status === 401 ? 'unauthorized' : 'stop_on_error';
          const skippedEvents = events.length - end;
          emit({ type: 'stopped', reason: stopped, batch, skippedBatches: Math.ceil(skippedEvents / batchMax), skippedEvents });
        }
      }
      return summarise(events.length, batches, stopped, Date.now() - began);
    },
  };
}

function summarise(count: number, batches: BatchResult[], stopped: SendReport['stopped'], durationMs: number): SendReport {
  const totals = { events: count, inserted: 0, updated: 0, unchanged: 0, failed: 0, skipped: 0 };
  for (const b of batches) {
    if (b.outcome === 'ok') {
      totals.inserted += b.response.inserted;
      totals.updated += b.response.updated;
      totals.unchanged += b.response.unchanged;
    } else if (b.outcome === 'failed') totals.failed += b.end - b.start;
    else totals.skipped += b.end - b.start;
  }
  return { ok: batches.every((b) => b.outcome === 'ok'), ...(stopped ? { stopped } : {}), totals, batches, durationMs };
}

/** `https://h/base` → `https://h/base/collector/resource-usage`; a URL already ending in the path is kept. */
function ingestUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError('endpoint must be an absolute http(s) URL, e.g. https://zeus.example.org');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('endpoint must be an http(s) URL');
  if (url.username || url.password) throw new TypeError('endpoint must not carry credentials; pass apiKey');
  const base = url.pathname.replace(/\/+$/, '');
  url.pathname = base.endsWith(INGEST_PATH) ? base : `${base}${INGEST_PATH}`;
  return url.toString();
}

/** Trimmed like fetch trims header values; checked here so that no platform error ever quotes it. */
function checkApiKey(apiKey: unknown): string {
  if (typeof apiKey !== 'string' || apiKey.trim() === '') throw new TypeError('apiKey is required');
  const key = apiKey.trim();
  if (!/^[\x21-\x7e]+$/.test(key)) throw new TypeError('apiKey must be printable ASCII without spaces');
  return key;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

function checkNumber(name: string, value: number, min: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`${name} must be a finite number ≥ ${min}, got ${value}`);
  }
}

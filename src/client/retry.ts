import type { SendFailure } from './report.ts';

/**
 * Retry policy of the ingest client: which failures are worth another attempt and how long to
 * wait before it. Pure functions, no I/O.
 */

/**
 * Network errors, timeouts, 429 and 5xx are transient; every other answer (400, 401, 413, 415,
 * 422, …) would be the same on the next attempt, and a 2xx that does not match the contract is a
 * version mismatch, not a hiccup. Retrying is always safe: ingest is idempotent (docs/architecture.md §1).
 */
export function isRetryable(failure: SendFailure): boolean {
  switch (failure.kind) {
    case 'network':
    case 'timeout':
      return true;
    case 'http':
      return failure.status === 429 || (failure.status >= 500 && failure.status <= 599);
    case 'parse':
      return false;
  }
}

export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  /** A number in [0, 1). */
  random: () => number;
}

/**
 * Delay before the attempt after `attempt` (1-based) failed: the server's `Retry-After` when it
 * sent one, else exponential backoff with full jitter, `random() × min(maxDelayMs, baseDelayMs × 2^(attempt-1))`.
 * Either way never more than `maxDelayMs`.
 */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, policy: BackoffPolicy): number {
  const { baseDelayMs, maxDelayMs, random } = policy;
  if (retryAfterMs !== undefined) return Math.min(maxDelayMs, retryAfterMs);
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds (`120`) or an HTTP date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`); a date in the past is 0. Anything else is undefined
 * (the header is then ignored and backoff applies).
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Every HTTP date form (IMF-fixdate, RFC 850, asctime) names the month; this keeps the
  // engine's liberal date parser from reading "1.5" or "-1" as a date.
  if (!/\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** A uniform number in [0, 1) from the platform's CSPRNG (Node ≥ 20, Workers and Deno all have it). */
export function cryptoRandom(): number {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return buf[0]! / 2 ** 32;
}

/** `setTimeout` as a promise. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

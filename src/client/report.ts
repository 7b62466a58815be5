import type { IngestResponse } from '../contracts/usage-event.ts';
import type { Problem } from '../contracts/problem.ts';

/**
 * What `send()` hands back. Every event position in here (batch ranges, `response.events[].index`,
 * `problem.errors[].path`) refers to the caller's full list, not to the batch it travelled in.
 * Nothing in a report, an event or an error ever carries the API key.
 */

/** Why one attempt (or, for the last attempt, a batch) failed. */
/** A problem+json body: the server's Problem, except that `code` may be one this client does not know yet. */
export type ClientProblem = Omit<Problem, 'code'> & { code: Problem['code'] | (string & {}) };

export type SendFailure =
  /** The server answered with a non-2xx status. */
  | {
      kind: 'http';
      status: number;
      message: string;
      /** The body when it is a valid problem+json (`errors[].path` mapped to caller positions). */
      problem?: ClientProblem;
      /** Otherwise the body as text (first 2000 characters), e.g. from a proxy or an edge rate limit. */
      body?: string;
    }
  /** A 2xx whose body is not an IngestResponse for this batch: a client/server version mismatch. */
  | { kind: 'parse'; status: number; message: string; body: string }
  /** No answer: connection refused or reset, DNS, TLS, the injected fetch threw. */
  | { kind: 'network'; message: string }
  /** No complete answer within `timeoutMs`. */
  | { kind: 'timeout'; message: string };

export type SendFailureKind = SendFailure['kind'];

interface BatchBase {
  /** 0-based position of the batch in this send. */
  batch: number;
  /** The batch is `events.slice(start, end)` of the caller's list (start inclusive, end exclusive). */
  start: number;
  end: number;
}

export type BatchResult =
  | (BatchBase & {
      outcome: 'ok';
      status: number;
      attempts: number;
      durationMs: number;
      /** The server's answer, validated with IngestResponseSchema; `events[].index` is a caller position. */
      response: IngestResponse;
    })
  | (BatchBase & {
      outcome: 'failed';
      /** The last HTTP status, null when the last attempt got no answer. */
      status: number | null;
      attempts: number;
      durationMs: number;
      /** The last attempt's failure. */
      failure: SendFailure;
    })
  | (BatchBase & {
      /** Never sent, because the send stopped first (401, or `stopOnError`). */
      outcome: 'skipped';
      status: null;
      attempts: 0;
      durationMs: 0;
    });

export interface SendTotals {
  /** Events given to `send()`. Always events = inserted + updated + unchanged + failed + skipped. */
  events: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** Events of batches that were sent and failed after their last attempt. */
  failed: number;
  /** Events of batches never sent because the send stopped. */
  skipped: number;
}

export interface SendReport {
  /** Every batch was stored. */
  ok: boolean;
  /** Set when the send stopped before its last batch: a 401, or a failed batch under `stopOnError`. */
  stopped?: 'unauthorized' | 'stop_on_error';
  totals: SendTotals;
  batches: BatchResult[];
  durationMs: number;
}

/** Progress notes for logging; small, and never holding the key or event payloads. */
export type IngestClientEvent =
  | {
      type: 'retry';
      batch: number;
      /** The attempt that failed (1-based). */
      attempt: number;
      kind: SendFailureKind;
      status: number | null;
      message: string;
      /** Wait before the next attempt (Retry-After or backoff, bounded by maxDelayMs). */
      delayMs: number;
    }
  | {
      type: 'batch';
      batch: number;
      start: number;
      end: number;
      outcome: 'ok' | 'failed';
      status: number | null;
      attempts: number;
      durationMs: number;
      message?: string;
    }
  | { type: 'stopped'; reason: 'unauthorized' | 'stop_on_error'; batch: number; skippedBatches: number; skippedEvents: number };

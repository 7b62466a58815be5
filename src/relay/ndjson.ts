import type { ServerResponse } from 'node:http';
import type { JobStreamSummary } from '../contracts/job-record.ts';
import type { StreamErrorLine } from '../contracts/relay-api.ts';
import { type JobSource, type NdjsonBlock, type NdjsonOut, newStats, type Window } from './source.ts';

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson; charset=utf-8';

/** A client that reads nothing for this long is dropped (it would hold a query or a command open). */
export const STALLED_CLIENT_MS = 5 * 60_000;

export class StalledClientError extends Error {
  override name = 'StalledClientError';
}

/**
 * Write one NDJSON line. When the socket's buffer is full (`write` returns false) wait for 'drain'
 * before returning, so a slow reader slows the source down instead of filling the relay's memory.
 * Rejects with an AbortError when `signal` aborts (the client went away) while waiting, and with a
 * StalledClientError when the client reads nothing for `stalledMs`.
 */
export function writeNdjsonLine(res: ServerResponse, value: unknown, signal: AbortSignal, stalledMs = STALLED_CLIENT_MS): Promise<void> {
  return writeChunk(res, `${JSON.stringify(value)}\n`, signal, stalledMs);
}

/** Lines are sent in chunks of about this size: one write (and one HTTP chunk) per record is far slower. */
const CHUNK_BYTES = 64 * 1024;

async function writeChunk(res: ServerResponse, data: string | Uint8Array, signal: AbortSignal, stalledMs: number): Promise<void> {
  signal.throwIfAborted();
  if (res.write(data)) return;
  await waitForDrain(res, signal, stalledMs);
}

/**
 * Wait for 'drain' (what `once(res, 'drain', { signal })` does, plus the stall timer). The timer is
 * cleared as soon as the wait is over: a timer per write that lingered for `stalledMs` (as
 * `AbortSignal.timeout` does) kept thousands of objects alive per stream, and the relay's memory grew.
 */
function waitForDrain(res: ServerResponse, signal: AbortSignal, stalledMs: number): Promise<void> {
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const done = (err?: unknown) => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('error', done);
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onDrain = () => done();
    const onAbort = () => done(signal.reason);
    const timer = setTimeout(() => done(new StalledClientError(`the client read nothing for ${stalledMs} ms`)), stalledMs);
    res.on('drain', onDrain);
    res.on('error', done);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Write a borrowed block (NdjsonBlock.release): its memory is released once the socket has taken it,
 * or when the response closes, whichever comes first (a destroyed socket may never call back):
 * `unflushed` holds the releases still waiting, and the response's `close` runs them.
 */
async function writeBlock(
  res: ServerResponse,
  block: NdjsonBlock,
  unflushed: Set<() => void>,
  signal: AbortSignal,
  stalledMs: number,
): Promise<void> {
  const release = block.release;
  if (!release) return writeChunk(res, block.bytes, signal, stalledMs);
  if (signal.aborted || res.destroyed) {
    release();
    signal.throwIfAborted();
    return;
  }
  unflushed.add(release);
  const done = () => {
    unflushed.delete(release);
    release();
  };
  if (res.write(block.bytes, done)) return;
  await waitForDrain(res, signal, stalledMs);
}

export interface StreamResult {
  /** Records written. */
  count: number;
  /** The summary line was written: the client got everything. */
  complete: boolean;
  /** The client went away (or the relay is stopping) before the end. */
  aborted: boolean;
  /** The source that failed mid-stream, and why (also the stream's error line). */
  error?: { source: string; message: string };
}

/**
 * The framing every relay stream shares (/v1/jobs, /v1/instances): NDJSON records sent in chunks of
 * about CHUNK_BYTES, then ONE summary line `{"summary": {count, ...}}` with the fields `body` returns.
 * When `body` throws, what was read goes out and the stream ends with an error line
 * (`{"error": {source, message}}`, StreamErrorLine) instead of the summary, so no client can take it
 * as complete. An abort, or a client that stops reading for `stalledMs`, cuts the response off. Never throws.
 */
export async function streamNdjson(
  res: ServerResponse,
  body: (out: NdjsonOut) => Promise<Record<string, unknown>>,
  signal: AbortSignal,
  stalledMs = STALLED_CLIENT_MS,
): Promise<StreamResult> {
  res.writeHead(200, {
    'Content-Type': NDJSON_CONTENT_TYPE,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.flushHeaders();
  const unflushed = new Set<() => void>();
  res.once('close', () => {
    for (const release of unflushed) release();
    unflushed.clear();
  });

  let count = 0;
  // Records go out in chunks of CHUNK_BYTES; a slow source still gets what it has out within 20 ms.
  let pending = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flushPending = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending && !res.destroyed) res.write(pending);
    pending = '';
  };
  const out: NdjsonOut = {
    source: '',
    async record(value) {
      pending += `${JSON.stringify(value)}\n`;
      count++;
      if (pending.length >= CHUNK_BYTES) {
        clearTimeout(timer);
        timer = undefined;
        const chunk = pending;
        pending = '';
        await writeChunk(res, chunk, signal, stalledMs);
      } else {
        timer ??= setTimeout(flushPending, 20);
      }
    },
    async block(block) {
      flushPending();
      await writeBlock(res, block, unflushed, signal, stalledMs);
      count += block.count;
    },
  };
  try {
    const fields = await body(out);
    signal.throwIfAborted();
    clearTimeout(timer);
    if (pending) await writeChunk(res, pending, signal, stalledMs);
    await writeNdjsonLine(res, { summary: { count, ...fields } }, signal, stalledMs);
    res.end();
    return { count, complete: true, aborted: false };
  } catch (err) {
    clearTimeout(timer);
    if (signal.aborted) {
      res.destroy();
      return { count, complete: false, aborted: true };
    }
    if (err instanceof StalledClientError) {
      res.destroy();
      return { count, complete: false, aborted: true, error: { source: 'client', message: err.message } };
    }
    // Cut off: what was read goes out, then the error line in place of the summary.
    const error = { source: out.source, message: errorMessage(err) };
    flushPending();
    if (!res.destroyed) res.write(`${JSON.stringify({ error } satisfies StreamErrorLine)}\n`);
    res.end();
    return { count, complete: false, aborted: false, error };
  }
}

/**
 * Stream the jobs of `sources`, one after another (streamNdjson's framing), closed by the jobs'
 * summary line (JobStreamSummarySchema). Only records whose `end` lies in [from, to) go out; anything
 * else a source yields is counted as skipped (a source that serves `ndjson` has filtered them itself).
 */
export function streamJobs(
  res: ServerResponse,
  sources: readonly JobSource[],
  window: Window,
  signal: AbortSignal,
  stalledMs = STALLED_CLIENT_MS,
): Promise<StreamResult> {
  const stats = newStats();
  const from = window.from.getTime();
  const to = window.to.getTime();
  return streamNdjson(
    res,
    async (out) => {
      for (const source of sources) {
        out.source = source.kind;
        if (source.ndjson) {
          // Parsed, filtered and serialised elsewhere (parse threads): only bytes to copy here.
          for await (const block of source.ndjson(window, stats, signal)) await out.block(block);
          signal.throwIfAborted();
          continue;
        }
        for await (const record of source.jobs(window, stats, signal)) {
          const end = record.end === null ? NaN : Date.parse(record.end);
          if (!(end >= from && end < to)) {
            stats.skipped++;
            continue;
          }
          await out.record(record);
        }
        signal.throwIfAborted();
      }
      const summary: Omit<JobStreamSummary, 'count'> = {
        malformed: stats.malformed,
        skipped: stats.skipped,
        inputs: stats.inputs,
        malformed_examples: stats.malformed_examples.slice(0, 20),
      };
      return summary;
    },
    signal,
    stalledMs,
  );
}

export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 500);
}

import type { ServerResponse } from 'node:http';
import { pipeline, type Writable } from 'node:stream';
import { constants as zlibConstants, createGzip } from 'node:zlib';
import type { JobRecord, JobStreamSummary } from '../contracts/job-record.ts';
import { PbsUsageFold } from '../contracts/pbs-usage.ts';
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
export function writeNdjsonLine(res: Writable, value: unknown, signal: AbortSignal, stalledMs = STALLED_CLIENT_MS): Promise<void> {
  return writeChunk(res, `${JSON.stringify(value)}\n`, signal, stalledMs);
}

/** Lines are sent in chunks of about this size: one write (and one HTTP chunk) per record is far slower. */
const CHUNK_BYTES = 64 * 1024;

async function writeChunk(res: Writable, data: string | Uint8Array, signal: AbortSignal, stalledMs: number): Promise<void> {
  signal.throwIfAborted();
  if (res.write(data)) return;
  await waitForDrain(res, signal, stalledMs);
}

/**
 * Wait for 'drain' (what `once(res, 'drain', { signal })` does, plus the stall timer). The timer is
 * cleared as soon as the wait is over: a timer per write that lingered for `stalledMs` (as
 * `AbortSignal.timeout` does) kept thousands of objects alive per stream, and the relay's memory grew.
 */
function waitForDrain(res: Writable, signal: AbortSignal, stalledMs: number): Promise<void> {
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
async function writeBlock(res: Writable, block: NdjsonBlock, unflushed: Set<() => void>, signal: AbortSignal, stalledMs: number): Promise<void> {
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

/** How a stream's body is encoded on the wire: as is, or gzip (the client sent `Accept-Encoding: gzip`). */
export type StreamEncoding = 'identity' | 'gzip';

/**
 * The framing every relay stream shares (/v1/jobs, /v1/usage, /v1/instances): NDJSON records sent in chunks of
 * about CHUNK_BYTES, then ONE summary line `{"summary": {count, ...}}` with the fields `body` returns.
 * When `body` throws, what was read goes out and the stream ends with an error line
 * (`{"error": {source, message}}`, StreamErrorLine) instead of the summary, so no client can take it
 * as complete. An abort, or a client that stops reading for `stalledMs`, cuts the response off. Never throws.
 *
 * With `encoding: 'gzip'` everything goes through one streamed gzip (node:zlib) in front of the socket:
 * its buffer is as bounded as the socket's (a full one makes `write` wait for 'drain'), so memory stays
 * constant however long the stream; a response cut off part-way is a truncated gzip stream, which no
 * reader decodes to the end, and it still lacks its summary line.
 */
export async function streamNdjson(
  res: ServerResponse,
  body: (out: NdjsonOut) => Promise<Record<string, unknown>>,
  signal: AbortSignal,
  stalledMs = STALLED_CLIENT_MS,
  encoding: StreamEncoding = 'identity',
): Promise<StreamResult> {
  res.writeHead(200, {
    'Content-Type': NDJSON_CONTENT_TYPE,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    Vary: 'Accept-Encoding',
    ...(encoding === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}),
  });
  res.flushHeaders();
  // Level 6 (zlib's default): ~10× smaller NDJSON for little CPU; a 16 KiB output chunk, as the socket takes them.
  const gzip = encoding === 'gzip' ? createGzip({ level: 6, chunkSize: 16 * 1024 }) : undefined;
  if (gzip) pipeline(gzip, res, () => {}); // either failing destroys both; the outcome is seen below
  const sink: Writable = gzip ?? res;
  const cutOff = () => {
    gzip?.destroy();
    res.destroy();
  };
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
    if (pending && !sink.destroyed) {
      sink.write(pending);
      // A slow source (a cloud's API): what it has goes out now, even through gzip.
      gzip?.flush(zlibConstants.Z_SYNC_FLUSH);
    }
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
        await writeChunk(sink, chunk, signal, stalledMs);
      } else {
        timer ??= setTimeout(flushPending, 20);
      }
    },
    async block(block) {
      flushPending();
      await writeBlock(sink, block, unflushed, signal, stalledMs);
      count += block.count;
    },
  };
  try {
    const fields = await body(out);
    signal.throwIfAborted();
    clearTimeout(timer);
    if (pending) await writeChunk(sink, pending, signal, stalledMs);
    await writeNdjsonLine(sink, { summary: { count, ...fields } }, signal, stalledMs);
    sink.end();
    return { count, complete: true, aborted: false };
  } catch (err) {
    clearTimeout(timer);
    if (signal.aborted) {
      cutOff();
      return { count, complete: false, aborted: true };
    }
    if (err instanceof StalledClientError) {
      cutOff();
      return { count, complete: false, aborted: true, error: { source: 'client', message: err.message } };
    }
    // Cut off: what was read goes out, then the error line in place of the summary.
    const error = { source: out.source, message: errorMessage(err) };
    flushPending();
    if (!sink.destroyed) sink.write(`${JSON.stringify({ error } satisfies StreamErrorLine)}\n`);
    sink.end();
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
  encoding: StreamEncoding = 'identity',
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
          if (!endsIn(record, from, to)) {
            stats.skipped++;
            continue;
          }
          await out.record(record);
        }
        signal.throwIfAborted();
      }
      return summaryOf(stats);
    },
    signal,
    stalledMs,
    encoding,
  );
}

/**
 * `GET /v1/usage`: the jobs `streamJobs` would send, folded on site (contracts/pbs-usage.ts) into one
 * line per (project, user, UTC day), then the summary with `jobs` and `records` besides /v1/jobs's
 * fields. A source with parse threads folds on them (`fold`: only groups come back); any other is
 * folded here from its records. The lines go out once every source is read: a source that fails
 * part-way gives the error line alone, never a partial aggregate.
 */
export function streamUsage(
  res: ServerResponse,
  sources: readonly JobSource[],
  window: Window,
  signal: AbortSignal,
  stalledMs = STALLED_CLIENT_MS,
  encoding: StreamEncoding = 'identity',
): Promise<StreamResult> {
  const stats = newStats();
  const from = window.from.getTime();
  const to = window.to.getTime();
  const fold = new PbsUsageFold();
  return streamNdjson(
    res,
    async (out) => {
      for (const source of sources) {
        out.source = source.kind;
        if (source.fold) {
          await source.fold(window, stats, signal, fold);
        } else {
          for await (const record of source.jobs(window, stats, signal)) {
            // Nothing is written until the end: the abort (a client gone) is looked for here.
            signal.throwIfAborted();
            if (!endsIn(record, from, to)) {
              stats.skipped++;
              continue;
            }
            fold.add(record);
          }
        }
        signal.throwIfAborted();
      }
      out.source = 'usage';
      for (const line of fold.lines()) await out.record(line);
      const { jobs, records } = fold.totals;
      return { jobs, records, ...summaryOf(stats) } satisfies Omit<JobStreamSummary, 'count'> & { jobs: number; records: number };
    },
    signal,
    stalledMs,
    encoding,
  );
}

/** Whether a job's `end` lies in [from, to) (epoch ms); a job without an end never does. */
function endsIn(record: JobRecord, from: number, to: number): boolean {
  const end = record.end === null ? NaN : Date.parse(record.end);
  return end >= from && end < to;
}

/** The summary fields both job routes report from a source's counters. */
function summaryOf(stats: ReturnType<typeof newStats>): Omit<JobStreamSummary, 'count'> {
  return {
    malformed: stats.malformed,
    skipped: stats.skipped,
    inputs: stats.inputs,
    malformed_examples: stats.malformed_examples.slice(0, 20),
  };
}

export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 500);
}

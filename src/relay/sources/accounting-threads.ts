/**
 * The accounting source's fast path: this thread only cuts a day file into blocks of whole lines and
 * numbers them; the pool's threads parse and serialise the blocks (accounting-lines.ts `parseBlock`);
 * the answers are taken back in file order. The records, their order, the counts and the malformed
 * examples are exactly those of the one-thread reader (a test holds the two together).
 */
import type { Readable } from 'node:stream';
import type { ParsePool } from '../parse-pool.ts';
import { type NdjsonBlock, noteMalformed, type SourceStats, type Window } from '../source.ts';
import type { ParseBlockResult } from './accounting-lines.ts';

export interface ThreadedReadOptions {
  pool: ParsePool;
  window: Window;
  stats: SourceStats;
  signal: AbortSignal;
  maxLineBytes: number;
}

/** What the splitter found: whole lines for a thread, or a line this thread settles itself. */
type Piece =
  | { kind: 'lines'; bytes: Uint8Array; lines: number }
  /** A line longer than maxLineBytes: dropped unread (malformed). */
  | { kind: 'oversized' }
  /** The last line has no `\n` yet: PBS is still writing it (skipped; the next read sees it whole). */
  | { kind: 'unfinished' };

function countLines(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = bytes.indexOf(10, from); i !== -1 && i < to; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Cut a byte stream into pieces of whole lines (each a fresh copy, so it can be moved to a thread),
 * with memory bounded by the longest line as in line-reader.ts: a line longer than `maxLineBytes`
 * is dropped as it streams by.
 */
export async function* splitLines(chunks: AsyncIterable<Buffer | Uint8Array>, maxLineBytes: number): AsyncGenerator<Piece> {
  let rest: Uint8Array[] = [];
  let restBytes = 0;
  let oversized = false;
  for await (const raw of chunks) {
    const chunk = raw instanceof Uint8Array ? raw : new Uint8Array(raw);
    let from = 0;
    const last = chunk.lastIndexOf(10);
    if (last === -1) {
      // No line ends here: the current line only grows.
      if (!oversized && restBytes + chunk.length > maxLineBytes) {
        rest = [];
        restBytes = 0;
        oversized = true;
      } else if (!oversized) {
        rest.push(chunk.slice());
        restBytes += chunk.length;
      }
      continue;
    }
    if (oversized || restBytes > 0) {
      // The line carried over from earlier chunks ends at the first newline here.
      const nl = chunk.indexOf(10);
      if (oversized || restBytes + nl > maxLineBytes) {
        yield { kind: 'oversized' };
        from = nl + 1;
        rest = [];
        restBytes = 0;
      }
      oversized = false;
    }
    if (from <= last) {
      const size = restBytes + last + 1 - from;
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const r of rest) {
        bytes.set(r, at);
        at += r.length;
      }
      bytes.set(chunk.subarray(from, last + 1), at);
      yield { kind: 'lines', bytes, lines: countLines(bytes, 0, bytes.length) };
    }
    rest = [];
    restBytes = 0;
    const tail = chunk.length - (last + 1);
    if (tail > maxLineBytes) oversized = true;
    else if (tail > 0) {
      rest.push(chunk.slice(last + 1));
      restBytes = tail;
    }
  }
  if (oversized) yield { kind: 'oversized' };
  else if (restBytes > 0) yield { kind: 'unfinished' };
}

/**
 * The window's records of one day file as NDJSON blocks, parsed on the pool's threads with a few
 * blocks in flight per thread, taken back in order. `input.lines` counts the file's lines as they are
 * handed out; `stats` gets each block's counts in file order.
 */
export async function* parseInThreads(
  stream: Readable,
  input: { name: string; lines: number },
  { pool, window, stats, signal, maxLineBytes }: ThreadedReadOptions,
): AsyncGenerator<NdjsonBlock> {
  const fromMs = window.from.getTime();
  const toMs = window.to.getTime();
  /** Blocks on their way back, and the lines this thread settles, in file order. */
  const queue: (Promise<ParseBlockResult> | { line: number; kind: 'oversized' | 'unfinished' })[] = [];
  const maxInFlight = pool.size * 2;
  const settle = async (): Promise<NdjsonBlock | null> => {
    const next = queue.shift()!;
    if (!(next instanceof Promise)) {
      if (next.kind === 'oversized') noteMalformed(stats, `${input.name}:${next.line}: line longer than ${maxLineBytes} bytes`);
      else stats.skipped++;
      return null;
    }
    const result = await next;
    stats.skipped += result.skipped;
    for (const example of result.examples) noteMalformed(stats, example);
    stats.malformed += result.malformed - result.examples.length;
    return result.count > 0 ? { bytes: result.ndjson, count: result.count } : null;
  };
  try {
    for await (const piece of splitLines(stream, maxLineBytes)) {
      signal.throwIfAborted();
      if (piece.kind === 'lines') {
        const firstLine = input.lines + 1;
        input.lines += piece.lines;
        const task = pool.run({ file: input.name, bytes: piece.bytes, firstLine, fromMs, toMs, maxLineBytes });
        task.catch(() => {}); // awaited in order below; this only keeps an early failure from going unhandled
        queue.push(task);
      } else {
        queue.push({ line: ++input.lines, kind: piece.kind });
      }
      while (queue.length >= maxInFlight) {
        const block = await settle();
        if (block) yield block;
      }
    }
    while (queue.length > 0) {
      const block = await settle();
      if (block) yield block;
    }
  } finally {
    queue.length = 0; // answers still coming are dropped (their rejections are already handled)
  }
}

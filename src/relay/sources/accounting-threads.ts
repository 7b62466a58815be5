/**
 * The accounting source's fast path: this thread only cuts a day file into blocks of whole lines and
 * numbers them; the pool's threads parse and serialise the blocks (accounting-lines.ts `parseBlock`);
 * the answers are taken back in file order. The records, their order, the counts and the malformed
 * examples are exactly those of the one-thread reader (a test holds the two together).
 */
import type { BlockSlot, ParsePool } from '../parse-pool.ts';
import { type NdjsonBlock, noteMalformed, type SourceStats, type Window } from '../source.ts';
import type { ParseBlockResult } from './accounting-lines.ts';
import type { PbsUsageFold } from '../../contracts/pbs-usage.ts';

export interface ThreadedReadOptions {
  pool: ParsePool;
  window: Window;
  stats: SourceStats;
  signal: AbortSignal;
  maxLineBytes: number;
  /** Fold the blocks into this (`GET /v1/usage`) instead of serialising them: nothing is yielded. */
  fold?: PbsUsageFold;
}

/** What the splitter found: whole lines for a thread, or a line this thread settles itself. */
export type Piece =
  /** Whole lines: the concatenation of `parts`, valid only until the next piece is asked for. */
  | { kind: 'lines'; parts: Uint8Array[]; size: number; lines: number }
  /** A line longer than maxLineBytes: dropped unread (malformed). */
  | { kind: 'oversized' }
  /** The last line has no `\n` yet: PBS is still writing it (skipped; the next read sees it whole). */
  | { kind: 'unfinished' };

/** A copy (a Buffer's `slice` is a view, and the reader reuses its buffer). */
const copyOf = (view: Uint8Array) => new Uint8Array(view);

function countLines(parts: Uint8Array[]): number {
  let n = 0;
  for (const bytes of parts) for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Cut a byte stream into pieces of whole lines, with memory bounded by the longest line as in
 * line-reader.ts: a line longer than `maxLineBytes` is dropped as it streams by. A piece points into
 * the chunk just read (the reader may reuse its buffer), so it must be copied before the next is asked
 * for; the start of a line that continues in the next chunk is copied here.
 */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>, maxLineBytes: number): AsyncGenerator<Piece> {
  let rest: Uint8Array[] = [];
  let restBytes = 0;
  let oversized = false;
  for await (const chunk of chunks) {
    let from = 0;
    const last = chunk.lastIndexOf(10);
    if (last === -1) {
      // No line ends here: the current line only grows.
      if (!oversized && restBytes + chunk.length > maxLineBytes) {
        rest = [];
        restBytes = 0;
        oversized = true;
      } else if (!oversized) {
        rest.push(copyOf(chunk));
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
      const parts = [...rest, chunk.subarray(from, last + 1)];
      yield { kind: 'lines', parts, size: restBytes + last + 1 - from, lines: countLines(parts) };
    }
    rest = [];
    restBytes = 0;
    const tail = chunk.length - (last + 1);
    if (tail > maxLineBytes) oversized = true;
    else if (tail > 0) {
      rest.push(copyOf(chunk.subarray(last + 1)));
      restBytes = tail;
    }
  }
  if (oversized) yield { kind: 'oversized' };
  else if (restBytes > 0) yield { kind: 'unfinished' };
}

let foldRequests = 0;

/**
 * The window's records of one day file as NDJSON blocks, parsed on the pool's threads as far ahead as
 * the pool has slots, taken back in order. Each block travels in one of the pool's slots of shared
 * memory; a block's slot goes back to the pool when its `release` is called (after the bytes are
 * written) or, for blocks never handed out, when this generator ends. `input.lines` counts the file's
 * lines as they are handed out; `stats` gets each block's counts in file order.
 */
export async function* parseInThreads(
  chunks: AsyncIterable<Uint8Array>,
  input: { name: string; lines: number },
  { pool, window, stats, signal, maxLineBytes, fold }: ThreadedReadOptions,
): AsyncGenerator<NdjsonBlock> {
  const fromMs = window.from.getTime();
  const toMs = window.to.getTime();
  type Pending = { task: Promise<ParseBlockResult>; slot: BlockSlot };
  /** Blocks on their way back, and the lines this thread settles, in file order. */
  const queue: (Pending | { line: number; kind: 'oversized' | 'unfinished' })[] = [];
  /** This read's number for the threads' folds (0: not folding). */
  const foldRequest = fold === undefined ? 0 : ++foldRequests;
  const settle = async (): Promise<NdjsonBlock | null> => {
    const next = queue.shift()!;
    if (!('task' in next)) {
      if (next.kind === 'oversized') noteMalformed(stats, `${input.name}:${next.line}: line longer than ${maxLineBytes} bytes`);
      else stats.skipped++;
      return null;
    }
    let result: ParseBlockResult;
    try {
      result = await next.task;
    } catch (err) {
      pool.releaseSlot(next.slot);
      throw err;
    }
    stats.skipped += result.skipped;
    for (const example of result.examples) noteMalformed(stats, example);
    stats.malformed += result.malformed - result.examples.length;
    if (result.usage) {
      fold?.mergePacked(result.usage);
      pool.releaseSlot(next.slot);
      return null;
    }
    if (result.count === 0 || result.ndjson !== null) {
      // Nothing to write, or written to the thread's own memory (a block larger than a slot): the slot is free now.
      pool.releaseSlot(next.slot);
      return result.count === 0 ? null : { bytes: result.ndjson!, count: result.count };
    }
    const slot = next.slot;
    let released = false;
    const release = () => {
      if (!released) pool.releaseSlot(slot);
      released = true;
    };
    return { bytes: slot.output.subarray(0, result.written), count: result.count, release };
  };
  // The pump cuts the file and hands blocks to the threads for as long as the pool has slots, while the
  // blocks already parsed are being written: when it only ran between writes, the threads waited for
  // work whenever the client was slow to take a block.
  let pumped = false;
  let pumpError: unknown;
  let wake = null as (() => void) | null;
  const stopped = new AbortController();
  const slotSignal = AbortSignal.any([signal, stopped.signal]);
  const pushed = (entry: (typeof queue)[number]) => {
    queue.push(entry);
    wake?.();
  };
  const pump = (async () => {
    try {
      for await (const piece of splitLines(chunks, maxLineBytes)) {
        slotSignal.throwIfAborted();
        if (piece.kind !== 'lines') {
          pushed({ line: ++input.lines, kind: piece.kind });
          continue;
        }
        const slot = await pool.acquireSlot(slotSignal);
        // Into the slot's shared memory; a block too large for it (a long line carried over) gets its own.
        const bytes = piece.size <= slot.input.length ? slot.input.subarray(0, piece.size) : new Uint8Array(piece.size);
        let at = 0;
        for (const part of piece.parts) {
          bytes.set(part, at);
          at += part.length;
        }
        const firstLine = input.lines + 1;
        input.lines += piece.lines;
        const task = pool.run({ file: input.name, bytes, output: slot.output, firstLine, fromMs, toMs, maxLineBytes, fold: foldRequest });
        task.catch(() => {}); // awaited in order below; this only keeps an early failure from going unhandled
        pushed({ task, slot });
      }
    } catch (err) {
      pumpError = err;
    } finally {
      pumped = true;
      wake?.();
    }
  })();
  try {
    for (;;) {
      if (queue.length > 0) {
        const block = await settle();
        if (block) yield block;
        continue;
      }
      if (pumped) {
        if (pumpError !== undefined) throw pumpError;
        break;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
    }
  } finally {
    stopped.abort();
    await pump;
    // Blocks never handed out: their slots come back once their threads are done with them.
    for (const entry of queue.splice(0)) {
      if ('task' in entry)
        entry.task.then(
          () => pool.releaseSlot(entry.slot),
          () => pool.releaseSlot(entry.slot),
        );
    }
  }
}

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

/** Reads up to `target.length` bytes of a file into `target`, and answers how many (0: the file has ended). */
export type ReadInto = (target: Uint8Array) => Promise<number>;

/**
 * {@link ReadInto} over a stream of chunks (a gzip file's, unpacked): each read takes what is left of the
 * current chunk, as much as fits.
 */
export function readIntoFrom(chunks: AsyncIterable<Uint8Array>): ReadInto {
  const iterator = chunks[Symbol.asyncIterator]();
  let chunk: Uint8Array = new Uint8Array(0);
  let at = 0;
  return async (target) => {
    while (at === chunk.length) {
      const next = await iterator.next();
      if (next.done) return 0;
      chunk = next.value;
      at = 0;
    }
    const n = Math.min(target.length, chunk.length - at);
    target.set(chunk.subarray(at, at + n));
    at += n;
    return n;
  };
}

/** The pool's slots as the splitter takes them: one to read into, given back when it held no whole line. */
export interface SlotLender {
  acquire(): Promise<BlockSlot>;
  release(slot: BlockSlot): void;
}

/** What the splitter found: whole lines for a thread, or a line this thread settles itself. */
export type Piece =
  /**
   * Whole lines, `bytes`, in `slot`'s input (or, after a line longer than the slot's headroom, in memory of
   * their own): the slot is the taker's to release.
   */
  | { kind: 'lines'; slot: BlockSlot; bytes: Uint8Array; lines: number }
  /** A line longer than maxLineBytes: dropped unread (malformed). */
  | { kind: 'oversized' }
  /** The last line has no `\n` yet: PBS is still writing it (skipped; the next read sees it whole). */
  | { kind: 'unfinished' };

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function countLines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Cut a file into pieces of whole lines, read straight into the slots' shared memory: the file's bytes
 * are read into a slot's input after its headroom (the input's bytes past `blockBytes`), where the start
 * of a line carried over from the previous read is put. Copying every block into shared memory cost the
 * main thread more than reading it (V8 copies into shared memory byte by byte, as atomics). Memory is
 * bounded by the longest line as in line-reader.ts: a line longer than `maxLineBytes` is dropped as it
 * streams by; a line carried over is kept in memory of this thread's own.
 */
export async function* splitIntoSlots(read: ReadInto, slots: SlotLender, blockBytes: number, maxLineBytes: number): AsyncGenerator<Piece> {
  /** The start of the current line, read earlier (copies), and whether it is already too long. */
  let carry: Uint8Array[] = [];
  let carryBytes = 0;
  let oversized = false;
  for (;;) {
    const slot = await slots.acquire();
    let handed = false;
    try {
      const input = slot.input;
      const headroom = input.length - blockBytes;
      const n = await read(input.subarray(headroom));
      if (n === 0) break;
      const chunk = asBuffer(input.subarray(headroom, headroom + n));
      const last = chunk.lastIndexOf(10);
      if (last === -1) {
        // No line ends here: the current line only grows.
        if (!oversized && carryBytes + n > maxLineBytes) {
          carry = [];
          carryBytes = 0;
          oversized = true;
        } else if (!oversized) {
          carry.push(new Uint8Array(chunk));
          carryBytes += n;
        }
        continue;
      }
      let from = 0;
      if (oversized || carryBytes > 0) {
        // The line carried over ends at the first newline here.
        const nl = chunk.indexOf(10);
        if (oversized || carryBytes + nl > maxLineBytes) {
          yield { kind: 'oversized' };
          from = nl + 1;
          carry = [];
          carryBytes = 0;
        }
        oversized = false;
      }
      let bytes: Uint8Array | null = null;
      if (from <= last) {
        if (carryBytes === 0) bytes = input.subarray(headroom + from, headroom + last + 1);
        else {
          // The carried start goes in front of the read bytes: in the headroom, or (longer) with them in memory of their own.
          const own = carryBytes > headroom;
          bytes = own ? new Uint8Array(carryBytes + last + 1) : input.subarray(headroom - carryBytes, headroom + last + 1);
          let at = 0;
          for (const part of carry) {
            bytes.set(part, at);
            at += part.length;
          }
          if (own) bytes.set(chunk.subarray(0, last + 1), at);
        }
      }
      // What follows the last newline is copied out before the block is handed on.
      carry = [];
      carryBytes = 0;
      const tail = n - (last + 1);
      if (tail > maxLineBytes) oversized = true;
      else if (tail > 0) {
        carry.push(new Uint8Array(chunk.subarray(last + 1)));
        carryBytes = tail;
      }
      if (bytes !== null) {
        handed = true;
        yield { kind: 'lines', slot, bytes, lines: countLines(asBuffer(bytes)) };
      }
    } finally {
      if (!handed) slots.release(slot);
    }
  }
  if (oversized) yield { kind: 'oversized' };
  else if (carryBytes > 0) yield { kind: 'unfinished' };
}

let foldRequests = 0;

/**
 * The window's records of one day file (read by `read`) as NDJSON blocks, parsed on the pool's threads as
 * far ahead as the pool has slots, taken back in order. Each block travels in one of the pool's slots of shared
 * memory; a block's slot goes back to the pool when its `release` is called (after the bytes are
 * written) or, for blocks never handed out, when this generator ends. `input.lines` counts the file's
 * lines as they are handed out; `stats` gets each block's counts in file order.
 */
export async function* parseInThreads(
  read: ReadInto,
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
      const lender = { acquire: () => pool.acquireSlot(slotSignal), release: (slot: BlockSlot) => pool.releaseSlot(slot) };
      for await (const piece of splitIntoSlots(read, lender, pool.blockBytes, maxLineBytes)) {
        if (piece.kind !== 'lines') {
          slotSignal.throwIfAborted();
          pushed({ line: ++input.lines, kind: piece.kind });
          continue;
        }
        if (slotSignal.aborted) {
          pool.releaseSlot(piece.slot);
          slotSignal.throwIfAborted();
        }
        const firstLine = input.lines + 1;
        input.lines += piece.lines;
        const { bytes, slot } = piece;
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

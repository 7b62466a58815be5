/**
 * Reading the lines of an accounting day file, shared by the relay's two ways of doing it: one record
 * at a time on the main thread (accounting-log.ts `jobs`) and blocks of lines on parse threads
 * (`parseBlock`, run by accounting-worker.ts; accounting-threads.ts hands the blocks out).
 */
import { threadId } from 'node:worker_threads';
import type { JobRecord } from '../../contracts/job-record.ts';
import { type PackedUsage, PbsUsageFold } from '../../contracts/pbs-usage.ts';
import {
  type AccountingLineOptions,
  type AccountingLineResult,
  foldAccountingBytes,
  parseAccountingBytes,
  writeAccountingBytes,
} from '../pbs/accounting-line.ts';
import { jsonRoomFor } from '../pbs/json-bytes.ts';
import { type Line, lineText } from '../pbs/line-reader.ts';
import { newStats, noteMalformed, type SourceStats } from '../source.ts';

/** Nothing but white space (`!/\S/`), decided on the bytes when they are ASCII. */
function isBlank(line: Line): boolean {
  const { bytes, start, end } = line;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 128) return !/\S/.test(lineText(line));
    if (c !== 32 && (c < 9 || c > 13)) return false;
  }
  return true;
}

/**
 * One complete line of a day file (line `n` of `file`): its record when it is an E or R record whose
 * end is in the window; otherwise null, counted in `stats` (blank: nothing; other record types and
 * ends outside the window: skipped; anything unreadable or longer than `maxLineBytes`: malformed,
 * with `file:n: why`). The in-thread reader and the parse threads both use it.
 */
export function readAccountingLine(
  line: Line,
  oversized: boolean,
  n: number,
  file: string,
  origin: { file: string; line: number },
  parse: AccountingLineOptions,
  maxLineBytes: number,
  stats: SourceStats,
): JobRecord | null {
  if (!worthParsing(line, oversized, n, file, maxLineBytes, stats)) return null;
  origin.line = n;
  return recordOf(parseAccountingBytes(line.bytes, line.start, line.end, origin, parse), n, file, stats);
}

/** False for a line that is blank, or too long (counted as malformed). */
function worthParsing(line: Line, oversized: boolean, n: number, file: string, maxLineBytes: number, stats: SourceStats): boolean {
  if (oversized || line.end - line.start > maxLineBytes) {
    noteMalformed(stats, `${file}:${n}: line longer than ${maxLineBytes} bytes`);
    return false;
  }
  return !isBlank(line);
}

/** The record of a parsed line, or null with the skip or the malformed line counted. */
function recordOf(parsed: AccountingLineResult, n: number, file: string, stats: SourceStats): JobRecord | null {
  if (parsed.kind === 'job') return parsed.record;
  if (parsed.kind === 'skip') stats.skipped++;
  else noteMalformed(stats, `${file}:${n}: ${parsed.reason}`);
  return null;
}

/** end ∈ [from, to), decided before the record is built; an unknown end (`end=0`) is never in a window. */
export function keepEndIn(fromMs: number, toMs: number): (end: number | null) => boolean {
  return (end) => end !== null && end * 1000 >= fromMs && end * 1000 < toMs;
}

/** A block of whole lines of one day file, for a parse thread. */
export interface ParseBlockTask {
  /** The file's name, for `origin.file` and malformed examples. */
  file: string;
  /** Whole lines, each ending in `\n`. */
  bytes: Uint8Array;
  /** Where to write the NDJSON, or a folding task's sums (shared memory of the pool's slot); without it, or when it is too small, memory of its own. */
  output?: Uint8Array;
  /** Line number of the block's first line in the file (1-based). */
  firstLine: number;
  fromMs: number;
  toMs: number;
  maxLineBytes: number;
  /**
   * Fold the block's records (`GET /v1/usage`) instead of serialising them: the result carries `usage`,
   * no NDJSON. The request's number (see {@link foldBlock}).
   */
  fold?: number;
}

export interface ParseBlockResult {
  /** The block's job records as NDJSON, in line order: null when they are in the task's `output`. */
  ndjson: Uint8Array | null;
  /** Bytes of NDJSON. */
  written: number;
  count: number;
  skipped: number;
  malformed: number;
  /** The first malformed examples (at most 20, as SourceStats keeps). */
  examples: string[];
  /** A folding task's groups and totals (PbsUsageFold `packed`), to merge into the request's fold. */
  usage?: PackedUsage;
}

/** At most this many groups kept by a thread for one request, and at most this many requests' folds kept. */
const MAX_KEPT_GROUPS = 4096;
const MAX_KEPT_FOLDS = 4;
const folds = new Map<number, PbsUsageFold>();

/**
 * The fold a thread keeps for a request's blocks: its groups (and their keys) are found again block
 * after block, and only the sums go back (packed() empties them). Bounded: a request's fold is started
 * afresh past MAX_KEPT_GROUPS groups, and only the last MAX_KEPT_FOLDS requests' folds are kept.
 */
function requestFold(request: number): PbsUsageFold {
  let fold = folds.get(request);
  if (fold === undefined || fold.kept > MAX_KEPT_GROUPS) {
    folds.delete(request);
    if (folds.size >= MAX_KEPT_FOLDS) folds.delete(folds.keys().next().value!);
    folds.set(request, (fold = new PbsUsageFold(`thread ${threadId}`)));
  }
  return fold;
}

/**
 * Fold a block's records (the PBS transform of contracts/pbs-usage.ts) as the main thread would read
 * them (readAccountingLine), handing back only the block's groups: a few hundred small objects where
 * /v1/jobs would have sent megabytes of NDJSON. A plain line's record is folded from its values
 * (foldAccountingBytes), never built.
 */
export function foldBlock(task: ParseBlockTask): ParseBlockResult {
  const { bytes, stats, origin, parse } = blockOf(task);
  const fold = requestFold(task.fold ?? 0);
  try {
    for (const line = new BlockLines(task, bytes, origin, stats); line.next(); ) {
      const folded = foldAccountingBytes(bytes, line.start, line.end, origin, parse, fold);
      if (folded === true) continue;
      const record = recordOf(folded, line.n, task.file, stats);
      if (record !== null) fold.add(record);
    }
  } catch (err) {
    folds.delete(task.fold ?? 0); // sums of part of the block: never to be packed with the next one
    throw err;
  }
  const usage = fold.packed(task.output);
  return {
    ndjson: null,
    written: 0,
    count: usage.totals.records,
    skipped: stats.skipped,
    malformed: stats.malformed,
    examples: stats.malformed_examples,
    usage,
  };
}

/**
 * Parse a block as the main thread would, line by line (readAccountingLine), and serialise its records
 * straight into one buffer: a plain ASCII record is written as JSON from its line's bytes
 * (writeAccountingBytes: building the record and its string cost more than reading the line), any
 * other through JSON.stringify. Pure: the same block gives the same result on any thread.
 */
export function parseBlock(task: ParseBlockTask): ParseBlockResult {
  const { bytes, stats, origin, parse } = blockOf(task);
  const fileJsonBytes = Buffer.byteLength(JSON.stringify(task.file));
  const given = task.output;
  let out = given
    ? Buffer.from(given.buffer, given.byteOffset, given.byteLength)
    : Buffer.allocUnsafeSlow(Math.max(4096, Math.ceil(bytes.length * 1.25)));
  let own = !given;
  let at = 0;
  let count = 0;
  /** Room for `needed` more bytes from `at`: a bigger buffer of its own when the given one is full. */
  const room = (needed: number) => {
    if (at + needed <= out.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, at + needed));
    out.copy(bigger, 0, 0, at);
    out = bigger;
    own = true;
  };
  for (const line = new BlockLines(task, bytes, origin, stats); line.next(); ) {
    room(jsonRoomFor(line.end - line.start, fileJsonBytes) + 1);
    const written = writeAccountingBytes(bytes, line.start, line.end, origin, parse, out, at);
    if (typeof written === 'number') {
      at = written;
    } else {
      const record = recordOf(written, line.n, task.file, stats);
      if (record === null) continue;
      const json = JSON.stringify(record);
      // A UTF-16 code unit is at most 3 bytes of UTF-8; plus the newline.
      room(json.length * 3 + 1);
      at += out.write(json, at, 'utf8');
    }
    out[at++] = 10;
    count++;
  }
  return {
    ndjson: own ? out.subarray(0, at) : null,
    written: at,
    count,
    skipped: stats.skipped,
    malformed: stats.malformed,
    examples: stats.malformed_examples,
  };
}

/** What parsing a block starts from: its bytes as a Buffer, fresh counts, its file as origin, its window. */
function blockOf(task: ParseBlockTask) {
  return {
    bytes: Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength),
    stats: newStats(),
    origin: { file: task.file, line: 0 },
    parse: { keepEnd: keepEndIn(task.fromMs, task.toMs) },
  };
}

/**
 * The lines of a block that are worth parsing, one `next()` at a time (blank ones skipped, one longer
 * than maxLineBytes counted as malformed): `bytes[start, end)`, line `n` of the file (also set in `origin`).
 */
class BlockLines implements Line {
  start = 0;
  end = 0;
  n: number;
  readonly complete = true;
  readonly oversized = false;
  private at = 0;

  constructor(
    private readonly task: ParseBlockTask,
    readonly bytes: Buffer,
    private readonly origin: { line: number },
    private readonly stats: SourceStats,
  ) {
    this.n = task.firstLine - 1;
  }

  next(): boolean {
    const { bytes, task } = this;
    while (this.at < bytes.length) {
      let nl = bytes.indexOf(10, this.at);
      if (nl === -1) nl = bytes.length;
      this.start = this.at;
      this.end = nl;
      this.at = nl + 1;
      this.n++;
      if (worthParsing(this, false, this.n, task.file, task.maxLineBytes, this.stats)) {
        this.origin.line = this.n;
        return true;
      }
    }
    return false;
  }
}

import { createReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { addAbortSignal, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { JobRecord } from '../../contracts/job-record.ts';
import type { PbsUsageFold } from '../../contracts/pbs-usage.ts';
import type { AccountingLineOptions } from '../pbs/accounting-line.ts';
import { DEFAULT_MAX_LINE_BYTES, type Line, readLineBatches } from '../pbs/line-reader.ts';
import { accountingDaysForWindow, assertTimeZone, dayFileName } from '../pbs/local-time.ts';
import type { ParsePool } from '../parse-pool.ts';
import type { JobSource, NdjsonBlock, SourceStats, Window } from '../source.ts';
import { keepEndIn, readAccountingLine } from './accounting-lines.ts';
import { parseInThreads, type ReadInto, readIntoFrom } from './accounting-threads.ts';

export interface AccountingLogOptions {
  /** The PBS accounting folder (`$PBS_HOME/server_priv/accounting`). Nothing outside it is ever read. */
  dir: string;
  /** The PBS server's IANA time zone (e.g. `Europe/Prague`): it names the day files. */
  timeZone: string;
  /** Longer lines are counted as malformed without being buffered. */
  maxLineBytes?: number;
  /**
   * Parse threads (parse-pool.ts): with them the source also serves `ndjson`, the day's lines parsed
   * and serialised on the pool's threads, in file order. Without them only `jobs` (this thread).
   */
  pool?: ParsePool | undefined;
}

interface DayFile {
  name: string;
  path: string;
  gzip: boolean;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * `YYYYMMDD`, else `YYYYMMDD.gz`. Both present means gzip is still compressing the day: the plain file
 * is the complete one until gzip removes it. Names are built from dates only, so never leave `dir`.
 */
async function findDayFile(dir: string, day: string): Promise<DayFile | null> {
  if (await isFile(join(dir, day))) return { name: day, path: join(dir, day), gzip: false };
  const gz = `${day}.gz`;
  if (await isFile(join(dir, gz))) return { name: gz, path: join(dir, gz), gzip: true };
  return null;
}

interface DayFileReader {
  /** The file's bytes, a chunk at a time. */
  chunks: () => AsyncIterable<Uint8Array>;
  /** Or its bytes read into memory the caller gives (the parse threads' slots). */
  readInto: ReadInto;
  close: () => void;
}

/**
 * A day file, opened on first use: as chunks (a stream, unpacked when gzip) or read into the caller's
 * memory, a plain file by reads of its own (nothing is copied on the way), a gzip file from its stream.
 */
function openDayFile(file: DayFile, signal: AbortSignal, readBytes: number): DayFileReader {
  const streams: { destroy(): void }[] = [];
  const chunks = (): AsyncIterable<Uint8Array> => {
    const raw = addAbortSignal(signal, createReadStream(file.path, { highWaterMark: readBytes }));
    streams.push(raw);
    if (!file.gzip) return raw;
    // pipeline() destroys both streams when either fails, so a read error or a truncated gzip member
    // surfaces as an error of the stream we iterate.
    const input = pipeline(raw, createGunzip({ chunkSize: readBytes }), () => {});
    streams.push(input);
    return input;
  };
  let handle: Promise<FileHandle> | undefined;
  let closed = false;
  const readPlain: ReadInto = async (target) => {
    signal.throwIfAborted();
    handle ??= open(file.path, 'r');
    const { bytesRead } = await (await handle).read(target, 0, target.length, null);
    return bytesRead;
  };
  let readGzip: ReadInto | undefined;
  return {
    chunks,
    readInto: file.gzip ? (target) => (readGzip ??= readIntoFrom(chunks()))(target) : readPlain,
    close: () => {
      if (closed) return;
      closed = true;
      for (const stream of streams) stream.destroy();
      void handle?.then((h) => h.close()).catch(() => {});
    },
  };
}

/**
 * Job records from PBS accounting logs: one file per server-local day named `YYYYMMDD` (or
 * `YYYYMMDD.gz`) in `dir`. For a window it reads every local day the window touches plus one on each
 * side, streaming each file line by line, and yields the E and R records whose `end` is in
 * [from, to); everything else read is counted as skipped, unreadable lines as malformed.
 * `stats.inputs` lists each day: `{name: 'YYYYMMDD', lines}` when read, `{name: 'YYYYMMDD (no file)'}`
 * when the day has no file (not an error: the server may have been idle or not yet running).
 * A missing folder, an unreadable file or a corrupt gzip stream throws (naming the file): records would
 * otherwise be missing from a stream that looks complete. An abort throws the signal's reason.
 */
export function accountingLogSource(options: AccountingLogOptions): JobSource {
  assertTimeZone(options.timeZone);
  const dir = resolve(options.dir);
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;

  /**
   * What `read` makes of each day file the window needs, in order; the files are opened in turn and
   * closed when `read` is done with them (or fails, or the consumer stops).
   */
  async function* readDays<T>(
    window: Window,
    stats: SourceStats,
    signal: AbortSignal,
    read: (file: DayFileReader, input: { name: string; lines: number }) => AsyncIterable<T>,
    readBytes: number,
  ): AsyncGenerator<T> {
    signal.throwIfAborted();
    const folder = await stat(dir).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`accounting folder ${dir}: ${err.code ?? err.message}`, { cause: err });
    });
    if (!folder.isDirectory()) throw new Error(`accounting folder ${dir}: not a directory`);
    for (const day of accountingDaysForWindow(window, options.timeZone)) {
      signal.throwIfAborted();
      const name = dayFileName(day);
      const file = await findDayFile(dir, name);
      if (file === null) {
        stats.inputs.push({ name: `${name} (no file)` });
        continue;
      }
      const input = { name: file.name, lines: 0 };
      stats.inputs.push(input);
      const reader = openDayFile(file, signal, readBytes);
      try {
        for await (const item of read(reader, input)) {
          // Every item is handed on (a block of the parse threads holds memory that its taker
          // releases); an abort is seen before the next one is read.
          yield item;
          signal.throwIfAborted();
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        throw new Error(`accounting file ${file.name}: ${(err as Error).message}`, { cause: err });
      } finally {
        reader.close();
      }
    }
  }

  const chunks = (window: Window, stats: SourceStats, signal: AbortSignal): AsyncGenerator<Chunk> => {
    const parse = { keepEnd: keepEndIn(window.from.getTime(), window.to.getTime()) };
    return readDays(
      window,
      stats,
      signal,
      async function* (file, input) {
        const origin = { file: input.name, line: 0 };
        for await (const lines of readLineBatches(file.chunks(), maxLineBytes)) yield { lines, input, origin, parse, maxLineBytes };
      },
      256 * 1024,
    );
  };

  const pool = options.pool;
  return {
    kind: 'accounting',
    jobs: (window: Window, stats: SourceStats, signal: AbortSignal): AsyncIterable<JobRecord> =>
      new Records(chunks(window, stats, signal), stats, signal),
    ...(pool && {
      ndjson: (window: Window, stats: SourceStats, signal: AbortSignal): AsyncIterable<NdjsonBlock> =>
        readDays(
          window,
          stats,
          signal,
          (file, input) => parseInThreads(file.readInto, input, { pool, window, stats, signal, maxLineBytes }),
          pool.blockBytes,
        ),
      fold: async (window: Window, stats: SourceStats, signal: AbortSignal, fold: PbsUsageFold): Promise<void> => {
        const blocks = readDays(
          window,
          stats,
          signal,
          (file, input) => parseInThreads(file.readInto, input, { pool, window, stats, signal, maxLineBytes, fold }),
          pool.blockBytes,
        );
        for await (const _ of blocks); // folding yields nothing: the groups went into `fold`
      },
    }),
  };
}

/** A chunk of a day file's lines, and what it takes to read them. */
interface Chunk {
  lines: Line[];
  /** The file's entry in `stats.inputs`: its lines are counted as they are read. */
  input: { name: string; lines: number };
  /** Handed to the parser, which copies it (one object for the file, its line number set line by line). */
  origin: { file: string; line: number };
  parse: AccountingLineOptions;
  maxLineBytes: number;
}

/**
 * The records, one at a time as a JobSource yields them, parsed from the chunks as they are asked
 * for: no async generator between the lines and the consumer (a `yield` per record cost about as
 * much as parsing the record), and a record is built just before it is used. As between the records
 * of a generator, an abort is seen before each record (the file is closed and `next` rejects with the
 * signal's reason), and `return` (a consumer that stops early) closes the file.
 */
class Records implements AsyncIterableIterator<JobRecord> {
  private chunk: Chunk | null = null;
  /** The next line of the chunk to read. */
  private at = 0;
  /** A `next` waiting for a chunk: later calls queue behind it. */
  private busy: Promise<IteratorResult<JobRecord>> | null = null;

  constructor(
    private readonly chunks: AsyncGenerator<Chunk>,
    private readonly stats: SourceStats,
    private readonly signal: AbortSignal,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<JobRecord>> {
    if (this.busy === null && !this.signal.aborted) {
      let record: JobRecord | null;
      try {
        record = this.take();
      } catch (err) {
        return this.fail(err);
      }
      if (record !== null) return Promise.resolve({ value: record, done: false });
    }
    const pull = () => this.pull();
    const step = this.busy === null ? pull() : this.busy.then(pull, pull);
    const settled = step.finally(() => {
      if (this.busy === settled) this.busy = null;
    });
    this.busy = settled;
    return settled;
  }

  async return(): Promise<IteratorResult<JobRecord>> {
    this.chunk = null;
    await this.chunks.return(undefined);
    return { value: undefined, done: true };
  }

  /** The next record of the current chunk, counting what is left out; null once the chunk is read. */
  private take(): JobRecord | null {
    const chunk = this.chunk;
    if (chunk === null) return null;
    const { lines, input, origin, parse, maxLineBytes } = chunk;
    while (this.at < lines.length) {
      const line = lines[this.at++]!;
      const n = ++input.lines;
      if (!line.complete && !line.oversized) {
        this.stats.skipped++; // PBS is still writing this record; the next read will see it whole
        continue;
      }
      const record = readAccountingLine(line, line.oversized, n, input.name, origin, parse, maxLineBytes, this.stats);
      if (record !== null) return record;
    }
    return null;
  }

  private async pull(): Promise<IteratorResult<JobRecord>> {
    for (;;) {
      if (this.signal.aborted) {
        await this.return();
        throw this.signal.reason;
      }
      let record: JobRecord | null;
      try {
        record = this.take();
      } catch (err) {
        return this.fail(err);
      }
      if (record !== null) return { value: record, done: false };
      const next = await this.chunks.next();
      if (next.done) {
        this.chunk = null;
        return { value: undefined, done: true };
      }
      this.chunk = next.value;
      this.at = 0;
    }
  }

  /** A parser that threw (it should not): the file is closed and the error names it. */
  private async fail(err: unknown): Promise<never> {
    const name = this.chunk?.input.name;
    await this.return();
    throw new Error(`accounting file ${name}: ${(err as Error).message}`, { cause: err });
  }
}

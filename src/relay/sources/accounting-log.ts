import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { addAbortSignal, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { JobRecord } from '../../contracts/job-record.ts';
import { parseAccountingLine } from '../pbs/accounting-line.ts';
import { DEFAULT_MAX_LINE_BYTES, readLineBatches } from '../pbs/line-reader.ts';
import { accountingDaysForWindow, assertTimeZone, dayFileName } from '../pbs/local-time.ts';
import { type JobSource, noteMalformed, type SourceStats, type Window } from '../source.ts';

export interface AccountingLogOptions {
  /** The PBS accounting folder (`$PBS_HOME/server_priv/accounting`). Nothing outside it is ever read. */
  dir: string;
  /** The PBS server's IANA time zone (e.g. `Europe/Prague`): it names the day files. */
  timeZone: string;
  /** Longer lines are counted as malformed without being buffered. */
  maxLineBytes?: number;
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

function openDayFile(file: DayFile, signal: AbortSignal): { input: Readable; close: () => void } {
  const raw = addAbortSignal(signal, createReadStream(file.path, { highWaterMark: 256 * 1024 }));
  if (!file.gzip) return { input: raw, close: () => raw.destroy() };
  // pipeline() destroys both streams when either fails, so a read error or a truncated gzip member
  // surfaces as an error of the stream we iterate.
  const input = pipeline(raw, createGunzip({ chunkSize: 256 * 1024 }), () => {});
  return { input, close: () => (raw.destroy(), input.destroy()) };
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

  async function* readDay(file: DayFile, window: Window, stats: SourceStats, signal: AbortSignal): AsyncGenerator<JobRecord> {
    const fromMs = window.from.getTime();
    const toMs = window.to.getTime();
    // end ∈ [from, to), decided before the record is built; an unknown end (`end=0`) is never in a window.
    const keepEnd = (end: number | null) => end !== null && end * 1000 >= fromMs && end * 1000 < toMs;
    const input = { name: file.name, lines: 0 };
    stats.inputs.push(input);
    const { input: stream, close } = openDayFile(file, signal);
    try {
      for await (const batch of readLineBatches(stream, maxLineBytes)) {
        signal.throwIfAborted();
        for (const line of batch) {
          const n = ++input.lines;
          if (line.oversized) {
            noteMalformed(stats, `${file.name}:${n}: line longer than ${maxLineBytes} bytes`);
          } else if (!line.complete) {
            stats.skipped++; // PBS is still writing this record; the next read will see it whole
          } else if (/\S/.test(line.text)) {
            const parsed = parseAccountingLine(line.text, { file: file.name, line: n }, { keepEnd });
            if (parsed.kind === 'job') {
              yield parsed.record;
              signal.throwIfAborted();
            } else if (parsed.kind === 'skip') stats.skipped++;
            else noteMalformed(stats, `${file.name}:${n}: ${parsed.reason}`);
          }
        }
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new Error(`accounting file ${file.name}: ${(err as Error).message}`, { cause: err });
    } finally {
      close();
    }
  }

  return {
    kind: 'accounting',
    async *jobs(window: Window, stats: SourceStats, signal: AbortSignal): AsyncIterable<JobRecord> {
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
        yield* readDay(file, window, stats, signal);
      }
    },
  };
}

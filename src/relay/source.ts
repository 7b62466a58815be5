import type { JobRecord, JobSourceKind, JobStreamSummary } from '../contracts/job-record.ts';
import type { PbsUsageFold } from '../contracts/pbs-usage.ts';

/** The UTC window a request asks for: jobs whose `end` is in [from, to). */
export interface Window {
  from: Date;
  to: Date;
}

/** What a source counts while it reads; it becomes the stream's summary line. */
export interface SourceStats {
  malformed: number;
  skipped: number;
  inputs: JobStreamSummary['inputs'];
  /** At most 20 kept: `file:line: why` (never the whole line: it may hold user data). */
  malformed_examples: string[];
}

export function newStats(): SourceStats {
  return { malformed: 0, skipped: 0, inputs: [], malformed_examples: [] };
}

export function noteMalformed(stats: SourceStats, example: string): void {
  stats.malformed++;
  if (stats.malformed_examples.length < 20) stats.malformed_examples.push(example.slice(0, 300));
}

/**
 * One of the relay's three job sources (accounting logs, qstat, an accounting database). It yields
 * the job records whose `end` lies in the window, one at a time (memory must not grow with the input),
 * counts what it could not parse in `stats` instead of failing, and stops when `signal` aborts.
 * It throws only when the source as a whole cannot be read (folder missing, command or database down).
 */
export interface JobSource {
  readonly kind: JobSourceKind;
  jobs(window: Window, stats: SourceStats, signal: AbortSignal): AsyncIterable<JobRecord>;
  /**
   * The same records as `jobs`, in the same order, already serialised: NDJSON lines in blocks (a source
   * that parses on other threads offers this; the relay then only copies bytes to the socket).
   */
  ndjson?(window: Window, stats: SourceStats, signal: AbortSignal): AsyncIterable<NdjsonBlock>;
  /**
   * Fold the same records into `fold` (`GET /v1/usage`) where they are parsed (parse threads), rather
   * than handing each to the main thread. Without it the relay folds what `jobs` yields.
   */
  fold?(window: Window, stats: SourceStats, signal: AbortSignal, fold: PbsUsageFold): Promise<void>;
}

/** Whole NDJSON lines (UTF-8, each ending in `\n`): `count` job records. */
export interface NdjsonBlock {
  bytes: Uint8Array;
  count: number;
  /**
   * The bytes are borrowed: call once they are written out (or will not be), after which they may
   * change. Calling it more than once is harmless.
   */
  release?: () => void;
}

/** Where a stream's body writes its records: objects (serialised by the framing) or ready NDJSON blocks. */
export interface NdjsonOut {
  record(value: unknown): Promise<void>;
  block(block: NdjsonBlock): Promise<void>;
  /** Names the source being read, for the error line if it fails. */
  source: string;
}

/**
 * The OpenStack source (/v1/instances): writes the window's instance records to `out` as it reads
 * them, and resolves to the summary line's fields. It throws when the window cannot be read whole.
 */
export interface InstanceSource {
  readonly kind: 'openstack';
  stream(window: Window, out: NdjsonOut, signal: AbortSignal): Promise<Record<string, unknown>>;
}

import type { JobRecord } from '../../contracts/job-record.ts';
import { splitAccountingHeader, tokenizePayload } from './line-tokenizer.ts';
import { deriveJobResources } from './resources.ts';
import { epochToRfc3339, parseCount, parseEpochSeconds, parseInteger } from './values.ts';

/** Where a line came from; `source` and `record` are filled in by the parser. */
export interface LineOrigin {
  file?: string;
  line?: number;
}

export type AccountingLineResult =
  | { kind: 'job'; record: JobRecord }
  | { kind: 'skip'; reason: string }
  | { kind: 'malformed'; reason: string };

export interface AccountingLineOptions {
  /**
   * Called with the job's end (unix seconds; null for `end=0`) once the header and times are known to
   * be sound; false skips the line (`end outside the window`) without reading its resources. A source
   * reading neighbour days spends most lines here.
   */
  keepEnd?: (endSeconds: number | null) => boolean;
}

const TIME_KEYS = ['ctime', 'qtime', 'etime', 'start', 'end'] as const;
type TimeKey = (typeof TIME_KEYS)[number];

/** `123[]` or `123[].server`: an array parent, whose record summarises sub-jobs counted on their own. */
const ARRAY_PARENT = /^[^.]*\[\](?:\.|$)/;

const text = (value: string | undefined) => (value === undefined || value === '' ? null : value);
const skip = (reason: string): AccountingLineResult => ({ kind: 'skip', reason });
const malformed = (reason: string): AccountingLineResult => ({ kind: 'malformed', reason });

/**
 * One accounting line → a job record, a deliberate skip, or a malformed line (never throws).
 *
 * - `E` (job ended) and `R` (an attempt that was requeued; it carries that attempt's usage, §B.7) become
 *   records with `origin.record` = the type; every other type is skipped, and so is an `R` with an
 *   empty payload or without `end` (Torque writes those; there is nothing to count or date).
 * - Array parents `123[]` are skipped; sub-jobs `123[4].server` are kept with their full id.
 * - Keys are read by name, in any order, in both dialects. An epoch of 0 is null.
 * - Malformed: a bad header or timestamp, an epoch that is not an integer (e.g. two pairs glued
 *   together: `etime=1317509574start=1317509945`), no `end` at all, or `end` before `start`. Values
 *   that are merely unreadable (a size `12.27M`, a duration `-342359:-42:-21`) become null instead.
 */
export function parseAccountingLine(line: string, origin: LineOrigin = {}, options: AccountingLineOptions = {}): AccountingLineResult {
  const head = splitAccountingHeader(line);
  if (!head.ok) return malformed(head.reason);
  const { type, id, payload } = head.header;
  if (type !== 'E' && type !== 'R') return skip(`record type ${type}`);
  if (ARRAY_PARENT.test(id)) return skip('array parent');
  if (!/\S/.test(payload)) return type === 'R' ? skip('R record without attributes') : malformed('E record without attributes');

  const { attrs } = tokenizePayload(payload);
  const seconds = {} as Record<TimeKey, number | null>;
  for (const key of TIME_KEYS) {
    const raw = attrs.get(key);
    if (raw === undefined) {
      if (key === 'end') return type === 'R' ? skip('R record without end') : malformed('no end time');
      seconds[key] = null;
      continue;
    }
    const value = parseEpochSeconds(raw);
    if (value === undefined) return malformed(`${key} is not an epoch`);
    seconds[key] = value;
  }
  const { start, end } = seconds;
  if (start !== null && end !== null && end < start) return malformed('end before start');
  if (options.keepEnd && !options.keepEnd(end)) return skip('end outside the window');

  const { walltime_used_seconds, ...resources } = deriveJobResources(attrs);
  const iso = (s: number | null) => (s === null ? null : epochToRfc3339(s));
  return {
    kind: 'job',
    record: {
      job_id: id,
      user: text(attrs.get('user')),
      group: text(attrs.get('group')),
      project: text(attrs.get('project')),
      account: text(attrs.get('account')),
      queue: text(attrs.get('queue')),
      jobname: text(attrs.get('jobname')),
      ctime: iso(seconds.ctime),
      qtime: iso(seconds.qtime),
      etime: iso(seconds.etime),
      start: iso(start),
      end: iso(end),
      walltime_used_seconds: walltime_used_seconds ?? (start !== null && end !== null ? end - start : null),
      ...resources,
      exit_status: parseInteger(attrs.get('Exit_status') ?? attrs.get('exit_status')),
      run_count: parseCount(attrs.get('run_count')),
      origin: {
        source: 'accounting',
        record: type,
        ...(origin.file !== undefined && { file: origin.file }),
        ...(origin.line !== undefined && { line: origin.line }),
      },
    },
  };
}

import type { JobRecord } from '../../contracts/job-record.ts';
import { locateAccountingHeader, locatePlainHeader, PayloadReader } from './line-tokenizer.ts';
import { deriveJobResources, RESOURCE_ATTRIBUTES } from './resources.ts';
import { epochToRfc3339, MAX_EPOCH, parseEpochSeconds } from './values.ts';

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
   * reading neighbour days spends most lines here. It must not parse a line itself (the parser's
   * buffers are shared by every call).
   */
  keepEnd?: (endSeconds: number | null) => boolean;
}

/** `123[]` or `123[].server`: an array parent, whose record summarises sub-jobs counted on their own. */
function isArrayParent(id: string): boolean {
  const dot = id.indexOf('.');
  const end = dot < 0 ? id.length : dot;
  return end >= 2 && id.charCodeAt(end - 1) === 93 && id.charCodeAt(end - 2) === 91;
}

/** Anything but white space from `from` on (`/\S/`, without a regex or a copy on the usual line). */
function hasText(line: string, from: number): boolean {
  const c = line.charCodeAt(from);
  return (c > 32 && c < 127) || /\S/.test(line.slice(from));
}

const text = (value: string | undefined) => (value === undefined || value === '' ? null : value);
const iso = (seconds: number | null) => (seconds === null ? null : epochToRfc3339(seconds));

/** The attributes a record is made of; the reader is shared by every call (parsing is synchronous). */
const payload = new PayloadReader([
  'ctime',
  'qtime',
  'etime',
  'start',
  'end',
  'user',
  'group',
  'project',
  'account',
  'queue',
  'jobname',
  'Exit_status',
  'exit_status',
  'run_count',
  ...RESOURCE_ATTRIBUTES,
]);

// The slots of the attributes read below (resources: by name, in deriveJobResources).
const CTIME = payload.slot('ctime');
const QTIME = payload.slot('qtime');
const ETIME = payload.slot('etime');
const START = payload.slot('start');
const END = payload.slot('end');
const USER = payload.slot('user');
const GROUP = payload.slot('group');
const PROJECT = payload.slot('project');
const ACCOUNT = payload.slot('account');
const QUEUE = payload.slot('queue');
const JOBNAME = payload.slot('jobname');
const EXIT_STATUS = payload.slot('Exit_status');
const EXIT_STATUS_TORQUE = payload.slot('exit_status');
const RUN_COUNT = payload.slot('run_count');

/** An epoch attribute: null for 0, undefined when missing, NaN when not an epoch. */
function epochOf(slot: number): number | null | undefined {
  const digits = payload.digits(slot); // the usual value, read in place
  if (digits >= 0) return digits === 0 ? null : digits > MAX_EPOCH ? Number.NaN : digits;
  if (digits === -2) return undefined;
  const value = parseEpochSeconds(payload.get(slot)!);
  return value === undefined ? Number.NaN : value;
}

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
  const head = locateAccountingHeader(line);
  if (!head.ok) return { kind: 'malformed', reason: head.reason };
  const { type, id } = head.header;
  if (type !== 'E' && type !== 'R') return { kind: 'skip', reason: `record type ${type}` };
  if (isArrayParent(id)) return { kind: 'skip', reason: 'array parent' };
  if (!hasText(head.header.line, head.header.payloadStart)) {
    return type === 'R' ? { kind: 'skip', reason: 'R record without attributes' } : { kind: 'malformed', reason: 'E record without attributes' };
  }
  payload.read(head.header.line, head.header.payloadStart);
  return fromPayload(type, id, 0, 0, origin, options);
}

/**
 * {@link parseAccountingLine} for the line `bytes[start, end)` (without its `\n`), as the log source
 * reads it: the same result as for the decoded line, several times quicker. A plain ASCII record is
 * read in its bytes, and decoded only in part and only when it becomes a record; anything else (noise
 * in front, other characters, a malformed header) is decoded and read as a string.
 */
export function parseAccountingBytes(
  bytes: Buffer,
  start: number,
  end: number,
  origin: LineOrigin = {},
  options: AccountingLineOptions = {},
): AccountingLineResult {
  const stop = end > start && bytes[end - 1] === 13 ? end - 1 : end; // the `\r` of a CRLF line
  const idEnd = locatePlainHeader(bytes, start, stop);
  if (idEnd >= 0) {
    const type = bytes[start + 20]!;
    if (type !== 69 && type !== 82) return { kind: 'skip', reason: `record type ${String.fromCharCode(type)}` };
    if (isArrayParentBytes(bytes, start + 22, idEnd)) return { kind: 'skip', reason: 'array parent' };
    const payloadStart = idEnd < stop ? idEnd + 1 : stop;
    const first = payloadStart < stop ? bytes[payloadStart]! : 0;
    // A payload that starts with anything but a printable character is left to the full reading.
    if (first > 32 && first < 127 && payload.readBytes(bytes, start, payloadStart, stop)) {
      return fromPayload(type === 69 ? 'E' : 'R', null, start + 22, idEnd, origin, options);
    }
  }
  return parseAccountingLine(bytes.toString('utf8', start, end), origin, options);
}

/** {@link isArrayParent} on the ID `bytes[from, to)`. */
function isArrayParentBytes(bytes: Uint8Array, from: number, to: number): boolean {
  let end = from;
  while (end < to && bytes[end] !== 46) end++;
  return end - from >= 2 && bytes[end - 1] === 93 && bytes[end - 2] === 91;
}

/** The rest of the parse, on the payload just read; the ID is `id`, else the line's [idFrom, idTo). */
function fromPayload(
  type: 'E' | 'R',
  id: string | null,
  idFrom: number,
  idTo: number,
  origin: LineOrigin,
  options: AccountingLineOptions,
): AccountingLineResult {
  // In this order, so that the first unreadable one is named.
  const ctime = epochOf(CTIME);
  if (Number.isNaN(ctime)) return { kind: 'malformed', reason: 'ctime is not an epoch' };
  const qtime = epochOf(QTIME);
  if (Number.isNaN(qtime)) return { kind: 'malformed', reason: 'qtime is not an epoch' };
  const etime = epochOf(ETIME);
  if (Number.isNaN(etime)) return { kind: 'malformed', reason: 'etime is not an epoch' };
  const start = epochOf(START) ?? null;
  if (Number.isNaN(start)) return { kind: 'malformed', reason: 'start is not an epoch' };
  const end = epochOf(END);
  if (end === undefined) return type === 'R' ? { kind: 'skip', reason: 'R record without end' } : { kind: 'malformed', reason: 'no end time' };
  if (Number.isNaN(end)) return { kind: 'malformed', reason: 'end is not an epoch' };
  if (start !== null && end !== null && end < start) return { kind: 'malformed', reason: 'end before start' };
  if (options.keepEnd && !options.keepEnd(end)) return { kind: 'skip', reason: 'end outside the window' };

  const resources = deriveJobResources(payload);
  const record: JobRecord = {
    job_id: id ?? payload.slice(idFrom, idTo),
    user: text(payload.get(USER)),
    group: text(payload.get(GROUP)),
    project: text(payload.get(PROJECT)),
    account: text(payload.get(ACCOUNT)),
    queue: text(payload.get(QUEUE)),
    jobname: text(payload.get(JOBNAME)),
    ctime: iso(ctime ?? null),
    qtime: iso(qtime ?? null),
    etime: iso(etime ?? null),
    start: iso(start),
    end: iso(end),
    walltime_used_seconds: resources.walltime_used_seconds ?? (start !== null && end !== null ? end - start : null),
    walltime_requested_seconds: resources.walltime_requested_seconds,
    cpu_time_seconds: resources.cpu_time_seconds,
    cpu_percent: resources.cpu_percent,
    mem_used_bytes: resources.mem_used_bytes,
    vmem_used_bytes: resources.vmem_used_bytes,
    mem_requested_bytes: resources.mem_requested_bytes,
    ncpus: resources.ncpus,
    ngpus: resources.ngpus,
    nodes: resources.nodes,
    exec_host: resources.exec_host,
    exit_status: payload.digits(EXIT_STATUS) !== -2 ? payload.integer(EXIT_STATUS) : payload.integer(EXIT_STATUS_TORQUE),
    run_count: payload.count(RUN_COUNT),
    origin:
      origin.file !== undefined && origin.line !== undefined
        ? { source: 'accounting', record: type, file: origin.file, line: origin.line }
        : {
            source: 'accounting',
            record: type,
            ...(origin.file !== undefined && { file: origin.file }),
            ...(origin.line !== undefined && { line: origin.line }),
          },
  };
  return { kind: 'job', record };
}

import type { JobRecord } from '../../contracts/job-record.ts';
import { type PbsUsageFold, utcDayOf } from '../../contracts/pbs-usage.ts';
import { locateAccountingHeader, locatePlainHeader, PayloadReader } from './line-tokenizer.ts';
import { type JsonConstant, jsonConstant, putAsciiString, putBytes, putConstant, putNumber } from './json-bytes.ts';
import { deriveJobResources, type JobResources, RESOURCE_ATTRIBUTES } from './resources.ts';
import { epochToRfc3339, MAX_EPOCH, parseEpochSeconds, putRfc3339Json } from './values.ts';

/** Where a line came from; `source` and `record` are filled in by the parser. */
export interface LineOrigin {
  file?: string;
  line?: number;
}

export type AccountingLineResult = { kind: 'job'; record: JobRecord } | { kind: 'skip'; reason: string } | { kind: 'malformed'; reason: string };

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
const EXEC_HOST = payload.slot('exec_host');

/** The resources of the line being written or folded: one object, line after line; exec_host is written from the line. */
const scratch = { into: {} as JobResources, execHostText: false };

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
 * - `E` (job ended) and `R` (an attempt that was requeued; it carries that attempt's usage: docs/relay.md, "PBS input formats") become
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
 * The header of the line `bytes[start, stop)` read in its bytes and its payload read into `payload`,
 * when it is a plain ASCII record: its type (the ID is then `bytes[start + 22, plainIdEnd)`). A skip
 * decided on the header alone; or null: the line is to be decoded and read as a string.
 */
function readPlainLine(bytes: Buffer, start: number, stop: number): 'E' | 'R' | AccountingLineResult | null {
  const idEnd = locatePlainHeader(bytes, start, stop);
  if (idEnd < 0) return null;
  const type = bytes[start + 20]!;
  if (type !== 69 && type !== 82) return { kind: 'skip', reason: `record type ${String.fromCharCode(type)}` };
  if (isArrayParentBytes(bytes, start + 22, idEnd)) return { kind: 'skip', reason: 'array parent' };
  const payloadStart = idEnd < stop ? idEnd + 1 : stop;
  const first = payloadStart < stop ? bytes[payloadStart]! : 0;
  // A payload that starts with anything but a printable character is left to the full reading.
  if (!(first > 32 && first < 127 && payload.readBytes(bytes, payloadStart, stop))) return null;
  plainIdEnd = idEnd;
  return type === 69 ? 'E' : 'R';
}

/** Where the ID of the line {@link readPlainLine} last read ends. */
let plainIdEnd = 0;

/** The line without the `\r` of a CRLF line. */
const stopOf = (bytes: Buffer, start: number, end: number) => (end > start && bytes[end - 1] === 13 ? end - 1 : end);

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
  const read = readPlainLine(bytes, start, stopOf(bytes, start, end));
  if (read === 'E' || read === 'R') return fromPayload(read, null, start + 22, plainIdEnd, origin, options);
  return read ?? parseAccountingLine(bytes.toString('utf8', start, end), origin, options);
}

/**
 * {@link parseAccountingBytes}, with the record of a plain ASCII line written as JSON into `out` at
 * `at` (byte for byte what `JSON.stringify(record)` gives, without building either): returns the
 * position after it. Any other line gives what parseAccountingBytes gives (a record among them, for the
 * caller to serialise). `out` must have {@link jsonRoomFor}(end - start, JSON of the file name) bytes
 * free from `at`.
 */
export function writeAccountingBytes(
  bytes: Buffer,
  start: number,
  end: number,
  origin: { file: string; line: number },
  options: AccountingLineOptions,
  out: Uint8Array,
  at: number,
): number | AccountingLineResult {
  const read = readPlainLine(bytes, start, stopOf(bytes, start, end));
  if (read === 'E' || read === 'R') {
    const bad = readTimes(read, options);
    return bad ?? putRecordJson(read, bytes, start + 22, plainIdEnd, origin, out, at);
  }
  return read ?? parseAccountingLine(bytes.toString('utf8', start, end), origin, options);
}

/**
 * {@link parseAccountingBytes}, with the record of a plain ASCII line added to `fold` straight from its
 * values (what PbsUsageFold.add reads of the record, without building it): returns true. Any other line
 * gives what parseAccountingBytes gives (a record among them, for the caller to fold).
 */
export function foldAccountingBytes(
  bytes: Buffer,
  start: number,
  end: number,
  origin: LineOrigin,
  options: AccountingLineOptions,
  fold: PbsUsageFold,
): true | AccountingLineResult {
  const read = readPlainLine(bytes, start, stopOf(bytes, start, end));
  if (read !== 'E' && read !== 'R') return read ?? parseAccountingLine(bytes.toString('utf8', start, end), origin, options);
  const bad = readTimes(read, options);
  if (bad) return bad;
  const resources = deriveJobResources(payload, scratch);
  fold.addJob(
    read === 'E',
    times.end === null ? null : utcDayOf(times.end),
    text(payload.interned(PROJECT)),
    text(payload.interned(USER)),
    walltimeUsed(resources),
    resources.walltime_requested_seconds,
    resources.cpu_time_seconds,
    resources.ncpus,
    resources.ngpus,
    resources.mem_requested_bytes,
  );
  return true;
}

/** {@link isArrayParent} on the ID `bytes[from, to)`. */
function isArrayParentBytes(bytes: Uint8Array, from: number, to: number): boolean {
  let end = from;
  while (end < to && bytes[end] !== 46) end++;
  return end - from >= 2 && bytes[end - 1] === 93 && bytes[end - 2] === 91;
}

/** The times of the payload last read ({@link readTimes}): unix seconds, null when unknown. */
const times = {
  ctime: null as number | null,
  qtime: null as number | null,
  etime: null as number | null,
  start: null as number | null,
  end: null as number | null,
};

/**
 * The five times of the payload just read, into {@link times}; or why the line is no record
 * (malformed, or a skip: an R without end, an end outside the window). In this order, so that the
 * first unreadable one is named.
 */
function readTimes(type: 'E' | 'R', options: AccountingLineOptions): AccountingLineResult | null {
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
  times.ctime = ctime ?? null;
  times.qtime = qtime ?? null;
  times.etime = etime ?? null;
  times.start = start;
  times.end = end;
  return null;
}

/** resources_used.walltime, else end − start. */
const walltimeUsed = (resources: JobResources) =>
  resources.walltime_used_seconds ?? (times.start !== null && times.end !== null ? times.end - times.start : null);

/** PBS Pro's Exit_status, else Torque's exit_status. */
const exitStatus = () => (payload.digits(EXIT_STATUS) !== -2 ? payload.integer(EXIT_STATUS) : payload.integer(EXIT_STATUS_TORQUE));

/** The rest of the parse, on the payload just read; the ID is `id`, else the line's [idFrom, idTo). */
function fromPayload(
  type: 'E' | 'R',
  id: string | null,
  idFrom: number,
  idTo: number,
  origin: LineOrigin,
  options: AccountingLineOptions,
): AccountingLineResult {
  const bad = readTimes(type, options);
  if (bad) return bad;
  const resources = deriveJobResources(payload);
  const record: JobRecord = {
    job_id: id ?? payload.slice(idFrom, idTo),
    user: text(payload.get(USER)),
    group: text(payload.get(GROUP)),
    project: text(payload.get(PROJECT)),
    account: text(payload.get(ACCOUNT)),
    queue: text(payload.get(QUEUE)),
    jobname: text(payload.get(JOBNAME)),
    ctime: iso(times.ctime),
    qtime: iso(times.qtime),
    etime: iso(times.etime),
    start: iso(times.start),
    end: iso(times.end),
    walltime_used_seconds: walltimeUsed(resources),
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
    exit_status: exitStatus(),
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

// The record's JSON around its values, in the order of the record above (a key, then its value);
// the test holding putRecordJson to JSON.stringify(record) keeps the two orders together.
const key = (name: string) => jsonConstant(`,"${name}":`);
const JOB_ID = jsonConstant('{"job_id":');
/** The keys named, as constants, in a tuple of as many. */
const keys = <T extends readonly string[]>(...names: T) => names.map(key) as { [K in keyof T]: JsonConstant };
const [K_USER, K_GROUP, K_PROJECT, K_ACCOUNT, K_QUEUE, K_JOBNAME] = keys('user', 'group', 'project', 'account', 'queue', 'jobname');
const [K_CTIME, K_QTIME, K_ETIME, K_START, K_END] = keys('ctime', 'qtime', 'etime', 'start', 'end');
const [K_WALLTIME_USED, K_WALLTIME_REQUESTED, K_CPU_TIME, K_CPU_PERCENT, K_MEM_USED, K_VMEM_USED, K_MEM_REQUESTED, K_NCPUS, K_NGPUS, K_NODES] = keys(
  'walltime_used_seconds',
  'walltime_requested_seconds',
  'cpu_time_seconds',
  'cpu_percent',
  'mem_used_bytes',
  'vmem_used_bytes',
  'mem_requested_bytes',
  'ncpus',
  'ngpus',
  'nodes',
);
const K_EXEC_HOST = key('exec_host');
const K_EXIT_STATUS = key('exit_status');
const K_RUN_COUNT = key('run_count');
const ORIGIN_E = jsonConstant(',"origin":{"source":"accounting","record":"E","file":');
const ORIGIN_R = jsonConstant(',"origin":{"source":"accounting","record":"R","file":');
const K_LINE = key('line');
const JSON_NULL = jsonConstant('null');

/** The file name's JSON, kept for the next line (a block's lines share it). */
let fileName = '';
let fileJson: Uint8Array = Buffer.from('""');

/** `out` of the last record written, as a DataView (made once per output buffer). */
let outBytes: Uint8Array | null = null;
let outView: DataView = new DataView(new ArrayBuffer(0));

function putTime(out: Uint8Array, at: number, seconds: number | null): number {
  return seconds === null ? putConstant(outView, out, at, JSON_NULL) : putRfc3339Json(outView, at, seconds);
}

/** fromPayload's record as JSON, for a line read in its bytes (and its times read). */
function putRecordJson(
  type: 'E' | 'R',
  bytes: Buffer,
  idFrom: number,
  idTo: number,
  origin: { file: string; line: number },
  out: Uint8Array,
  at: number,
): number {
  const resources = deriveJobResources(payload, scratch);
  if (out !== outBytes) {
    outBytes = out;
    outView = new DataView(out.buffer, out.byteOffset, out.byteLength);
  }
  const view = outView;
  let o = putConstant(view, out, at, JOB_ID);
  o = putAsciiString(out, o, bytes, idFrom, idTo);
  o = payload.putJson(USER, out, putConstant(view, out, o, K_USER), true);
  o = payload.putJson(GROUP, out, putConstant(view, out, o, K_GROUP), true);
  o = payload.putJson(PROJECT, out, putConstant(view, out, o, K_PROJECT), true);
  o = payload.putJson(ACCOUNT, out, putConstant(view, out, o, K_ACCOUNT), true);
  o = payload.putJson(QUEUE, out, putConstant(view, out, o, K_QUEUE), true);
  o = payload.putJson(JOBNAME, out, putConstant(view, out, o, K_JOBNAME), true);
  o = putTime(out, putConstant(view, out, o, K_CTIME), times.ctime);
  o = putTime(out, putConstant(view, out, o, K_QTIME), times.qtime);
  o = putTime(out, putConstant(view, out, o, K_ETIME), times.etime);
  o = putTime(out, putConstant(view, out, o, K_START), times.start);
  o = putTime(out, putConstant(view, out, o, K_END), times.end);
  o = putNumber(out, putConstant(view, out, o, K_WALLTIME_USED), walltimeUsed(resources));
  o = putNumber(out, putConstant(view, out, o, K_WALLTIME_REQUESTED), resources.walltime_requested_seconds);
  o = putNumber(out, putConstant(view, out, o, K_CPU_TIME), resources.cpu_time_seconds);
  o = putNumber(out, putConstant(view, out, o, K_CPU_PERCENT), resources.cpu_percent);
  o = putNumber(out, putConstant(view, out, o, K_MEM_USED), resources.mem_used_bytes);
  o = putNumber(out, putConstant(view, out, o, K_VMEM_USED), resources.vmem_used_bytes);
  o = putNumber(out, putConstant(view, out, o, K_MEM_REQUESTED), resources.mem_requested_bytes);
  o = putNumber(out, putConstant(view, out, o, K_NCPUS), resources.ncpus);
  o = putNumber(out, putConstant(view, out, o, K_NGPUS), resources.ngpus);
  o = putNumber(out, putConstant(view, out, o, K_NODES), resources.nodes);
  o = payload.putJson(EXEC_HOST, out, putConstant(view, out, o, K_EXEC_HOST), false);
  o = putNumber(out, putConstant(view, out, o, K_EXIT_STATUS), exitStatus());
  o = putNumber(out, putConstant(view, out, o, K_RUN_COUNT), payload.count(RUN_COUNT));
  if (origin.file !== fileName) {
    fileName = origin.file;
    fileJson = Buffer.from(JSON.stringify(fileName), 'utf8');
  }
  o = putBytes(out, putConstant(view, out, o, type === 'E' ? ORIGIN_E : ORIGIN_R), fileJson);
  o = putNumber(out, putConstant(view, out, o, K_LINE), origin.line);
  out[o++] = 125;
  out[o++] = 125;
  return o;
}

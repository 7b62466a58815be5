import type { JobRecord } from '../../contracts/job-record.ts';
import { localToUtcMs } from '../pbs/local-time.ts';
import { jobChunks, repairJson, topLevelObjects } from '../pbs/qstat-json-repair.ts';
import { deriveJobResources } from '../pbs/resources.ts';
import { epochToRfc3339, parseCount, parseInteger } from '../pbs/values.ts';

/**
 * `qstat -x -f -F json` (OpenPBS / PBS Pro) → job records, for the jobs the server still keeps in its
 * history (job_history_enable; two weeks by default). The command itself is run elsewhere; this is the
 * pure parser. Finished jobs only: job_state `F`, or `X` for array sub-jobs; array parents `123[]` are
 * left out (their sub-jobs are counted).
 */

export interface QstatParseOptions {
  /** The PBS server's IANA time zone: qstat prints times as ctime(3) strings in server local time. */
  timeZone: string;
}

export interface QstatParseResult {
  records: JobRecord[];
  /** Job objects (or whole outputs) that could not be read; never fatal. */
  malformed: number;
  /** At most 20 short reasons (`job 123.srv: …`), never raw output. */
  examples: string[];
  /** Jobs deliberately left out: not finished, or array parents. */
  skipped: number;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const CTIME = /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +)?([A-Z][a-z]{2}) +(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * A qstat time → RFC 3339 UTC. ctime(3) strings (`Tue Oct 11 08:13:45 2022`) are server local time and
 * are converted through `timeZone` (DST-aware); an epoch (number or digits, as `history_timestamp`) is
 * taken as is. `undefined` when the value is there but unreadable; null when absent or 0.
 */
export function parseQstatTime(value: Json | undefined, timeZone: string): string | null | undefined {
  if (value === undefined || value === null || value === '') return null;
  const epoch = parseCount(typeof value === 'number' || typeof value === 'string' ? value : null);
  if (epoch !== null) return epoch === 0 ? null : epochToRfc3339(epoch);
  if (typeof value !== 'string') return undefined;
  const m = CTIME.exec(value.trim());
  const month = m ? MONTHS.indexOf(m[1]!) + 1 : 0;
  if (!m || month === 0) return undefined;
  const [day, hour, minute, second, year] = m.slice(2).map(Number) as [number, number, number, number, number];
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  return epochToRfc3339(localToUtcMs({ year, month, day, hour, minute, second }, timeZone) / 1000);
}

/** qstat's nested objects flattened to accounting-log names (`Resource_List.mem`, `resources_used.cput`). */
function flatten(job: JsonObject): Map<string, string> {
  const attrs = new Map<string, string>();
  const put = (key: string, v: Json) => {
    if (typeof v === 'string') attrs.set(key, v);
    else if (typeof v === 'number' || typeof v === 'boolean') attrs.set(key, String(v));
  };
  for (const [key, value] of Object.entries(job)) {
    if (key === 'Variable_List') continue; // the job's environment: large, and not ours to read
    if (isObject(value)) for (const [sub, v] of Object.entries(value)) put(`${key}.${sub}`, v);
    else put(key, value);
  }
  return attrs;
}

const text = (v: string | undefined) => (v === undefined || v === '' ? null : v);

/** `user@host` → `user`; `grp@host` → `grp`; a list (`a,b`) is not one group: null. */
const beforeAt = (v: string | undefined) => (v === undefined || v.includes(',') ? null : text(v.split('@')[0]));

type TimeField = 'ctime' | 'qtime' | 'etime' | 'start' | 'end';

/** Where each time comes from; end: when the obit arrived, else when the job went into history, else its last change. */
const TIME_SOURCES: Array<[TimeField, string[]]> = [
  ['ctime', ['ctime']],
  ['qtime', ['qtime']],
  ['etime', ['etime']],
  ['start', ['stime']],
  ['end', ['obittime', 'history_timestamp', 'mtime']],
];

/** One finished qstat job object → a job record, or the reason it cannot be one. */
export function qstatJobToRecord(id: string, job: JsonObject, timeZone: string): JobRecord | string {
  const attrs = flatten(job);
  const times = { ctime: null, qtime: null, etime: null, start: null, end: null } as Record<TimeField, string | null>;
  for (const [field, keys] of TIME_SOURCES) {
    const key = keys.find((k) => job[k] !== undefined && job[k] !== null);
    if (key === undefined) continue;
    const value = parseQstatTime(job[key], timeZone);
    if (value === undefined) return `${key} is not a time`;
    times[field] = value;
  }
  const startMs = times.start === null ? null : Date.parse(times.start);
  const endMs = times.end === null ? null : Date.parse(times.end);
  if (startMs !== null && endMs !== null && endMs < startMs) return 'end before start';

  const { walltime_used_seconds, ...resources } = deriveJobResources(attrs);
  return {
    job_id: id,
    user: text(attrs.get('euser')) ?? beforeAt(attrs.get('Job_Owner')),
    group: text(attrs.get('egroup')) ?? beforeAt(attrs.get('group_list')),
    project: text(attrs.get('project')),
    account: text(attrs.get('Account_Name')),
    queue: text(attrs.get('queue')),
    jobname: text(attrs.get('Job_Name')),
    ...times,
    walltime_used_seconds: walltime_used_seconds ?? (startMs !== null && endMs !== null ? (endMs - startMs) / 1000 : null),
    ...resources,
    exit_status: parseInteger(attrs.get('Exit_status')),
    run_count: parseCount(attrs.get('run_count')),
    origin: { source: 'qstat', record: 'E' },
  };
}

const FINISHED = new Set(['F', 'X']);

function tryParse(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    try {
      return JSON.parse(repairJson(text)) as Json;
    } catch {
      return undefined;
    }
  }
}

/**
 * Parse `qstat -x -f -F json` output. First JSON.parse; if that fails, each top-level object in the
 * output (text around them is ignored) is parsed again after a repair pass (qstat-json-repair.ts);
 * if that still fails, the members of its `Jobs` object are cut out and read one by one, so a single
 * damaged job costs only itself. An output without `Jobs` has no jobs; a bare job object (no
 * envelope) is read with its `Job_Id`.
 */
export function parseQstatJson(output: string, opts: QstatParseOptions): QstatParseResult {
  const result: QstatParseResult = { records: [], malformed: 0, examples: [], skipped: 0 };
  const bad = (why: string) => {
    result.malformed++;
    if (result.examples.length < 20) result.examples.push(why.slice(0, 300));
  };
  const readJob = (id: string | null, job: Json | undefined) => {
    if (!isObject(job)) return bad(`job ${id ?? '?'}: not an object`);
    if (id === null || id === '') return bad('job without an id');
    if (typeof job.job_state !== 'string' || !FINISHED.has(job.job_state) || /\[\]/.test(id)) {
      result.skipped++;
      return;
    }
    const record = qstatJobToRecord(id, job, opts.timeZone);
    if (typeof record === 'string') bad(`job ${id}: ${record}`);
    else result.records.push(record);
  };
  const readDocument = (doc: Json) => {
    if (!isObject(doc)) return bad('qstat output is not a JSON object');
    if (isObject(doc.Jobs)) for (const [id, job] of Object.entries(doc.Jobs)) readJob(id, job);
    else if ('job_state' in doc) readJob(typeof doc.Job_Id === 'string' ? doc.Job_Id : null, doc);
  };

  if (output.trim() === '') return result;
  let whole: Json | undefined;
  try {
    whole = JSON.parse(output) as Json;
  } catch {
    // repaired below
  }
  if (whole !== undefined) {
    readDocument(whole);
    return result;
  }
  const objects = topLevelObjects(output);
  if (objects.length === 0) bad('qstat output holds no JSON object');
  for (const object of objects) {
    const doc = tryParse(object);
    if (doc !== undefined) {
      readDocument(doc);
      continue;
    }
    const chunks = jobChunks(object);
    if (chunks.length === 0) bad('qstat output could not be read');
    for (const chunk of chunks) {
      const job = chunk.text === null ? undefined : tryParse(chunk.text);
      if (job === undefined) bad(`job ${chunk.id}: invalid JSON`);
      else readJob(chunk.id, job);
    }
  }
  return result;
}

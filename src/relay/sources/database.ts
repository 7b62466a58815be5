import type { JobRecord } from '../../contracts/job-record.ts';
import { type JobSource, noteMalformed, type SourceStats, type Window } from '../source.ts';
import { offsetAt } from '../pbs/local-time.ts';

/**
 * Job records from an accounting database (for instance one filled by torque2db): an operator's SQL
 * query, run with $1 = from and $2 = to (timestamptz), whose columns are named like the job-record
 * fields (`job_id`, `"user"`, `"group"`, `queue`, …, `"end"`, `walltime_used_seconds`, …). Missing
 * columns are null; other columns are ignored. Rows are read through a server-side cursor, one page at
 * a time, and the next page is fetched only when the stream has taken the last one: memory holds at most
 * one page whatever the size of the result.
 */
export interface DatabaseSourceOptions {
  /** postgres:// connection string. */
  url: string;
  /** One SELECT (no trailing semicolon needed); `$1`/`$2` are the window's from/to. */
  query: string;
  /** How `timestamp without time zone` and `date` columns are read (default UTC). */
  timeZone?: string;
  /** Rows per FETCH (default 1000). */
  pageSize?: number;
}

/** Type OIDs read as text and converted here (pg's own parsers read naive timestamps in the relay's zone). */
const OID = { int2: 21, int4: 23, int8: 20, numeric: 1700, date: 1082, timestamp: 1114, timestamptz: 1184, interval: 1186 };
const RAW_TYPES = new Set([OID.date, OID.timestamp, OID.timestamptz, OID.interval]);

/**
 * The job-record schema (zod) and its fields, loaded with the driver on first use: a relay without a
 * database source keeps neither in memory.
 */
async function loadRecordSchema() {
  const { JobRecordSchema } = await import('../../contracts/job-record.ts');
  const fields = Object.keys(JobRecordSchema.shape).filter((k) => k !== 'origin') as Exclude<keyof JobRecord, 'origin'>[];
  return { JobRecordSchema, fields };
}
const TIME_FIELDS = new Set<string>(['ctime', 'qtime', 'etime', 'start', 'end']);
const TEXT_FIELDS = new Set<string>(['job_id', 'user', 'group', 'project', 'account', 'queue', 'jobname', 'exec_host']);

export function databaseSource(options: DatabaseSourceOptions): JobSource {
  const query = options.query.trim().replace(/[\s;]+$/, '');
  const label = query.replace(/\s+/g, ' ').slice(0, 80);
  const params = Math.min(2, Math.max(0, ...[...query.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]))));
  const pageSize = options.pageSize ?? 1000;
  const timeZone = options.timeZone ?? 'UTC';

  return {
    kind: 'db',
    async *jobs(window: Window, stats: SourceStats, signal: AbortSignal): AsyncGenerator<JobRecord> {
      signal.throwIfAborted();
      const input = { name: label, lines: 0 };
      stats.inputs.push(input);
      // Loaded on first use: a relay without a database source never pays for the driver (~8 MB).
      const [{ default: pg }, schema] = await Promise.all([import('pg'), loadRecordSchema()]);
      const client = new pg.Client({
        connectionString: options.url,
        fallback_application_name: 'zeus-relay', // the URL's application_name wins
        connectionTimeoutMillis: 10_000,
        types: {
          getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
            RAW_TYPES.has(oid) ? (v: string) => v : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
        },
      });
      client.on('error', () => {}); // a dropped connection fails the pending query; never the process
      // Closing the connection fails the FETCH in flight; the server stops the query on its next
      // client_connection_check_interval (PostgreSQL 14+) or when it next writes.
      const onAbort = () => void client.end().catch(() => {});
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await client.connect();
        await client.query(`SET TIME ZONE 'UTC'; SET intervalstyle = 'postgres'`);
        try {
          await client.query(`SET client_connection_check_interval = '1s'`);
        } catch {
          // PostgreSQL before 14: the query runs to its end after a disconnect
        }
        await client.query('BEGIN READ ONLY');
        const values = [window.from.toISOString(), window.to.toISOString()].slice(0, params);
        await client.query(`DECLARE relay_jobs NO SCROLL CURSOR FOR ${query}`, values);
        let columns: Map<string, number> | undefined; // name → type OID
        for (;;) {
          const page = await client.query<Record<string, unknown>>(`FETCH ${pageSize} FROM relay_jobs`);
          columns ??= new Map(page.fields.map((f) => [f.name, f.dataTypeID]));
          for (const row of page.rows) {
            input.lines++;
            const record = readRow(row, columns, schema, timeZone, label, stats, input.lines);
            if (record) yield record;
          }
          if (page.rows.length < pageSize) break;
        }
        await client.query('COMMIT');
      } finally {
        signal.removeEventListener('abort', onAbort);
        await client.end().catch(() => {});
      }
    },
  };
}

class ValueError extends Error {}

/** One row → a validated job record, or null (counted malformed with `row N: field: why`). */
function readRow(
  row: Record<string, unknown>,
  columns: Map<string, number>,
  { JobRecordSchema, fields }: Awaited<ReturnType<typeof loadRecordSchema>>,
  timeZone: string,
  label: string,
  stats: SourceStats,
  n: number,
): JobRecord | null {
  const candidate: Record<string, unknown> = { origin: { source: 'db', record: 'E', query: label } };
  for (const field of fields) {
    const value = row[field];
    const oid = columns.get(field) ?? 0;
    try {
      if (TIME_FIELDS.has(field)) candidate[field] = toTimestamp(value, oid, timeZone);
      else if (TEXT_FIELDS.has(field)) candidate[field] = toText(value);
      else candidate[field] = toNumber(value, oid);
    } catch (err) {
      noteMalformed(stats, `row ${n}: ${field}: ${(err as Error).message}`);
      return null;
    }
  }
  const parsed = JobRecordSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  noteMalformed(stats, `row ${n}: ${issue.path.join('.') || '(row)'}: ${issue.message}`);
  return null;
}

function toText(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return value; // anything else that is not a string fails validation
}

const NUMERIC = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i;

function toNumber(value: unknown, oid: number): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (oid === OID.interval) return intervalSeconds(value);
    if (NUMERIC.test(value.trim())) return Number(value);
  }
  throw new ValueError('not a number');
}

/** `1 day 02:03:04.5`, `3 days`, `00:10:00` (IntervalStyle postgres); months and years are ambiguous. */
function intervalSeconds(text: string): number {
  const m = /^(?:(-?\d+) days?)? ?(?:(-)?(\d+):(\d\d):(\d\d(?:\.\d+)?))?$/.exec(text.trim());
  if (!m || (!m[1] && !m[3])) throw new ValueError('interval with months or years, or unreadable');
  const time = m[3] ? (Number(m[3]) * 3600 + Number(m[4]) * 60 + Number(m[5])) * (m[2] ? -1 : 1) : 0;
  return Number(m[1] ?? 0) * 86_400 + time;
}

const PG_TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?|(Z))?$/i;
const PG_DATE = /^(\d{4})-(\d\d)-(\d\d)$/;

/**
 * A time column → RFC 3339 UTC (whole seconds without a fraction). timestamptz (rendered in UTC by the
 * session) and text with an offset are exact; timestamp, date and text without an offset are wall-clock
 * times in `timeZone`; numbers are unix seconds, 0 being null (as in PBS).
 */
function toTimestamp(value: unknown, oid: number, timeZone: string): string | null {
  if (value === null || value === undefined) return null;
  const numeric = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isNaN(numeric) && (typeof value === 'number' || [OID.int2, OID.int4, OID.int8, OID.numeric].includes(oid))) {
    return numeric === 0 ? null : isoUtc(numeric * 1000);
  }
  if (typeof value !== 'string') throw new ValueError('not a timestamp');
  const date = PG_DATE.exec(value);
  const m = date ?? PG_TIMESTAMP.exec(value);
  if (!m) throw new ValueError('not a timestamp');
  const [y, mo, d, h = '0', mi = '0', s = '0', frac = ''] = m.slice(1, 8);
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Math.floor(Number(`0${frac || '.0'}`) * 1000));
  const sign = m[8];
  if (!date && m[12]) return isoUtc(wall);
  if (!date && sign) {
    const offset = (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * 1000;
    return isoUtc(wall - (sign === '-' ? -offset : offset));
  }
  return isoUtc(zonedToUtc(wall, timeZone));
}

function isoUtc(ms: number): string {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999 || date.getUTCFullYear() < 1) {
    throw new ValueError('timestamp out of range');
  }
  return date.toISOString().replace('.000Z', 'Z');
}

/** The instant at which the clocks of `timeZone` show `wall` (a wall-clock time encoded as UTC ms). */
export function zonedToUtc(wall: number, timeZone: string): number {
  if (timeZone === 'UTC') return wall;
  const first = wall - offsetAt(wall, timeZone);
  return wall - offsetAt(first, timeZone); // second pass: the offset on the right side of a DST change
}

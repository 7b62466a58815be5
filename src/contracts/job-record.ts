import { z } from 'zod';
import { JOB_SOURCES } from './relay-api.ts';

/**
 * The relay's job record (docs/architecture.md §2): one finished job (or one requeued attempt) as one JSON
 * object per NDJSON line. Null when unknown. Sizes in bytes, durations in seconds, times RFC 3339 UTC.
 */
const nullableString = z.string().nullable();
const utc = z.iso.datetime({ offset: false }).nullable();
const seconds = z.number().nonnegative().nullable();
const bytes = z.number().nonnegative().nullable();
const count = z.number().int().nonnegative().nullable();

export { JOB_SOURCES, type JobSourceKind, RELAY_HEALTH_PATH, RELAY_JOBS_PATH } from './relay-api.ts';

export const JobOriginSchema = z.object({
  source: z.enum(JOB_SOURCES),
  /** `E` = the job ended (its final run); `R` = an attempt that was requeued (PBS R record: its usage counts too). */
  record: z.enum(['E', 'R']),
  file: z.string().optional(),
  line: z.number().int().positive().optional(),
  query: z.string().optional(),
});

export const JobRecordSchema = z.object({
  job_id: z.string().min(1),
  user: nullableString,
  group: nullableString,
  project: nullableString,
  account: nullableString,
  queue: nullableString,
  jobname: nullableString,
  ctime: utc,
  qtime: utc,
  etime: utc,
  start: utc,
  end: utc,
  walltime_used_seconds: seconds,
  walltime_requested_seconds: seconds,
  cpu_time_seconds: seconds,
  cpu_percent: z.number().nonnegative().nullable(),
  mem_used_bytes: bytes,
  vmem_used_bytes: bytes,
  mem_requested_bytes: bytes,
  ncpus: count,
  ngpus: count,
  nodes: count,
  exit_status: z.number().int().nullable(),
  run_count: count,
  exec_host: nullableString,
  origin: JobOriginSchema,
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

/**
 * The last line of every /v1/jobs stream. A stream that ends without it was cut off and must never
 * be taken as complete.
 */
export const JobStreamSummarySchema = z.object({
  summary: z.object({
    /** Job records written before this line. */
    count: z.number().int().nonnegative(),
    /** Lines or entries a source could not parse (counted, never fatal). */
    malformed: z.number().int().nonnegative(),
    /** Records deliberately left out (array parents, non-usage record types, end outside the window). */
    skipped: z.number().int().nonnegative(),
    /** What was read: files (with line counts), or the query/command that ran. */
    inputs: z.array(z.object({ name: z.string(), lines: z.number().int().nonnegative().optional() })),
    /** A few examples of malformed input, for the operator (file:line and why; never a whole line). */
    malformed_examples: z.array(z.string()).max(20),
  }),
});
export type JobStreamSummary = z.infer<typeof JobStreamSummarySchema>['summary'];

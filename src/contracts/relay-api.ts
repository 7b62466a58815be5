/**
 * The relay's API names (docs/architecture.md §2), without any schema library: the relay imports these at
 * start-up and stays free of zod there (about 14 MB of resident memory it does not need to serve).
 */
export const JOB_SOURCES = ['accounting', 'qstat', 'db'] as const;
export type JobSourceKind = (typeof JOB_SOURCES)[number];

export const RELAY_JOBS_PATH = '/v1/jobs';
export const RELAY_HEALTH_PATH = '/v1/health';
/** The PBS transform run on site: one line per (project, user, UTC day) (docs/architecture.md §3). */
export const RELAY_USAGE_PATH = '/v1/usage';
/** OpenStack servers and their state over a window (docs/architecture.md §5). */
export const RELAY_INSTANCES_PATH = '/v1/instances';
/**
 * An optional query parameter of every route: the caller's id for this attempt, logged by the relay. The
 * collector sends a fresh one on every attempt, so two callers (two Worker isolates, say) asking for the
 * same window in the same second sign different strings and neither is refused as a replay.
 */
export const RELAY_REQUEST_ID_PARAM = 'request_id';

/** A server's state in an instance record's interval: held in every state but SHELVED, running only in ACTIVE. */
export const INSTANCE_STATES = ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'ERROR', 'SHELVED'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/**
 * The line that ends a stream whose source failed part-way, in place of the summary line: a reader
 * that only looks for the summary sees a cut-off stream; one that reads this line can say why.
 */
export interface StreamErrorLine {
  error: { source: string; message: string };
}

/**
 * An RFC 3339 date-time with an offset (`2025-11-19T00:00:00Z`, `…T01:00:00.5+01:00`; seconds
 * required, the offset with its colon), checked field by field: what `z.iso.datetime({ offset: true })`
 * accepts (a test holds the two together).
 */
export function isRfc3339WithOffset(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/.exec(value);
  if (!m) return false;
  const [, y, mo, d, h, mi, s, , oh = '00', om = '00'] = m as unknown as string[];
  const month = Number(mo);
  const day = Number(d);
  const daysInMonth = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    Number(h) <= 23 &&
    Number(mi) <= 59 &&
    Number(s) <= 59 &&
    Number(oh) <= 23 &&
    Number(om) <= 59
  );
}

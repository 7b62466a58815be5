/**
 * Value parsers for PBS accounting records and qstat output (pbs-accounting-format.md §B.4).
 * Each returns null for anything it cannot read exactly: a wrong number is worse than none.
 */

const SIZE = /^(\d+)([kmgtp]?)([bw]?)$/i;
const SHIFT: Record<string, number> = { '': 0, k: 10, m: 20, g: 30, t: 40, p: 50 };

/**
 * A PBS size (`integer[k|m|g|t|p][b|w]`, case-insensitive) in bytes. Multiples are binary (k = 2^10);
 * `w` is an 8-byte word. No suffix at all means bytes: that is what OpenPBS's `to_size()` does and what
 * Torque writes (`143425316860b`, and bare byte counts in `reqmem=`). XDMoD's shredder reads a bare
 * number as kb; we follow the scheduler, not XDMoD. Sizes are integers only: `12.27M` (not PBS output)
 * is null, as is anything beyond Number.MAX_SAFE_INTEGER.
 */
export function parseSize(value: string | undefined | null): number | null {
  if (value == null) return null;
  const m = SIZE.exec(value.trim());
  if (!m) return null;
  const [, digits, mult, unit] = m as unknown as [string, string, string, string];
  const bytes = Number(digits) * 2 ** SHIFT[mult.toLowerCase()]! * (unit.toLowerCase() === 'w' ? 8 : 1);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** `[[[DD:]HH:]MM:]SS[.fraction]`, one pass. */
const DURATION = /^\s*(?:(?:(?:(\d+):)?(\d+):)?(\d+):)?(\d+(?:\.\d+)?)\s*$/;

/**
 * A PBS duration in seconds. Accepted: plain seconds (`12722`, Torque ≥ 5.1), `MM:SS`, `HH:MM:SS` with
 * unbounded hours (`800:00:00`) and one-digit fields (`2:00:00`, `19:23:4`), and `DD:HH:MM:SS` (never
 * written by PBS, accepted by hnormalise; unambiguous, so read). The last field may carry a fraction
 * (`[.milliseconds]` in the PBS input syntax); minutes and seconds above 59 are added as they are
 * (qstat's `1234:56:78.9012345` in the baw-server fixture is 4445838.9012345 s). Anything negative or
 * otherwise unexpected (`-342359:-42:-21`) is null, so that callers fall back to end − start.
 */
export function parseDuration(value: string | undefined | null): number | null {
  if (value == null) return null;
  const m = DURATION.exec(value);
  if (!m) return null;
  const [, days, hours, minutes, seconds] = m;
  const total =
    (days === undefined ? 0 : Number(days) * 86400) +
    (hours === undefined ? 0 : Number(hours) * 3600) +
    (minutes === undefined ? 0 : Number(minutes) * 60) +
    Number(seconds);
  return Number.isFinite(total) ? total : null;
}

/** A signed integer (`-11`, `271`, `0`); null for anything else, including `1.0` and `12abc`. */
export function parseInteger(value: string | number | undefined | null): number | null {
  if (value == null) return null;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (!/^\s*[-+]?\d+\s*$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/** A non-negative integer count; null otherwise. */
export function parseCount(value: string | number | undefined | null): number | null {
  const n = parseInteger(value);
  return n !== null && n >= 0 ? n : null;
}

/** 9999-12-31T23:59:59Z: later epochs are garbage (and would not fit an RFC 3339 year). */
const MAX_EPOCH = 253402300799;

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * Unix seconds (whole, 0 … 253402300799) → RFC 3339 UTC without fractional seconds
 * (`2011-10-01T22:59:05Z`). Computed directly (Hinnant's civil-from-days): Date#toISOString was the
 * largest cost of parsing an accounting line.
 */
export function epochToRfc3339(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  let rem = seconds - days * 86400;
  const hour = Math.floor(rem / 3600);
  rem -= hour * 3600;
  const minute = Math.floor(rem / 60);
  const second = Math.floor(rem - minute * 60);
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}Z`;
}

/**
 * An accounting epoch field (ctime, qtime, etime, start, end) in unix seconds: `undefined` when the
 * value is not a non-negative integer (the line is then malformed), null for 0 (PBS writes
 * `start=0`/`end=0` for a time it never had).
 */
export function parseEpochSeconds(value: string): number | null | undefined {
  const n = parseCount(value);
  if (n === null || n > MAX_EPOCH) return undefined;
  return n === 0 ? null : n;
}

/** {@link parseEpochSeconds}, as RFC 3339 UTC. */
export function parseEpochField(value: string): string | null | undefined {
  const n = parseEpochSeconds(value);
  return n == null ? n : epochToRfc3339(n);
}

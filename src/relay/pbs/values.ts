/**
 * Value parsers for PBS accounting records and qstat output (docs/relay.md, "PBS input formats": values).
 * Each returns null for anything it cannot read exactly: a wrong number is worse than none.
 */
import { DIGIT_PAIRS } from './json-bytes.ts';

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
  // Fast path for what PBS writes (`1245kb`, `20gb`, `0b`): digits, a multiple, a unit, nothing else.
  const n = value.length;
  let i = 0;
  let digits = 0;
  for (; i < n; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    digits = digits * 10 + d;
  }
  if (i === 0 || i > 15) return parseSizeRegex(value);
  let multiple = 1; // 2 ** SHIFT[…], spelt out: `**` on a variable is a slow call
  if (i < n) {
    const c = value.charCodeAt(i) | 0x20; // ASCII lower case; no other character maps onto these letters
    multiple = c === 107 ? 1024 : c === 109 ? 1048576 : c === 103 ? 1073741824 : c === 116 ? 1099511627776 : c === 112 ? 1125899906842624 : 1;
    if (multiple !== 1) i++;
  }
  let word = 1;
  if (i < n) {
    const c = value.charCodeAt(i) | 0x20;
    if (c === 98) i++;
    else if (c === 119) {
      word = 8;
      i++;
    }
  }
  if (i !== n) return parseSizeRegex(value);
  const bytes = digits * multiple * word;
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** The grammar in full (surrounding whitespace, long digit runs): what the fast path hands over. */
function parseSizeRegex(value: string): number | null {
  const m = SIZE.exec(value.trim());
  if (!m) return null;
  const [, digits, mult, unit] = m as unknown as [string, string, string, string];
  const bytes = Number(digits) * 2 ** SHIFT[mult.toLowerCase()]! * (unit.toLowerCase() === 'w' ? 8 : 1);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/**
 * {@link parseSize} of the ASCII `bytes[from, to)`, for what PBS writes (digits, a multiple, a unit);
 * undefined for anything else (then decode it and call parseSize).
 */
export function parseSizeBytes(bytes: Uint8Array, from: number, to: number): number | null | undefined {
  let i = from;
  let digits = 0;
  for (; i < to; i++) {
    const d = bytes[i]! - 48;
    if (d < 0 || d > 9) break;
    digits = digits * 10 + d;
  }
  if (i === from || i - from > 15) return undefined;
  let multiple = 1;
  if (i < to) {
    const c = bytes[i]! | 0x20;
    multiple = c === 107 ? 1024 : c === 109 ? 1048576 : c === 103 ? 1073741824 : c === 116 ? 1099511627776 : c === 112 ? 1125899906842624 : 1;
    if (multiple !== 1) i++;
  }
  let word = 1;
  if (i < to) {
    const c = bytes[i]! | 0x20;
    if (c === 98) i++;
    else if (c === 119) {
      word = 8;
      i++;
    }
  }
  if (i !== to) return undefined;
  const size = digits * multiple * word;
  return Number.isSafeInteger(size) ? size : null;
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
  // Fast path: `SS`, `MM:SS` or `HH:MM:SS` in digits only (what PBS writes); anything else: the regex.
  const n = value.length;
  let a = 0; // the last three fields read: a = hours, b = minutes, c = seconds
  let b = 0;
  let c = 0;
  let fields = 0;
  let i = 0;
  for (;;) {
    let field = 0;
    const start = i;
    for (; i < n; i++) {
      const d = value.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      field = field * 10 + d;
    }
    if (i === start || i - start > 15 || fields === 3) return parseDurationRegex(value);
    a = b;
    b = c;
    c = field;
    fields++;
    if (i === n) break;
    if (value.charCodeAt(i) !== 58) return parseDurationRegex(value);
    i++;
  }
  const total = (fields >= 3 ? a * 3600 : 0) + (fields >= 2 ? b * 60 : 0) + c;
  return Number.isFinite(total) ? total : null;
}

/** The grammar in full (days, fractions, whitespace): what the fast path hands over. */
function parseDurationRegex(value: string): number | null {
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

/**
 * {@link parseDuration} of the ASCII `bytes[from, to)`, for what PBS writes (`SS`, `MM:SS`, `HH:MM:SS`,
 * digits only); undefined for anything else (then decode it and call parseDuration).
 */
export function parseDurationBytes(bytes: Uint8Array, from: number, to: number): number | null | undefined {
  let a = 0; // the last three fields read: a = hours, b = minutes, c = seconds
  let b = 0;
  let c = 0;
  let fields = 0;
  let i = from;
  for (;;) {
    let field = 0;
    const start = i;
    for (; i < to; i++) {
      const d = bytes[i]! - 48;
      if (d < 0 || d > 9) break;
      field = field * 10 + d;
    }
    if (i === start || i - start > 15 || fields === 3) return undefined;
    a = b;
    b = c;
    c = field;
    fields++;
    if (i === to) break;
    if (bytes[i] !== 58) return undefined;
    i++;
  }
  const total = (fields >= 3 ? a * 3600 : 0) + (fields >= 2 ? b * 60 : 0) + c;
  return Number.isFinite(total) ? total : null;
}

/** A signed integer (`-11`, `271`, `0`); null for anything else, including `1.0` and `12abc`. */
export function parseInteger(value: string | number | undefined | null): number | null {
  if (value == null) return null;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  // Fast path: [-]digits, at most 15 of them (always safe).
  const n = value.length;
  const negative = n > 1 && value.charCodeAt(0) === 45;
  let i = negative ? 1 : 0;
  if (n > 0 && n - i <= 15) {
    let v = 0;
    for (; i < n; i++) {
      const d = value.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (i === n) return negative ? -v : v;
  }
  if (!/^\s*[-+]?\d+\s*$/.test(value)) return null;
  const v = Number(value);
  return Number.isSafeInteger(v) ? v : null;
}

/** A non-negative integer count; null otherwise. */
export function parseCount(value: string | number | undefined | null): number | null {
  const n = parseInteger(value);
  return n !== null && n >= 0 ? n : null;
}

/** 9999-12-31T23:59:59Z: later epochs are garbage (and would not fit an RFC 3339 year). */
export const MAX_EPOCH = 253402300799;

/** The civil date of a day number (days since 1970-01-01), Hinnant's civil-from-days. */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

/** The dates of the last few days formatted (an accounting line's five times span a day or two). */
const civilDays: Array<{ days: number; year: number; month: number; day: number } | undefined> = new Array(8);

function civilDate(days: number): { year: number; month: number; day: number } {
  let date = civilDays[days & 7];
  if (date === undefined || date.days !== days) civilDays[days & 7] = date = { days, ...civilFromDays(days) };
  return date;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** The parts of the time {@link splitSeconds} last split (one object, reused). */
const parts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };

/** Whole unix seconds → UTC date and time, into {@link parts}; the date cached per day. */
function splitSeconds(seconds: number): typeof parts {
  const days = Math.floor(seconds / 86400);
  let rem = seconds - days * 86400;
  parts.hour = Math.floor(rem / 3600);
  rem -= parts.hour * 3600;
  parts.minute = Math.floor(rem / 60);
  parts.second = Math.floor(rem - parts.minute * 60);
  const { year, month, day } = civilDate(days);
  parts.year = year;
  parts.month = month;
  parts.day = day;
  return parts;
}

/** Two digits of `n` (0 … 99) into `out` at `at`. */
function put2(out: Uint8Array, at: number, n: number): void {
  const tens = Math.floor(n / 10);
  out[at] = 48 + tens;
  out[at + 1] = 48 + (n - tens * 10);
}

/** The 20 characters `YYYY-MM-DDTHH:MM:SSZ` of {@link parts} (a year of four digits) into `out` at `at`. */
function putParts(out: Uint8Array, at: number): void {
  const { year } = parts;
  put2(out, at, Math.floor(year / 100));
  put2(out, at + 2, year % 100);
  out[at + 4] = 45; // -
  put2(out, at + 5, parts.month);
  out[at + 7] = 45;
  put2(out, at + 8, parts.day);
  out[at + 10] = 84; // T
  put2(out, at + 11, parts.hour);
  out[at + 13] = 58; // :
  put2(out, at + 14, parts.minute);
  out[at + 16] = 58;
  put2(out, at + 17, parts.second);
  out[at + 19] = 90; // Z
}

const scratch = new Uint8Array(20);

/**
 * Unix seconds (whole, 0 … 253402300799) → RFC 3339 UTC without fractional seconds
 * (`2011-10-01T22:59:05Z`). Computed directly, the date cached per day, the string made in one piece
 * (Date#toISOString was the largest cost of parsing an accounting line, and a string concatenated in
 * parts also costs JSON.stringify more).
 */
export function epochToRfc3339(seconds: number): string {
  if (seconds === lastSeconds) return lastText; // ctime, qtime and etime are often the same second
  const { year, month, day, hour, minute, second } = splitSeconds(seconds);
  lastSeconds = seconds;
  if (year >= 0 && year <= 9999) {
    putParts(scratch, 0);
    const c = scratch; // twenty arguments: quicker than apply, and a flat string
    lastText = String.fromCharCode(
      c[0]!,
      c[1]!,
      c[2]!,
      c[3]!,
      c[4]!,
      c[5]!,
      c[6]!,
      c[7]!,
      c[8]!,
      c[9]!,
      c[10]!,
      c[11]!,
      c[12]!,
      c[13]!,
      c[14]!,
      c[15]!,
      c[16]!,
      c[17]!,
      c[18]!,
      c[19]!,
    );
  } else {
    lastText = `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}Z`;
  }
  return lastText;
}

let lastSeconds = Number.NaN;
let lastText = '';

/** The day {@link putRfc3339Json} last wrote, and the first twelve bytes of its times' JSON, `"YYYY-MM-DDT`, as three 32-bit words. */
let prefixDays = Number.NaN;
let prefix0 = 0;
let prefix1 = 0;
let prefix2 = 0;
const dayBytes = new Uint8Array(21);
const dayView = new DataView(dayBytes.buffer);

/**
 * {@link epochToRfc3339} as a JSON string (quotes included) written into `out` at `at` (`view` is `out` as a
 * DataView), for epochs 1 … MAX_EPOCH (an accounting time: four-digit years); returns the position after it.
 * Six stores of 32 or 16 bits: the date's twelve bytes are made once per day (a record's five times fall on a
 * day or two), the time's from a table of digit pairs.
 */
export function putRfc3339Json(view: DataView, at: number, seconds: number): number {
  const days = Math.floor(seconds / 86400);
  if (days !== prefixDays) {
    splitSeconds(seconds);
    dayBytes[0] = 34;
    putParts(dayBytes, 1);
    prefix0 = dayView.getUint32(0, true);
    prefix1 = dayView.getUint32(4, true);
    prefix2 = dayView.getUint32(8, true);
    prefixDays = days;
  }
  view.setUint32(at, prefix0, true);
  view.setUint32(at + 4, prefix1, true);
  view.setUint32(at + 8, prefix2, true);
  const rem = seconds - days * 86400;
  const hour = Math.floor(rem / 3600);
  const minute = Math.floor((rem - hour * 3600) / 60);
  const second = rem - hour * 3600 - minute * 60;
  const mm = DIGIT_PAIRS[minute]!;
  // HH:M, then M:SS, then Z" (bytes in little-endian order).
  view.setUint32(at + 12, DIGIT_PAIRS[hour]! | (58 << 16) | ((mm & 0xff) << 24), true);
  view.setUint32(at + 16, (mm >> 8) | (58 << 8) | (DIGIT_PAIRS[second]! << 16), true);
  view.setUint16(at + 20, 90 | (34 << 8), true);
  return at + 22;
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

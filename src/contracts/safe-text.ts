/**
 * What PostgreSQL cannot hold, refused at the edge of every route as a 422 naming the field (never a
 * 500 from the database): a NUL character or a lone UTF-16 surrogate in a string, and instants outside
 * the years 0001–9999 once their offset is applied.
 */

/** A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const BAD_TEXT_MESSAGE = 'must not contain a NUL character or a lone surrogate';

export const hasBadText = (s: string): boolean => s.includes('\0') || LONE_SURROGATE.test(s);

/**
 * The path of the first string (a value or an object key) holding bad text, or undefined when there is
 * none. Recursive: callers cap the nesting depth first (the JSON body middleware does, at 64).
 */
export function findBadText(value: unknown, path: (string | number)[] = []): (string | number)[] | undefined {
  const found = badTextIn(value);
  return found && [...path, ...found];
}

/** No NUL and no surrogate at all: most strings, told by one scan (the lone-surrogate pattern is slower). */
const SUSPECT = /[\0\uD800-\uDFFF]/;
const isBad = (s: string) => SUSPECT.test(s) && hasBadText(s);

/** findBadText within `value`: a path is built only for what is found, on the way back. */
function badTextIn(value: unknown): (string | number)[] | undefined {
  if (typeof value === 'string') return isBad(value) ? [] : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = badTextIn(value[i]);
      if (found) {
        found.unshift(i);
        return found;
      }
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const k of Object.keys(value)) {
      if (isBad(k)) return [k];
      const found = badTextIn((value as Record<string, unknown>)[k]);
      if (found) {
        found.unshift(k);
        return found;
      }
    }
  }
  return undefined;
}

/** Latest instant PostgreSQL timestamps are asked to hold here: the end of year 9999 (UTC). */
export const MAX_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** Earliest: 0001-01-01T00:00:00Z (there is no year 0000). */
export const MIN_INSTANT_MS = -62_135_596_800_000;

export const YEAR_RANGE_MESSAGE = 'must fall within the years 0001–9999 (UTC, once its offset is applied)';

/** The ISO date-time's instant lies in years 0001–9999 UTC (false for an unparseable one). */
export function inYearRange(iso: string): boolean {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS;
}

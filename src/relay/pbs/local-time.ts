/**
 * Server-local wall-clock time ↔ UTC for an IANA time zone, with Intl only (no dependency).
 * PBS writes local time in two places: the accounting line prefix (and so the day a file covers) and
 * qstat's ctime(3) strings.
 */

export interface CalendarDay {
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // Throws RangeError for an unknown zone: callers validate their configuration with it.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a RangeError naming the zone when `timeZone` is not a valid IANA name. */
export function assertTimeZone(timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    throw new RangeError(`unknown time zone: ${JSON.stringify(timeZone)}`);
  }
}

/** The local wall-clock fields of an instant, as if they were UTC (ms). */
function wallClockMs(instantMs: number, timeZone: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

/** UTC offset (ms, east positive) in effect at an instant. */
export function offsetAt(instantMs: number, timeZone: string): number {
  const floored = Math.floor(instantMs / 1000) * 1000;
  return wallClockMs(floored, timeZone) - floored;
}

/** The local calendar day an instant falls on. */
export function localDayOf(instantMs: number, timeZone: string): CalendarDay {
  const d = new Date(Math.floor(instantMs / 1000) * 1000 + offsetAt(instantMs, timeZone));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * A local wall-clock time → the UTC instant (ms). When the time occurs twice (the repeated hour when
 * DST ends) the earlier instant is taken; when it does not exist (the hour skipped when DST starts) it
 * is read with the offset in force before the gap, i.e. moved forward, as Temporal's "compatible"
 * disambiguation does.
 */
export function localToUtcMs(
  wall: { year: number; month: number; day: number; hour: number; minute: number; second: number },
  timeZone: string,
): number {
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  const before = offsetAt(asUtc - 86_400_000, timeZone);
  const after = offsetAt(asUtc + 86_400_000, timeZone);
  const valid = [before, after].map((o) => asUtc - o).filter((t) => offsetAt(t, timeZone) === asUtc - t);
  if (valid.length > 0) return Math.min(...valid);
  return asUtc - before;
}

/** `YYYYMMDD` for a calendar day (the name of PBS's accounting file for it). */
export function dayFileName(day: CalendarDay): string {
  return `${String(day.year).padStart(4, '0')}${String(day.month).padStart(2, '0')}${String(day.day).padStart(2, '0')}`;
}

/** The day `n` days after `day` (n may be negative), on the proleptic Gregorian calendar. */
export function addDays(day: CalendarDay, n: number): CalendarDay {
  const d = new Date(Date.UTC(day.year, day.month - 1, day.day + n));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * The local days whose accounting files can hold the E records of a UTC window [from, to): every
 * local day the window touches, plus one on each side (a record is stamped when it is written, after
 * the job's end, and files switch at local midnight). In order, oldest first; none for an empty window.
 */
export function accountingDaysForWindow(window: { from: Date; to: Date }, timeZone: string): CalendarDay[] {
  const fromMs = window.from.getTime();
  const toMs = window.to.getTime();
  if (!(toMs > fromMs)) return [];
  const lastMs = toMs - 1;
  const first = addDays(localDayOf(fromMs, timeZone), -1);
  const last = addDays(localDayOf(lastMs, timeZone), 1);
  const days: CalendarDay[] = [];
  for (let d = first; dayFileName(d) <= dayFileName(last); d = addDays(d, 1)) days.push(d);
  return days;
}

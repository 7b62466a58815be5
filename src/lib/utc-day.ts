/** UTC calendar days as `YYYY-MM-DD` strings: the one set of day helpers (collector, mapping, reporting, contracts). */

export const DAY_MS = 86_400_000;

/** The UTC day of an instant: `2026-03-01T23:59:59Z` → `2026-03-01`. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** `2026-03-01` → the UTC window [2026-03-01T00:00Z, 2026-03-02T00:00Z). */
export function dayWindow(day: string): { from: Date; to: Date } {
  const from = new Date(`${day}T00:00:00Z`);
  return { from, to: new Date(from.getTime() + DAY_MS) };
}

export const addDays = (day: string, n: number) => utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS));

/** The last UTC day that ended at least `delayMinutes` before `now`. */
export function lastCompleteDay(now: Date, delayMinutes: number): string {
  const settled = new Date(now.getTime() - delayMinutes * 60_000);
  return addDays(utcDay(settled), -1);
}

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

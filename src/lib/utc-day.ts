const DAY_MS = 86_400_000;

/** `2026-03-01` → the UTC window [2026-03-01T00:00Z, 2026-03-02T00:00Z). */
export function dayWindow(day: string): { from: Date; to: Date } {
  const from = new Date(`${day}T00:00:00Z`);
  return { from, to: new Date(from.getTime() + DAY_MS) };
}

export const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);

/** The last UTC day that ended at least `delayMinutes` before `now`. */
export function lastCompleteDay(now: Date, delayMinutes: number): string {
  const settled = new Date(now.getTime() - delayMinutes * 60_000);
  return addDays(settled.toISOString().slice(0, 10), -1);
}

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

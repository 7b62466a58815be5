import { MAX_EVENTS_PER_REQUEST, type UsageEvent, type UsageEventInput, UsageEventSchema } from '../contracts/usage-event.ts';
import { formatPath } from '../contracts/problem.ts';
import { type IngestDeps, ingestEvents } from '../ingest/ingest-events.ts';

/** Writes events through the ingest path; resolves to the counts, rejects when any chunk failed. */
export type WriteEvents = (events: UsageEventInput[]) => Promise<{ inserted: number; updated: number; unchanged: number }>;

/**
 * The collector writes through the ingest verb, as a collector's request would: each event checked
 * with the contract's schema, then stored in chunks of MAX_EVENTS_PER_REQUEST (one transaction and one
 * mapping message each; idempotent). No retry here: a failure fails the run, and the collect queue
 * retries the whole day (re-writing what was stored changes nothing).
 */
export function ingestWriter(deps: IngestDeps): WriteEvents {
  return async (input) => {
    const events: UsageEvent[] = input.map((event, index) => {
      const parsed = UsageEventSchema.safeParse(event);
      if (parsed.success) return parsed.data;
      const issue = parsed.error.issues[0];
      throw new Error(`event ${formatPath(['events', index, ...(issue?.path ?? [])])}: ${issue?.message}`);
    });
    const totals = { inserted: 0, updated: 0, unchanged: 0 };
    for (let start = 0; start < events.length; start += MAX_EVENTS_PER_REQUEST) {
      const stored = await ingestEvents(deps, events.slice(start, start + MAX_EVENTS_PER_REQUEST));
      totals.inserted += stored.inserted;
      totals.updated += stored.updated;
      totals.unchanged += stored.unchanged;
    }
    return totals;
  };
}

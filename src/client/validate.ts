import { formatPath } from '../contracts/problem.ts';
import { type UsageEvent, type UsageEventInput, UsageEventSchema } from '../contracts/usage-event.ts';

/** One invalid field of one event; `path` is rooted at the caller's list, e.g. `events[7].time_window_end`. */
export interface EventIssue {
  /** Position of the event in the list given to `send()`. */
  index: number;
  path: string;
  message: string;
}

/** Thrown by `send()` before anything is sent when an event does not match UsageEventSchema. */
export class IngestValidationError extends Error {
  override readonly name = 'IngestValidationError';
  readonly issues: EventIssue[];

  constructor(issues: EventIssue[]) {
    const shown = issues
      .slice(0, 5)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ');
    super(`${issues.length} invalid field${issues.length === 1 ? '' : 's'}, nothing was sent: ${shown}${issues.length > 5 ? '; …' : ''}`);
    this.issues = issues;
  }
}

/** `['metrics', 'cpu_time_seconds']` under event 3 → `events[3].metrics.cpu_time_seconds`. */
const eventPath = (index: number, path: readonly PropertyKey[]) => formatPath(['events', index, ...path]);

/**
 * Check every event with the contract's own schema (the one the server runs) and return what it
 * parses to (defaults applied: `schema_version`, `identities`, `context`). Collects the issues
 * of all events, then throws them together.
 */
export function validateEvents(events: readonly UsageEventInput[]): UsageEvent[] {
  if (!Array.isArray(events)) {
    throw new IngestValidationError([{ index: -1, path: 'events', message: 'must be an array of usage events' }]);
  }
  const parsed: UsageEvent[] = [];
  const issues: EventIssue[] = [];
  events.forEach((event, index) => {
    const result = UsageEventSchema.safeParse(event);
    if (result.success) parsed.push(result.data);
    else for (const i of result.error.issues) issues.push({ index, path: eventPath(index, i.path), message: i.message });
  });
  if (issues.length > 0) throw new IngestValidationError(issues);
  return parsed;
}

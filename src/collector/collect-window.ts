import type { RelayTarget } from '../config.ts';
import { dayWindow } from '../lib/utc-day.ts';
import { readRelayJobs } from './providers/relay.ts';
import { PbsEventBuilder } from './transform/pbs-events.ts';
import type { WriteEvents } from './write-events.ts';

export interface CollectWindowDeps {
  relaySecret: string;
  write: WriteEvents;
  fetch?: (request: Request) => Promise<Response>;
  now?: () => Date;
}

export interface WindowResult {
  jobs: number;
  records: number;
  events: number;
  inserted: number;
  updated: number;
  unchanged: number;
  malformed: number;
  skipped: number;
  details: { inputs: unknown[]; malformed_examples: string[] };
}

/**
 * Collect one UTC day from one relay: stream its job records through the transform (memory bounded
 * by the number of (project, user) groups), then write the events through ingest (idempotent).
 * Any failure (relay down, cut-off stream, bad record, ingest refusal) rejects: nothing is recorded
 * as collected, and writing again later changes only what changed.
 */
export async function collectWindow(relay: RelayTarget, day: string, deps: CollectWindowDeps): Promise<WindowResult> {
  const { from, to } = dayWindow(day);
  const builder = new PbsEventBuilder({ cluster: relay.cluster, ...(relay.authority ? { authority: relay.authority } : {}) });
  const summary = await readRelayJobs(
    { relay, secret: deps.relaySecret, from, to, ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.now ? { now: deps.now } : {}) },
    (job) => builder.add(job),
  );
  // Re-collecting a day whose data did not change sends the same payloads with a newer collected_at:
  // ingest stores nothing and reports them unchanged.
  const collectedAt = (deps.now?.() ?? new Date()).toISOString();
  const events = builder.events(collectedAt);
  const written = events.length > 0 ? await deps.write(events) : { inserted: 0, updated: 0, unchanged: 0 };
  return {
    jobs: builder.totals.jobs,
    records: builder.totals.records,
    events: events.length,
    ...written,
    malformed: summary.malformed,
    skipped: summary.skipped,
    details: { inputs: summary.inputs, malformed_examples: summary.malformed_examples },
  };
}

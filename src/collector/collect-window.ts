import type { RelayTarget } from '../config.ts';
import type { UsageEventInput } from '../contracts/usage-event.ts';
import { readRelayInstances, readRelayJobs, readRelayUsage, type RelayWindowRequest } from './providers/relay.ts';
import { dayWindow } from '../lib/utc-day.ts';
import { OpenStackEventBuilder } from './transform/openstack-events.ts';
import { PbsEventBuilder, usageEvent } from './transform/pbs-events.ts';
import type { WriteEvents } from './write-events.ts';

export interface CollectWindowDeps {
  relaySecret: string;
  write: WriteEvents;
  fetch?: (request: Request) => Promise<Response>;
  now?: () => Date;
}

export interface WindowResult {
  /** PBS: jobs that ended; OpenStack: servers that held resources (instance records). */
  jobs: number;
  records: number;
  events: number;
  inserted: number;
  updated: number;
  unchanged: number;
  malformed: number;
  skipped: number;
  details: Record<string, unknown>;
}

/**
 * Collect one UTC day from one relay: stream its records through the transform of its kind (PBS jobs
 * or OpenStack instances; memory bounded by the number of groups), then write the events through
 * ingest (idempotent). Any failure (relay down, cut-off or failed stream, bad record, ingest refusal)
 * rejects: nothing is recorded as collected, and writing again later changes only what changed.
 */
export async function collectWindow(relay: RelayTarget, day: string, deps: CollectWindowDeps): Promise<WindowResult> {
  const { from, to } = dayWindow(day);
  const request: RelayWindowRequest = {
    relay,
    secret: deps.relaySecret,
    from,
    to,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  };
  // Re-collecting a day whose data did not change sends the same payloads with a newer collected_at:
  // ingest stores nothing and reports them unchanged.
  const collectedAt = () => (deps.now?.() ?? new Date()).toISOString();
  const write = async (events: UsageEventInput[]) => (events.length > 0 ? await deps.write(events) : { inserted: 0, updated: 0, unchanged: 0 });

  if (relay.kind === 'openstack') {
    const builder = new OpenStackEventBuilder({ cluster: relay.cluster });
    const summary = await readRelayInstances(request, (record) => builder.add(record));
    const events = builder.events(collectedAt(), { cpuMeasured: summary.cpu_time.status === 'measured' });
    return {
      jobs: builder.totals.servers,
      records: builder.totals.servers,
      events: events.length,
      ...(await write(events)),
      malformed: summary.malformed,
      skipped: summary.skipped,
      details: {
        servers_read: summary.servers,
        pages: summary.pages,
        action_pages: summary.action_pages,
        nova_microversion: summary.nova_microversion,
        cpu_time: summary.cpu_time,
        malformed_examples: summary.malformed_examples,
      },
    };
  }

  const options = { cluster: relay.cluster, ...(relay.authority ? { authority: relay.authority } : {}) };
  if (relay.mode !== 'jobs') {
    // Usage mode (the default): the relay folded the jobs on site; one line per group arrives, checked
    // for conservation against the summary (providers/relay.ts).
    const lines: Parameters<typeof usageEvent>[0][] = [];
    const summary = await readRelayUsage(request, (line) => lines.push(line));
    const at = collectedAt();
    const events = lines.map((line) => usageEvent(line, options, at));
    return {
      jobs: summary.jobs,
      records: summary.records,
      events: events.length,
      ...(await write(events)),
      malformed: summary.malformed,
      skipped: summary.skipped,
      details: { mode: 'usage', inputs: summary.inputs, malformed_examples: summary.malformed_examples },
    };
  }

  const builder = new PbsEventBuilder(options);
  const summary = await readRelayJobs(request, (job) => builder.add(job));
  const events = builder.events(collectedAt());
  return {
    jobs: builder.totals.jobs,
    records: builder.totals.records,
    events: events.length,
    ...(await write(events)),
    malformed: summary.malformed,
    skipped: summary.skipped,
    details: { mode: 'jobs', inputs: summary.inputs, malformed_examples: summary.malformed_examples },
  };
}

import { createIngestClient } from './client/index.ts';
import type { WriteEvents } from './collector/collect-window.ts';
import { consumeCollect } from './collector/consume.ts';
import { consumeMapping } from './mapping/consume-mapping.ts';
import type { Services } from './services.ts';

export const COLLECT_QUEUE = 'zeus-collect';
export const MAPPING_QUEUE = 'zeus-mapping';

type AppFetch = (request: Request) => Promise<Response>;

/**
 * The collector writes through the same code path as every other collector: the typed ingest client,
 * here talking to this Worker's own app in-process (no network hop), with the first collector key.
 */
function ingestWriter(services: Services, appFetch: AppFetch): WriteEvents {
  const client = createIngestClient({
    endpoint: 'http://zeus.internal',
    apiKey: services.config.COLLECTOR_API_KEY[0]!,
    batchMax: 1000,
    maxAttempts: 3,
    baseDelayMs: 200,
    fetch: appFetch,
  });
  return async (events) => {
    const report = await client.send(events);
    if (!report.ok) {
      const failed = report.batches.find((b) => b.outcome === 'failed');
      const why = failed && failed.outcome === 'failed' ? failed.failure.message : 'stopped';
      throw new Error(`ingest refused ${report.totals.failed + report.totals.skipped} of ${report.totals.events} events: ${why}`);
    }
    const { inserted, updated, unchanged } = report.totals;
    return { inserted, updated, unchanged };
  };
}

/** Every queue this Worker consumes, by name (wrangler.toml [[queues.consumers]]). */
export async function handleQueue(batch: MessageBatch<unknown>, services: Services, appFetch: AppFetch): Promise<void> {
  switch (batch.queue) {
    case COLLECT_QUEUE:
      return consumeCollect(batch, { config: services.config, db: services.db, write: ingestWriter(services, appFetch) });
    case MAPPING_QUEUE:
      return consumeMapping(batch, services);
    default:
      console.error(JSON.stringify({ level: 'error', msg: 'queue: no consumer for this queue; retrying', queue: batch.queue }));
      batch.retryAll();
  }
}

import { consumeCollect } from './collector/consume.ts';
import { ingestWriter } from './collector/write-events.ts';
import { log } from './lib/log.ts';
import { consumeMapping } from './mapping/consume-mapping.ts';
import type { Services } from './services.ts';

export const COLLECT_QUEUE = 'zeus-collect';
export const MAPPING_QUEUE = 'zeus-mapping';

/** Every queue this Worker consumes, by name (wrangler.toml [[queues.consumers]]). */
export async function handleQueue(batch: MessageBatch<unknown>, services: Services): Promise<void> {
  switch (batch.queue) {
    case COLLECT_QUEUE:
      return consumeCollect(batch, { config: services.config, db: services.db, write: ingestWriter(services) });
    case MAPPING_QUEUE:
      return consumeMapping(batch, services);
    default:
      log.error('queue: no consumer for this queue; retrying', { queue: batch.queue });
      batch.retryAll();
  }
}

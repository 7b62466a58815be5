import { consumeAlerts } from './alerts/deliver.ts';
import { consumeCollect } from './collector/consume.ts';
import { ingestWriter } from './collector/write-events.ts';
import { log } from './lib/log.ts';
import { consumeMapping } from './mapping/consume-mapping.ts';
import type { Services } from './services.ts';

export const COLLECT_QUEUE = 'zeus-collect';
export const MAPPING_QUEUE = 'zeus-mapping';
export const ALERTS_QUEUE = 'zeus-alerts';

/**
 * Which consumer a queue feeds: its name is the base name (local) or the base name, a dash and the
 * environment (`zeus-collect-production`, wrangler.toml [env.*]). Dead-letter queues (`-dlq`) have none.
 */
export function queueConsumer(queue: string): 'collect' | 'mapping' | 'alerts' | undefined {
  const of = (base: string) => queue === base || (queue.startsWith(`${base}-`) && !queue.endsWith('-dlq'));
  if (of(COLLECT_QUEUE)) return 'collect';
  if (of(MAPPING_QUEUE)) return 'mapping';
  if (of(ALERTS_QUEUE)) return 'alerts';
  return undefined;
}

/** Every queue this Worker consumes, by name (wrangler.toml [[queues.consumers]]). */
export async function handleQueue(batch: MessageBatch<unknown>, services: Services): Promise<void> {
  switch (queueConsumer(batch.queue)) {
    case 'collect':
      return consumeCollect(batch, { config: services.config, db: services.db, write: ingestWriter(services) });
    case 'mapping':
      return consumeMapping(batch, services);
    case 'alerts':
      return consumeAlerts(batch, services);
    default:
      log.error('queue: no consumer for this queue; retrying', { queue: batch.queue });
      batch.retryAll();
  }
}

import { MappingMessageSchema } from '../contracts/mapping-message.ts';
import { type Database, describeDbError } from '../db/client.ts';
import { log } from '../lib/log.ts';
import { mapEvents } from './map-events.ts';
import { mergeRanges, retryDelaySeconds, type TimeRange } from './rules.ts';

/**
 * The mapping queue's consumer. Each body is validated: a bad one is acknowledged and logged (it
 * would fail the same way forever), the others are mapped together in one set-based statement
 * (mapEvents) and acknowledged. When that fails, the valid messages are retried with exponential
 * backoff; after max_retries (wrangler.toml) the queue moves them to the dead-letter queue.
 */
export async function consumeMapping(batch: MessageBatch<unknown>, deps: { db: Database }): Promise<void> {
  const valid: Message<unknown>[] = [];
  const eventIds: string[] = [];
  const ranges: TimeRange[] = [];
  for (const message of batch.messages) {
    const parsed = MappingMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      // The issues name paths and expectations, never the body's values.
      const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      log.warn('mapping: invalid message acknowledged without mapping', { queue: batch.queue, messageId: message.id, issues });
      message.ack();
      continue;
    }
    valid.push(message);
    if (parsed.data.kind === 'events') eventIds.push(...parsed.data.event_ids);
    else ranges.push({ from: parsed.data.from, to: parsed.data.to });
  }
  if (valid.length === 0) return;

  const started = Date.now();
  try {
    const counts = await mapEvents(deps.db, { eventIds, ranges: mergeRanges(ranges) });
    const requested = new Set(eventIds).size;
    log.info('mapping: batch mapped', {
      queue: batch.queue,
      messages: valid.length,
      ms: Date.now() - started,
      ...counts,
      ...(requested > counts.byId ? { idsNotFound: requested - counts.byId } : {}),
    });
    for (const message of valid) message.ack();
  } catch (err) {
    log.error('mapping: batch failed, will retry', { queue: batch.queue, messages: valid.length, error: describeDbError(err) });
    for (const message of valid) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
}

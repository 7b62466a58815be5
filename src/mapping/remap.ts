import type { MappingMessage } from '../contracts/mapping-message.ts';
import { splitByUtcDay, type TimeRange } from './rules.ts';

/** Most messages one sendBatch call may carry. */
const SEND_BATCH_MAX = 100;

/**
 * Ask for a time range to be mapped again: one `range` message per UTC day on the mapping queue.
 * Mapping is idempotent, so asking twice (or overlapping ranges) does no harm.
 */
export async function requestRemap(queue: Queue<MappingMessage>, range: TimeRange): Promise<number> {
  const days = splitByUtcDay(range);
  for (let i = 0; i < days.length; i += SEND_BATCH_MAX) {
    await queue.sendBatch(days.slice(i, i + SEND_BATCH_MAX).map((d) => ({ body: { kind: 'range' as const, ...d } })));
  }
  return days.length;
}

/** Event ids one `events` message carries (MappingMessageSchema). */
const IDS_PER_MESSAGE = 1000;
/** Messages of 1000 ids (about 40 KB each) per sendBatch: a batch may carry at most 256 KB. */
const ID_MESSAGES_PER_SEND = 5;

/** Ask for these stored events to be mapped again (`events` messages of up to 1000 ids). */
export async function requestEventsRemap(queue: Queue<MappingMessage>, ids: readonly string[]): Promise<number> {
  const messages: MappingMessage[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_MESSAGE) messages.push({ kind: 'events', event_ids: ids.slice(i, i + IDS_PER_MESSAGE) });
  for (let i = 0; i < messages.length; i += ID_MESSAGES_PER_SEND) {
    await queue.sendBatch(messages.slice(i, i + ID_MESSAGES_PER_SEND).map((body) => ({ body })));
  }
  return ids.length;
}

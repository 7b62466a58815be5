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

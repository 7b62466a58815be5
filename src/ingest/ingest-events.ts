import type { MappingMessage } from '../contracts/mapping-message.ts';
import type { IngestResponse, UsageEvent } from '../contracts/usage-event.ts';
import type { Database } from '../db/client.ts';
import { findIds, type KeyedEvent, type Outcome, upsertEvents } from '../db/queries/usage-events.ts';
import { naturalKeyText } from './natural-key.ts';

export interface IngestDeps {
  db: Database;
  mappingQueue: Queue<MappingMessage>;
}

/** The events are stored, but the hand-off to mapping failed: retrying the request is safe. */
export class MappingQueueError extends Error {
  override name = 'MappingQueueError';
}

/** Within one request the same key may appear twice: the newest collected_at wins (the later one on a tie). */
function pickWinners(keyed: KeyedEvent[]): Map<string, KeyedEvent> {
  const winners = new Map<string, KeyedEvent>();
  for (const k of keyed) {
    const current = winners.get(k.keyText);
    if (!current || Date.parse(k.event.collected_at) >= Date.parse(current.event.collected_at)) {
      winners.set(k.keyText, k);
    }
  }
  return winners;
}

/**
 * Store validated events idempotently, then hand their ids to link mapping.
 * Every id of the request is enqueued, unchanged ones included: mapping is idempotent, and a
 * retry after a failed hand-off must not leave events unmapped.
 */
export async function ingestEvents(deps: IngestDeps, events: UsageEvent[]): Promise<IngestResponse> {
  const keyed: KeyedEvent[] = events.map((event, index) => ({ index, event, keyText: naturalKeyText(event) }));
  const winners = pickWinners(keyed);
  const stored = await upsertEvents(deps.db, [...winners.values()]);

  const missing = stored.filter((o) => o.id === null);
  const raced = missing.length
    ? await findIds(
        deps.db,
        missing.map((o) => ({ keyText: keyed[o.index]!.keyText, start: keyed[o.index]!.event.time_window_start })),
      )
    : new Map<string, string>();

  const byKey = new Map<string, Outcome>();
  for (const o of stored) {
    const key = keyed[o.index]!.keyText;
    const id = o.id ?? raced.get(key);
    if (!id) throw new Error(`event ${o.index} was neither stored nor found`);
    byKey.set(key, { index: o.index, id, outcome: o.outcome });
  }
  const results: Outcome[] = keyed.map((k) => {
    const winner = byKey.get(k.keyText)!;
    return winner.index === k.index ? winner : { index: k.index, id: winner.id, outcome: 'unchanged' };
  });

  const ids = [...new Set(results.map((r) => r.id))];
  try {
    await deps.mappingQueue.send({ kind: 'events', event_ids: ids });
  } catch (err) {
    throw new MappingQueueError(`mapping queue: ${(err as Error).message}`);
  }

  const count = (outcome: Outcome['outcome']) => results.filter((r) => r.outcome === outcome).length;
  return { inserted: count('inserted'), updated: count('updated'), unchanged: count('unchanged'), events: results };
}

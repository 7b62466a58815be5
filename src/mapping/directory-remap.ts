import type { DirectoryKind, SyncResult } from '../contracts/directory.ts';
import type { MappingMessage } from '../contracts/mapping-message.ts';
import { type Database, driverError } from '../db/client.ts';
import { log } from '../lib/log.ts';
import { DAY_MS } from '../lib/utc-day.ts';
import { affectedDays, type DirectoryError, type FullSync, syncDirectory } from './directory-sync.ts';
import { requestEventsRemap, requestRemap } from './remap.ts';

export type SyncOutcome =
  | { status: 'ok'; result: SyncResult }
  | { status: 'invalid'; errors: DirectoryError[] }
  /** A concurrent request took a name, e-mail or id first (a unique index refused the write): nothing was written. */
  | { status: 'conflict' }
  /** Stored, but the re-mapping could not (all) be queued. */
  | { status: 'queue_failed'; result: SyncResult };

/**
 * The directory verb: store a batch (syncDirectory, which selects the events whose links it can alter in the same
 * request), then send those events to the mapping queue: by id, or — past MAX_REMAP_IDS — every event of the UTC
 * days they fall on (affectedDays).
 */
export async function syncAndRemap(
  deps: { db: Database; queue: Queue<MappingMessage> },
  kind: DirectoryKind,
  body: Parameters<typeof syncDirectory>[2],
  full: FullSync,
): Promise<SyncOutcome> {
  let outcome: Awaited<ReturnType<typeof syncDirectory>>;
  try {
    outcome = await syncDirectory(deps.db, kind, body, full);
  } catch (err) {
    if (driverError(err)?.code === '23505') return { status: 'conflict' };
    throw err;
  }
  if (!outcome.ok) return { status: 'invalid', errors: outcome.errors };
  const { changed, affected, ...counts } = outcome.write;
  const result: SyncResult = { ...counts, remap_queued: 0, remap_days: 0 };
  try {
    // `changed` comes back only past MAX_REMAP_IDS affected events (then by day).
    if (changed === null) {
      result.remap_queued = await requestEventsRemap(deps.queue, affected);
    } else {
      const days = await affectedDays(deps.db, changed);
      for (const day of days) {
        const from = `${day}T00:00:00.000Z`;
        await requestRemap(deps.queue, { from, to: new Date(Date.parse(from) + DAY_MS).toISOString() });
      }
      result.remap_days = days.length;
    }
  } catch (err) {
    log.error('directory: re-mapping could not be queued', { kind, error: String(err) });
    return { status: 'queue_failed', result };
  }
  return { status: 'ok', result };
}

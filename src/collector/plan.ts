import type { Config } from '../config.ts';
import type { CollectMessage } from '../contracts/collect-message.ts';
import type { Database } from '../db/client.ts';
import { markQueued, plannableDays } from '../db/queries/collection.ts';
import { log } from '../lib/log.ts';
import { lastCompleteDay } from '../lib/utc-day.ts';

export interface PlanDeps {
  config: Config;
  db: Database;
  collectQueue: Queue<CollectMessage>;
}

export interface PlannedCluster {
  cluster: string;
  days: string[];
}

/**
 * The cron's work: for every configured relay, the UTC days not yet collected (from the watermark,
 * or COLLECT_START_DATE / yesterday for a new cluster), oldest first and at most
 * COLLECT_MAX_DAYS_PER_RUN, each sent as one message to the collect queue. A cluster that fails to
 * plan is logged and the others go on.
 */
export async function planCollection(deps: PlanDeps, now: Date): Promise<PlannedCluster[]> {
  const { config, db, collectQueue } = deps;
  const through = lastCompleteDay(now, config.COLLECT_DELAY_MINUTES);
  const start = config.COLLECT_START_DATE ?? through;
  const planned: PlannedCluster[] = [];
  for (const relay of config.RELAYS) {
    try {
      const days = await plannableDays(db, relay.cluster, start, through, config.COLLECT_MAX_DAYS_PER_RUN);
      await enqueueDays(db, collectQueue, relay.cluster, days, 'cron');
      planned.push({ cluster: relay.cluster, days });
      log.info('collection planned', { cluster: relay.cluster, days });
    } catch (err) {
      log.error('planning failed', { cluster: relay.cluster, error: String(err) });
    }
  }
  return planned;
}

/** Queue one message per day (the day is marked queued first, so a lost send is re-planned later). */
export async function enqueueDays(
  db: Database,
  collectQueue: Queue<CollectMessage>,
  cluster: string,
  days: string[],
  trigger: CollectMessage['trigger'],
): Promise<void> {
  if (days.length === 0) return;
  await markQueued(db, cluster, days);
  for (let i = 0; i < days.length; i += 100) {
    await collectQueue.sendBatch(days.slice(i, i + 100).map((day) => ({ body: { cluster, day, trigger } })));
  }
}

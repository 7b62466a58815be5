import type { Config } from '../config.ts';
import { type CollectMessage, CollectMessageSchema } from '../contracts/collect-message.ts';
import type { Database } from '../db/client.ts';
import { recordRun } from '../db/queries/collection.ts';
import { log } from '../lib/log.ts';
import { type CollectWindowDeps, collectWindow } from './collect-window.ts';
import type { WriteEvents } from './write-events.ts';

export interface CollectConsumerDeps {
  config: Config;
  db: Database;
  write: WriteEvents;
  fetch?: CollectWindowDeps['fetch'];
  now?: CollectWindowDeps['now'];
}

/** Retry delay for the n-th failed attempt: 30 s, 60 s, 120 s … up to an hour. */
export const retryDelaySeconds = (attempts: number) => Math.min(3600, 30 * 2 ** Math.max(0, attempts - 1));

/**
 * The collect queue's consumer: one (cluster, day) per message. Success records the run, marks the day
 * and advances the watermark; failure records the run with its error and retries the message with
 * backoff (after max_retries the queue dead-letters it; the day stays failed, so a later cron plans it
 * again). A malformed message or an unknown cluster is acknowledged and logged, never retried.
 */
export async function consumeCollect(batch: MessageBatch<unknown>, deps: CollectConsumerDeps): Promise<void> {
  for (const message of batch.messages) {
    const parsed = CollectMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      log.error('collect message dropped: invalid body', { id: message.id, issues: parsed.error.issues.map((i) => i.path.join('.')) });
      message.ack();
      continue;
    }
    const relay = deps.config.RELAYS.find((r) => r.cluster === parsed.data.cluster);
    if (!relay || !deps.config.RELAY_SECRET) {
      log.error('collect message dropped: cluster not configured', { cluster: parsed.data.cluster });
      message.ack();
      continue;
    }
    const ok = await runOnce(parsed.data, message.attempts, { ...deps, relaySecret: deps.config.RELAY_SECRET }, relay);
    if (ok) message.ack();
    else message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
}

async function runOnce(
  msg: CollectMessage,
  attempt: number,
  deps: CollectConsumerDeps & { relaySecret: string },
  relay: Config['RELAYS'][number],
): Promise<boolean> {
  const startedAt = new Date();
  const base = { cluster: msg.cluster, day: msg.day, trigger: msg.trigger, attempt, started_at: startedAt.toISOString() };
  const finish = () => {
    const finishedAt = new Date();
    return { finished_at: finishedAt.toISOString(), duration_ms: finishedAt.getTime() - startedAt.getTime() };
  };
  try {
    const result = await collectWindow(relay, msg.day, {
      relaySecret: deps.relaySecret,
      write: deps.write,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    });
    const { records: _records, ...counts } = result;
    const runId = await recordRun(deps.db, { ...base, ...finish(), status: 'succeeded', ...counts });
    log.info('collected', { ...base, runId, ...counts, details: undefined });
    return true;
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log.error('collection failed', { ...base, error });
    await recordRun(deps.db, { ...base, ...finish(), status: 'failed', error: error.slice(0, 2000) }).catch((e) =>
      log.error('could not record the failed run', { ...base, error: String(e) }),
    );
    return false;
  }
}

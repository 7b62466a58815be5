import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { log } from '../lib/log.ts';
import { alertFingerprint } from './fingerprint.ts';
import type { AlertMessage } from '../contracts/alert.ts';
import { notificationId, notifiedAlert } from './notification.ts';
import { type Fetch, observe } from './observe.ts';
import { evaluateRules } from './rules.ts';
import { applyEvaluation, markNotified } from './store.ts';
import { webhookHost } from './deliver.ts';

/** The hourly scheduled event (wrangler.toml): it evaluates the alerts only; the daily one also plans collection. */
export const ALERT_CRON = '5 * * * *';

export interface EvaluateDeps {
  config: Config;
  db: Database;
  alertsQueue: Queue<AlertMessage>;
  /** For the relays' health checks (default: global fetch). */
  fetch?: Fetch;
}

export interface EvaluationResult {
  firing: string[];
  /** Notifications queued (one per alert change and webhook). */
  queued: number;
}

/**
 * One evaluation of every rule (each scheduled event): observe, store which alerts fire and which resolved,
 * then queue one notification per change owed one and webhook, and only then mark them notified. A failure
 * to queue leaves them owed: the next evaluation queues them again, under the same `webhook-id`.
 */
export async function evaluateAlerts(deps: EvaluateDeps, now: Date): Promise<EvaluationResult> {
  const { config, db } = deps;
  const candidates = evaluateRules(await observe(deps, now), { lagDays: config.ALERT_LAG_DAYS, unmappedShare: config.ALERT_UNMAPPED_SHARE });
  const firing = await Promise.all(candidates.map(async (c) => ({ ...c, fingerprint: await alertFingerprint(c.rule, c.labels) })));
  const at = now.toISOString();
  const owed = await applyEvaluation(db, firing, at);
  const messages = await Promise.all(
    owed.flatMap((alert) =>
      config.ALERT_WEBHOOKS.map(
        async (w, i): Promise<AlertMessage> => ({
          id: await notificationId(alert),
          webhook: i,
          host: webhookHost(w.url),
          alert: notifiedAlert(alert),
        }),
      ),
    ),
  );
  for (let i = 0; i < messages.length; i += 100) {
    await deps.alertsQueue.sendBatch(messages.slice(i, i + 100).map((body) => ({ body, contentType: 'json' as const })));
  }
  await markNotified(
    db,
    owed.map((a) => a.fingerprint),
    at,
  );
  log.info('alerts evaluated', {
    firing: firing.map((f) => `${f.rule} ${JSON.stringify(f.labels)}`),
    notified: owed.map((a) => `${a.state} ${a.rule} ${a.fingerprint.slice(0, 12)}`),
    queued: messages.length,
  });
  return { firing: firing.map((f) => f.fingerprint), queued: messages.length };
}

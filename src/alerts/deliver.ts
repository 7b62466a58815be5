/**
 * The zeus-alerts consumer: posts each notification to its webhook, signed (Standard Webhooks) when the
 * webhook has a secret. A 2xx is done; a network error, a timeout, 408, 429 or a 5xx is retried with
 * backoff (the same `webhook-id` every time), and after wrangler.toml's max_retries the message is
 * dead-lettered to zeus-alerts-dlq; any other 4xx is the receiver refusing it for good: logged, not retried.
 * Logs name the webhook by index and host only: its path or credentials may be a secret.
 */
import { Webhook } from 'standardwebhooks';
import type { AlertWebhook, Config } from '../config.ts';
import { log } from '../lib/log.ts';
import { type AlertMessage, AlertMessageSchema } from '../contracts/alert.ts';
import { jsonPayload, slackPayload } from './notification.ts';

export type Fetch = (request: Request) => Promise<Response>;

export interface DeliverDeps {
  config: Pick<Config, 'ALERT_WEBHOOKS'>;
  fetch?: Fetch;
  now?: () => Date;
}

/** How long a receiver has to answer. */
export const WEBHOOK_TIMEOUT_MS = 15_000;

/** Retry delay for the n-th failed attempt: 10 s, 20 s, 40 s … up to 15 minutes. */
export const alertRetryDelaySeconds = (attempts: number) => Math.min(900, 10 * 2 ** Math.max(0, attempts - 1));

/** The host a webhook is named by in messages and logs (no credentials, no path). */
export const webhookHost = (url: string) => new URL(url).host;

export type DeliveryOutcome = 'delivered' | 'retry' | 'refused';

/** What the receiver's answer means. */
export function outcomeOf(status: number): DeliveryOutcome {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'refused';
}

/** The request one notification makes: the format's body, signed when the webhook has a secret. */
export function notificationRequest(webhook: AlertWebhook, message: AlertMessage, at: Date, signal?: AbortSignal): Request {
  const body = JSON.stringify(webhook.format === 'slack' ? slackPayload(message.alert) : jsonPayload(message.alert));
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'zeus-alerts/1' };
  if (webhook.secret) {
    headers['webhook-id'] = message.id;
    headers['webhook-timestamp'] = String(Math.floor(at.getTime() / 1000));
    headers['webhook-signature'] = new Webhook(webhook.secret).sign(message.id, at, body);
  }
  return new Request(webhook.url, { method: 'POST', headers, body, ...(signal ? { signal } : {}) });
}

async function deliverOne(message: AlertMessage, webhook: AlertWebhook, deps: DeliverDeps): Promise<{ outcome: DeliveryOutcome; detail: string }> {
  const signal = AbortSignal.timeout(WEBHOOK_TIMEOUT_MS);
  try {
    const response = await (deps.fetch ?? ((r: Request) => fetch(r)))(notificationRequest(webhook, message, deps.now?.() ?? new Date(), signal));
    await response.body?.cancel();
    return { outcome: outcomeOf(response.status), detail: `HTTP ${response.status}` };
  } catch {
    return { outcome: 'retry', detail: signal.aborted ? 'timed out' : 'connection failed' };
  }
}

export async function consumeAlerts(batch: MessageBatch<unknown>, deps: DeliverDeps): Promise<void> {
  for (const message of batch.messages) {
    const parsed = AlertMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      log.error('alert notification dropped: invalid message', { id: message.id, issues: parsed.error.issues.map((i) => i.path.join('.')) });
      message.ack();
      continue;
    }
    const m = parsed.data;
    const webhook = deps.config.ALERT_WEBHOOKS[m.webhook];
    const where = { webhook: m.webhook, host: m.host, notification: m.id, fingerprint: m.alert.fingerprint, state: m.alert.state };
    if (!webhook || webhookHost(webhook.url) !== m.host) {
      log.error('alert notification dropped: its webhook is no longer in ALERT_WEBHOOKS', where);
      message.ack();
      continue;
    }
    const { outcome, detail } = await deliverOne(m, webhook, deps);
    if (outcome === 'delivered') {
      log.info('alert notified', { ...where, attempt: message.attempts });
      message.ack();
    } else if (outcome === 'refused') {
      log.error('alert notification refused by the receiver; not retried', { ...where, detail, attempt: message.attempts });
      message.ack();
    } else {
      const delaySeconds = alertRetryDelaySeconds(message.attempts);
      log.warn('alert notification failed; retrying', { ...where, detail, attempt: message.attempts, delaySeconds });
      message.retry({ delaySeconds });
    }
  }
}

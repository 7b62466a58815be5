/**
 * Notifications: the id of one (stable across retries), and the body each webhook format posts.
 */
import type { Alert, NotifiedAlert } from '../contracts/alert.ts';
import { sortedLabels } from './fingerprint.ts';

/** The notification's id: derived from the alert and the change it announces, so queuing it again gives the same one. */
export async function notificationId(alert: Pick<Alert, 'fingerprint' | 'state' | 'first_seen' | 'resolved_at'>): Promise<string> {
  const changedAt = alert.state === 'firing' ? alert.first_seen : alert.resolved_at;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${alert.fingerprint}\n${alert.state}\n${changedAt}`));
  return `msg_${[...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** What a notification carries of an alert (an `Alert` has more); also the `format: "json"` body as it is. */
export const notifiedAlert = (a: NotifiedAlert): NotifiedAlert => ({
  fingerprint: a.fingerprint,
  rule: a.rule,
  state: a.state,
  severity: a.severity,
  labels: a.labels,
  summary: a.summary,
  first_seen: a.first_seen,
  last_seen: a.last_seen,
  resolved_at: a.resolved_at,
});

/** `format: "json"`: the alert as it is stored. */
export const jsonPayload = notifiedAlert;

/** Slack's mrkdwn: &, < and > are control characters (links, mentions) and must be escaped. */
export const slackEscape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** `format: "slack"`: a Slack incoming-webhook message (Mattermost accepts it too): `text` for notifications, `blocks` to read. */
export function slackPayload(a: NotifiedAlert) {
  const firing = a.state === 'firing';
  const head = `${firing ? ':rotating_light:' : ':white_check_mark:'} [${firing ? `FIRING · ${a.severity}` : 'RESOLVED'}] ${a.rule}`;
  const labels = sortedLabels(a.labels).map(([k, v]) => `${k}=${v}`);
  const since = firing ? `firing since ${a.first_seen}` : `resolved at ${a.resolved_at} (firing since ${a.first_seen})`;
  return {
    text: slackEscape(`${head}: ${a.summary}`),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: slackEscape(`*${head}*\n${a.summary}`) } },
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: slackEscape(`${labels.length > 0 ? `${labels.join(' · ')} · ` : ''}${since} · ${a.fingerprint.slice(0, 12)}`) },
        ],
      },
    ],
  };
}

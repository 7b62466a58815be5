import { z } from '@hono/zod-openapi';

/** What an alert is about (docs/alerts.md has each rule's meaning and labels). */
export const ALERT_RULES = ['collection_lag', 'collection_dead_letter', 'relay_down', 'unmapped_share', 'allocation_share'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export const ALERT_SEVERITIES = ['warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_STATES = ['firing', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** The webhook formats of ALERT_WEBHOOKS: our JSON, or a Slack-compatible message (Mattermost accepts it too). */
export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** A fingerprint: the hex SHA-256 of the rule and its sorted labels. */
export const FingerprintSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters (an alert fingerprint)')
  .openapi({ example: 'f3b1c0de'.repeat(8) });

export const AlertSchema = z
  .object({
    fingerprint: FingerprintSchema,
    rule: z.enum(ALERT_RULES),
    labels: z.record(z.string(), z.string()),
    severity: z.enum(ALERT_SEVERITIES),
    state: z.enum(ALERT_STATES),
    summary: z.string().openapi({ description: 'One sentence saying what is wrong and where' }),
    first_seen: z.string().openapi({ description: 'When it started firing (this episode), RFC 3339 UTC' }),
    last_seen: z.string().openapi({ description: 'The last evaluation that found it firing' }),
    resolved_at: z.string().nullable(),
    last_notified: z.string().nullable().openapi({ description: 'When its last notification was queued' }),
    silenced_until: z.string().nullable().openapi({ description: 'No notifications before this time' }),
    silence_note: z.string().nullable(),
  })
  .openapi('Alert');
export type Alert = z.infer<typeof AlertSchema>;

export const AlertListQuerySchema = z.object({
  state: z.enum(ALERT_STATES).optional().openapi({ description: 'Only alerts in this state; both when unset' }),
});

export const SilenceRequestSchema = z
  .object({
    until: z.iso
      .datetime({ offset: true })
      .openapi({ description: 'No notification before this instant (RFC 3339)', example: '2026-03-02T08:00:00Z' }),
    note: z.string().trim().min(1).max(500).openapi({ description: 'Why, for the other operators' }),
  })
  .openapi('SilenceRequest');

/** The alert as notified. */
export const NotifiedAlertSchema = z.object({
  fingerprint: z.string().min(1),
  rule: z.enum(ALERT_RULES),
  state: z.enum(ALERT_STATES),
  severity: z.enum(ALERT_SEVERITIES),
  labels: z.record(z.string(), z.string()),
  summary: z.string(),
  first_seen: z.string(),
  last_seen: z.string(),
  resolved_at: z.string().nullable(),
});
export type NotifiedAlert = z.infer<typeof NotifiedAlertSchema>;

/** One notification to one webhook, as queued on zeus-alerts. */
export const AlertMessageSchema = z.object({
  /** The Standard Webhooks `webhook-id`: the same for every retry of this notification (receivers drop duplicates). */
  id: z.string().regex(/^msg_[0-9a-f]{32}$/),
  /** Index in ALERT_WEBHOOKS, checked against `host` when delivered (the list may have changed since). */
  webhook: z.number().int().min(0),
  host: z.string(),
  alert: NotifiedAlertSchema,
});
export type AlertMessage = z.infer<typeof AlertMessageSchema>;

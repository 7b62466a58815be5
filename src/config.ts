import { z } from 'zod';
import { WEBHOOK_FORMATS } from './contracts/alert.ts';

/** A comma-separated list of keys (for rotation), each long enough to be a secret. */
const keyList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().min(16, 'each key must be at least 16 characters')).min(1, 'must hold at least one key'));

/** What a relay serves: a PBS cluster's jobs (/v1/jobs) or an OpenStack cloud's servers (/v1/instances). */
export const RELAY_KINDS = ['pbs', 'openstack'] as const;

/** One relay the collector reads from: the cluster (or cloud) it serves, where, and what kind it is. */
export const RelayTargetSchema = z
  .object({
    /** The cluster's or cloud's name: `context.cluster` of its events, the key of its watermark and runs. */
    cluster: z.string().min(1).max(256),
    url: z.string().url(),
    kind: z.enum(RELAY_KINDS).default('pbs'),
    /** `authority` of the perun_username identities built from this cluster's PBS user names (pbs only). */
    authority: z.string().min(1).optional(),
    /** Limit to one relay source (accounting, qstat, db); all the relay has when unset (pbs only). */
    source: z.enum(['accounting', 'qstat', 'db']).optional(),
    /**
     * pbs only: `usage` (unset: the default) reads the relay's on-site aggregation, `GET /v1/usage`, one line per
     * (project, user, day); `jobs` reads every job record (`GET /v1/jobs`) and folds them in the Worker.
     */
    mode: z.enum(['usage', 'jobs']).optional(),
  })
  .refine((r) => r.kind === 'pbs' || r.source === undefined, { path: ['source'], message: 'applies to kind "pbs" only' })
  .refine((r) => r.kind === 'pbs' || r.mode === undefined, { path: ['mode'], message: 'applies to kind "pbs" only' });
export type RelayTarget = z.output<typeof RelayTargetSchema>;

const relayList = z
  .string()
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {cluster, url, kind?, authority?, source?, mode?}' });
      return z.NEVER;
    }
  })
  .pipe(z.array(RelayTargetSchema))
  .refine((relays) => new Set(relays.map((r) => r.cluster)).size === relays.length, 'each cluster may appear once');

/**
 * One webhook alerts are posted to. `secret` (Standard Webhooks, `whsec_<base64>`) signs every notification.
 * The URL may hold a credential (a Slack webhook's path is one): it is never logged or shown, only its host.
 */
export const AlertWebhookSchema = z.strictObject({
  url: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL'),
  format: z.enum(WEBHOOK_FORMATS).default('json'),
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, 'must be a Standard Webhooks secret: whsec_ and at least 16 base64 characters')
    .optional(),
});
export type AlertWebhook = z.output<typeof AlertWebhookSchema>;

/**
 * ALERT_WEBHOOKS: a JSON array. A bad entry is named by its index (`ALERT_WEBHOOKS.1.format`); the message
 * never repeats a value, so a URL's credential or a secret cannot reach a log through it.
 */
const webhookList = z
  .string()
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {url, format: "json" | "slack", secret?}' });
      return z.NEVER;
    }
  })
  .pipe(z.array(AlertWebhookSchema).max(20, 'at most 20 webhooks'));

/** An unset variable often arrives as '' (an empty line in .dev.vars): treat it as unset. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const postgresUrl = z
  .string()
  .url()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// connection string');

/** Every variable and secret the Worker reads. `.dev.vars.example` lists the same keys (a test checks). */
export const ConfigSchema = z
  .object({
    /** The PostgreSQL connection string sent to the SQL-over-HTTP endpoint (Neon's driver). */
    DATABASE_URL: postgresUrl,
    /** Where the driver sends its queries; unset in production (Neon's endpoint). Local gateway in dev and tests. */
    DATABASE_HTTP_URL: z.string().url().optional(),
    /** Keys collectors send in X-Zeus-Collector-Key; comma-separated so a key can be rotated. */
    COLLECTOR_API_KEY: keyList,
    /** Keys for the operator routes (Authorization: Bearer); comma-separated for rotation. */
    ADMIN_API_KEY: keyList,
    /** Read-only keys for the reporting routes (`GET /usage`; Authorization: Bearer); the admin key works there too. */
    READ_API_KEY: optional(keyList),
    /** Largest ingest request body in bytes (default 5 MiB). */
    INGEST_MAX_BODY_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(5 * 1024 * 1024),
    /** Relays the daily collector reads from (JSON array); none: the cron has nothing to do. */
    RELAYS: relayList.default([]),
    /** Secret the Worker signs relay requests with (one of the relay's RELAY_SECRETS). */
    RELAY_SECRET: optional(z.string().min(16, 'must be at least 16 characters')),
    /** First UTC day (YYYY-MM-DD) to collect for a cluster that has never been collected; default: yesterday. */
    COLLECT_START_DATE: optional(z.iso.date()),
    /** Most days one cron run plans per cluster (catching up after an outage). */
    COLLECT_MAX_DAYS_PER_RUN: z.coerce.number().int().min(1).max(366).default(7),
    /** A UTC day is collected only this long after it ended (late accounting records). */
    COLLECT_DELAY_MINUTES: z.coerce
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60)
      .default(60),
    /** Alert when a cluster's watermark is more than this many days behind the last complete day. */
    ALERT_LAG_DAYS: z.coerce.number().int().min(1).max(365).default(2),
    /** Alert when more than this share of the last complete day's events is not `resolved` (0 to 1). */
    ALERT_UNMAPPED_SHARE: z.coerce.number().min(0).max(1).default(0.05),
    /** Where alerts are notified: JSON array of {url, format: "json" | "slack", secret?}; none: stored only. */
    ALERT_WEBHOOKS: optional(webhookList).transform((v) => v ?? []),
  })
  .refine((c) => c.RELAYS.length === 0 || c.RELAY_SECRET, {
    path: ['RELAY_SECRET'],
    message: 'is required when RELAYS lists a relay',
  });
export type Config = z.output<typeof ConfigSchema>;

/**
 * How each key reaches a deployed Worker (`npm run deploy:setup`, src/deploy/). The compiler holds this
 * table to ConfigSchema: a new key does not type-check until it says here whether it is a secret.
 * - `key`: a secret key: put when given in the environment, kept when already set, else generated (32 random bytes, hex);
 * - `secret`: a secret given on every run (environment or prompt), such as the database's connection string;
 * - `optional-secret`: a secret put when given in the environment (site settings kept out of git), kept otherwise;
 * - `var`: a plain setting: `[env.<name>.vars]` in wrangler.toml when it must change (docs/deploy.md).
 */
export const CONFIG_DEPLOYMENT = {
  DATABASE_URL: 'secret',
  DATABASE_HTTP_URL: 'var',
  COLLECTOR_API_KEY: 'key',
  ADMIN_API_KEY: 'key',
  READ_API_KEY: 'key',
  INGEST_MAX_BODY_BYTES: 'var',
  RELAYS: 'optional-secret',
  RELAY_SECRET: 'key',
  COLLECT_START_DATE: 'var',
  COLLECT_MAX_DAYS_PER_RUN: 'var',
  COLLECT_DELAY_MINUTES: 'var',
  ALERT_LAG_DAYS: 'var',
  ALERT_UNMAPPED_SHARE: 'var',
  ALERT_WEBHOOKS: 'optional-secret',
} as const satisfies Record<keyof z.input<typeof ConfigSchema>, 'key' | 'secret' | 'optional-secret' | 'var'>;
export type ConfigKey = keyof typeof CONFIG_DEPLOYMENT;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Every missing or bad key, one `KEY: why` line each (never its value); empty when the config is valid. */
export function configProblems(env: Record<string, unknown>): string[] {
  const parsed = ConfigSchema.safeParse(env);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
}

/** Validate the environment once; the message names every missing or bad key (never its value). */
export function parseConfig(env: Record<string, unknown>): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${configProblems(env).join('; ')}`);
  return parsed.data;
}

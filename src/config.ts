import { z } from 'zod';

const postgresUrl = z
  .string()
  .url()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// connection string');

/** Every variable and secret the Worker reads. `.dev.vars.example` lists the same keys (a test checks). */
export const ConfigSchema = z.object({
  /** The PostgreSQL connection string sent to the SQL-over-HTTP endpoint (Neon's driver). */
  DATABASE_URL: postgresUrl,
  /** Where the driver sends its queries; unset in production (Neon's endpoint). Local gateway in dev and tests. */
  DATABASE_HTTP_URL: z.string().url().optional(),
  /** Keys collectors send in X-Zeus-Collector-Key; comma-separated so a key can be rotated. */
  COLLECTOR_API_KEY: z
    .string()
    .transform((v) => v.split(',').map((k) => k.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(16, 'each key must be at least 16 characters')).min(1, 'must hold at least one key')),
  /** Largest ingest request body in bytes (default 5 MiB). */
  INGEST_MAX_BODY_BYTES: z.coerce.number().int().positive().default(5 * 1024 * 1024),
});
export type Config = z.output<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validate the environment once; the message names every missing or bad key (never its value). */
export function parseConfig(env: Record<string, unknown>): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

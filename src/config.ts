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
});
export type Config = z.infer<typeof ConfigSchema>;

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

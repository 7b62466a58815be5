import { fileURLToPath } from 'node:url';
import { neon, neonConfig } from '@neondatabase/serverless';
import { drizzle } from 'drizzle-orm/neon-http';
import { migrate } from 'drizzle-orm/neon-http/migrator';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * Apply the migrations in drizzle/ through the same HTTP driver the Worker uses (one statement per
 * request). Already-applied migrations are skipped, so running it again is harmless.
 */
export async function migrateDatabase(opts: { databaseUrl: string; sqlUrl?: string | undefined }): Promise<void> {
  if (opts.sqlUrl) neonConfig.fetchEndpoint = opts.sqlUrl;
  const db = drizzle({ client: neon(opts.databaseUrl) });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
}

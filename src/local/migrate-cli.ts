/** `npm run migrate` — apply drizzle/ to the configured database through a gateway or Neon. */
import { redactUrl, resolveDatabaseUrl } from './settings.ts';
import { migrateDatabase } from './migrate.ts';
import { startGateway } from './gateway/server.ts';

const { url, from } = resolveDatabaseUrl();
const endpoint = process.env.DATABASE_HTTP_URL;
// A local database and no endpoint given: run a gateway just for this (the embedded data folder of
// `npm run dev`). Any other host is Neon, reached by the driver's default endpoint.
const local = ['pglite', '127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
const gateway = endpoint || !local ? undefined : await startGateway({ port: 0, pglite: { dataDir: '.data/pglite' } });
try {
  await migrateDatabase({ databaseUrl: url, sqlUrl: endpoint ?? gateway?.sqlUrl });
  console.log(`migrate: ${redactUrl(url)} (${from}) is up to date`);
} finally {
  await gateway?.close();
}

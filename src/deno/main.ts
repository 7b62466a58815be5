/**
 * The HTTP app on Deno: `deno serve src/deno/main.ts` (see `npm run deno`). The same app as the Worker
 * (src/http/app.ts), configured from Deno's environment (the keys of src/config.ts, nothing else), talking
 * to the same SQL-over-HTTP endpoint (Neon, or the local gateway).
 *
 * What differs from the Worker: there is no cron and no collect or alerts queue, so the daily collection
 * and the alerts stay on the Worker (RELAYS must be unset here); and the mapping queue is a direct call, so ingest (and a
 * re-mapping request) maps its events before it answers.
 */
import { ConfigError, ConfigSchema } from '../config.ts';
import { createApp } from '../http/app.ts';
import type { SwaggerUiFile } from '../http/explorer.ts';
import { consumeMapping } from '../mapping/consume-mapping.ts';
import { ALERTS_QUEUE, COLLECT_QUEUE, MAPPING_QUEUE } from '../queues.ts';
import { getServices } from '../services.ts';
import { inProcessQueue, missingQueue } from './in-process-queue.ts';

/** The Deno APIs this entry uses (the project's TypeScript has no Deno types). */
declare const Deno: {
  env: { get(key: string): string | undefined };
  readTextFile(path: URL): Promise<string>;
};
declare global {
  interface ImportMeta {
    resolve(specifier: string): string;
  }
}

const env: Record<string, unknown> = {
  MAPPING_QUEUE: inProcessQueue(MAPPING_QUEUE, (batch) => consumeMapping(batch, services)),
  COLLECT_QUEUE: missingQueue(COLLECT_QUEUE, 'the daily collection runs on the Worker (cron and collect queue), not on Deno'),
  ALERTS_QUEUE: missingQueue(ALERTS_QUEUE, 'alerts are evaluated and notified by the Worker (cron and alerts queue), not on Deno'),
};
// Only the configuration keys are read: `--allow-env` lists exactly these.
for (const key of Object.keys(ConfigSchema.shape)) {
  const value = Deno.env.get(key);
  if (value !== undefined) env[key] = value;
}

// Validated now, before the first request: a bad configuration stops `deno serve` with the key named.
const services = getServices(env);
if (services.config.RELAYS.length > 0) {
  throw new ConfigError('invalid configuration: RELAYS: the daily collection runs on the Worker only; leave RELAYS unset on Deno');
}

const app = createApp(getServices, {
  // Swagger UI's files straight from node_modules (`--allow-read=node_modules/swagger-ui-dist`).
  loadSwaggerUiFile: (file: SwaggerUiFile) => Deno.readTextFile(new URL(import.meta.resolve(`swagger-ui-dist/${file}`))),
});

export default {
  fetch: (request: Request) => app.fetch(request, env),
};

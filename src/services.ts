import { type Config, parseConfig } from './config.ts';
import { createDb, type Database } from './db/client.ts';

/** What handlers, consumers and the cron get: configuration and the database, built once per isolate. */
export interface Services {
  config: Config;
  db: Database;
}

const cache = new WeakMap<object, Services>();

export function getServices(env: object): Services {
  let services = cache.get(env);
  if (!services) {
    const config = parseConfig(env as Record<string, unknown>);
    services = { config, db: createDb(config) };
    cache.set(env, services);
  }
  return services;
}

import { type Config, ConfigError, parseConfig } from './config.ts';
import type { MappingMessage } from './contracts/mapping-message.ts';
import { createDb, type Database } from './db/client.ts';

/** What handlers, consumers and the cron get: configuration and the database, built once per isolate. */
export interface Services {
  config: Config;
  db: Database;
  mappingQueue: Queue<MappingMessage>;
}

const cache = new WeakMap<object, Services>();

export function getServices(env: object): Services {
  let services = cache.get(env);
  if (!services) {
    const bindings = env as Record<string, unknown>;
    const config = parseConfig(bindings);
    const mappingQueue = bindings.MAPPING_QUEUE as Queue<MappingMessage> | undefined;
    if (!mappingQueue) throw new ConfigError('invalid configuration: MAPPING_QUEUE: queue binding missing (wrangler.toml)');
    services = { config, db: createDb(config), mappingQueue };
    cache.set(env, services);
  }
  return services;
}

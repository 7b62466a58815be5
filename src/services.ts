import { type Config, ConfigError, parseConfig } from './config.ts';
import type { AlertMessage } from './contracts/alert.ts';
import type { CollectMessage } from './contracts/collect-message.ts';
import type { MappingMessage } from './contracts/mapping-message.ts';
import { createDb, type Database } from './db/client.ts';

/** What handlers, consumers and the cron get: configuration and the database, built once per isolate. */
export interface Services {
  config: Config;
  db: Database;
  mappingQueue: Queue<MappingMessage>;
  collectQueue: Queue<CollectMessage>;
  alertsQueue: Queue<AlertMessage>;
}

const cache = new WeakMap<object, Services>();

export function getServices(env: object): Services {
  let services = cache.get(env);
  if (!services) {
    const bindings = env as Record<string, unknown>;
    const config = parseConfig(bindings);
    const binding = <T>(name: string) => {
      const queue = bindings[name] as Queue<T> | undefined;
      if (!queue) throw new ConfigError(`invalid configuration: ${name}: queue binding missing (wrangler.toml)`);
      return queue;
    };
    services = {
      config,
      db: createDb(config),
      mappingQueue: binding<MappingMessage>('MAPPING_QUEUE'),
      collectQueue: binding<CollectMessage>('COLLECT_QUEUE'),
      alertsQueue: binding<AlertMessage>('ALERTS_QUEUE'),
    };
    cache.set(env, services);
  }
  return services;
}

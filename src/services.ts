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
/** A bad environment is parsed once: the same error is thrown again for every later request. */
const failures = new WeakMap<object, ConfigError>();

export function getServices(env: object): Services {
  const failed = failures.get(env);
  if (failed) throw failed;
  let services = cache.get(env);
  if (!services) {
    const bindings = env as Record<string, unknown>;
    let config: Config;
    try {
      config = parseConfig(bindings);
    } catch (err) {
      if (err instanceof ConfigError) failures.set(env, err);
      throw err;
    }
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

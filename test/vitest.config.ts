import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY, TEST_COLLECTOR_KEY_NEXT, TEST_RELAY_SECRET } from './support/keys.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * A stand-in consumer of the mapping queue for the tests of its producer (ingest): it records each
 * event id it receives in KV, where a test can look for it. Link mapping replaces it as the real consumer.
 */
const MAPPING_QUEUE_PROBE = `export default {
  async queue(batch, env) {
    for (const message of batch.messages) {
      for (const id of message.body.event_ids ?? []) await env.QUEUE_PROBE.put('event:' + id, JSON.stringify(message.body));
      message.ack();
    }
  },
};`;

export default defineConfig({
  test: {
    root,
    // One gateway and one migrated database for the whole run (see support/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                DATABASE_URL: inject('databaseUrl'),
                DATABASE_HTTP_URL: inject('gatewaySqlUrl'),
                COLLECTOR_API_KEY: `${TEST_COLLECTOR_KEY},${TEST_COLLECTOR_KEY_NEXT}`,
                ADMIN_API_KEY: TEST_ADMIN_KEY,
                RELAY_SECRET: TEST_RELAY_SECRET,
              },
              // Tests read what reached the mapping queue from here (see support/queue-probe.ts).
              kvNamespaces: { QUEUE_PROBE: 'queue-probe' },
              workers: [
                {
                  name: 'mapping-queue-probe',
                  modules: true,
                  compatibilityDate: '2026-04-01',
                  script: MAPPING_QUEUE_PROBE,
                  kvNamespaces: { QUEUE_PROBE: 'queue-probe' },
                  queueConsumers: { 'zeus-mapping': { maxBatchTimeout: 0.05 } },
                },
              ],
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
});

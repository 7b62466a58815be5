import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import {
  CRON_TEST_CLOUD,
  CRON_TEST_CLUSTER,
  TEST_ADMIN_KEY,
  TEST_COLLECTOR_KEY,
  TEST_COLLECTOR_KEY_NEXT,
  TEST_READ_KEY,
  TEST_RELAY_SECRET,
} from './support/keys.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

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
                READ_API_KEY: TEST_READ_KEY,
                RELAY_SECRET: TEST_RELAY_SECRET,
                // The cron's cluster and cloud (support/collector-relay.ts, support/openstack-cloud.ts); tests
                // with other settings build their own config.
                RELAYS: JSON.stringify([
                  { cluster: CRON_TEST_CLUSTER, url: inject('relayUrl'), authority: 'demo.local' },
                  { cluster: CRON_TEST_CLOUD, url: inject('openstackRelayUrl'), kind: 'openstack' },
                ]),
                COLLECT_START_DATE: '2026-03-01',
              },
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

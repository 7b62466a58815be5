/** Keys the Worker under test is configured with (test-only values, never used anywhere real). */
export const TEST_COLLECTOR_KEY = 'test-collector-key-0123456789abcdef';
/** A second accepted key: rotation means both work at once. */
export const TEST_COLLECTOR_KEY_NEXT = 'test-collector-key-next-fedcba9876543210';
/** Operator key (Authorization: Bearer). */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';
/** Read-only key (Authorization: Bearer) for the reporting routes. */
export const TEST_READ_KEY = 'test-read-key-0123456789abcdef';
/** Relay secrets (test-only): the one the Worker under test signs with, and the next, as during a rotation. */
export const TEST_RELAY_SECRET = 'test-relay-secret-0123456789abcdef';
export const TEST_RELAY_SECRET_NEXT = 'test-relay-secret-next-fedcba9876543210';
/** The cluster the Worker under test is configured to collect from (RELAYS); only the cron test uses it. */
export const CRON_TEST_CLUSTER = 'cron-test';
/** The OpenStack cloud the Worker under test is configured to collect from (RELAYS, kind openstack); only the cron test collects it. */
export const CRON_TEST_CLOUD = 'cron-test-cloud';

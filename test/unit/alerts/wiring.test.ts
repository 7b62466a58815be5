/**
 * The alerts' wiring in wrangler.toml, in every environment: the hourly cron, the zeus-alerts queue with its
 * dead-letter queue, and the collect consumer's retries that define a dead-lettered day.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Unstable_Config, unstable_readConfig } from 'wrangler';
import { describe, expect, it } from 'vitest';
import { ALERT_CRON } from '../../../src/alerts/evaluate.ts';
import { COLLECT_MAX_ATTEMPTS } from '../../../src/alerts/observe.ts';
import { queueConsumer } from '../../../src/queues.ts';

const CONFIG = join(fileURLToPath(new URL('../../..', import.meta.url)), 'wrangler.toml');

describe.each([undefined, 'staging', 'production'])('wrangler.toml, environment %s', (env) => {
  const config: Unstable_Config = unstable_readConfig({ config: CONFIG, ...(env ? { env } : {}) });

  it('runs the daily collection cron and the hourly alert cron', () => {
    expect(config.triggers.crons).toContain(ALERT_CRON);
    expect(config.triggers.crons?.filter((c) => c !== ALERT_CRON)).toHaveLength(1);
  });

  it('produces to and consumes the alerts queue, with retries and a dead-letter queue', () => {
    const producer = config.queues.producers?.find((p) => p.binding === 'ALERTS_QUEUE');
    expect(producer && queueConsumer(producer.queue)).toBe('alerts');
    const consumer = config.queues.consumers?.find((c) => c.queue === producer!.queue);
    expect(consumer).toMatchObject({ dead_letter_queue: `${producer!.queue}-dlq` });
    expect(consumer!.max_retries).toBeGreaterThanOrEqual(10);
  });

  it('dead-letters a collect day after COLLECT_MAX_ATTEMPTS attempts, the number the dead-letter rule reads', () => {
    const collect = config.queues.consumers?.find((c) => queueConsumer(c.queue) === 'collect');
    expect((collect!.max_retries ?? 3) + 1).toBe(COLLECT_MAX_ATTEMPTS);
  });
});

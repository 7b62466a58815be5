/**
 * wrangler.toml's deployed environments against what `npm run deploy:setup` plans for them: every queue,
 * consumer and dead-letter queue of every environment is one the setup creates; each environment has
 * queues of its own, mirroring the local (top-level) ones; and every consumer queue reaches a consumer.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { experimental_readRawConfig, type Unstable_Config, unstable_readConfig } from 'wrangler';
import { describe, expect, it } from 'vitest';
import { CONFIG_DEPLOYMENT, ConfigSchema } from '../../../src/config.ts';
import { DEPLOYED_SECRETS, describeSteps, planSetup } from '../../../src/deploy/setup.ts';
import { environmentNames, readEnvironment } from '../../../src/deploy/wrangler.ts';
import { queueConsumer } from '../../../src/queues.ts';

const CONFIG = join(fileURLToPath(new URL('../../..', import.meta.url)), 'wrangler.toml');

interface RawQueues {
  producers?: { binding: string; queue: string }[];
  consumers?: ({ queue: string; dead_letter_queue?: string } & Record<string, unknown>)[];
}
/** The TOML as written (no environment resolution): what a reader of the file sees. */
const raw = experimental_readRawConfig({ config: CONFIG }).rawConfig as unknown as {
  queues: RawQueues;
  triggers: { crons: string[] };
  env: Record<string, { queues?: RawQueues }>;
};
const named = (q: RawQueues | undefined) => [
  ...(q?.producers ?? []).map((p) => p.queue),
  ...(q?.consumers ?? []).flatMap((c) => [c.queue, ...(c.dead_letter_queue ? [c.dead_letter_queue] : [])]),
];
const ENVIRONMENTS = Object.keys(raw.env);
const environ = { CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCOUNT_ID: 'a', DATABASE_URL: 'postgresql://u:p@ep-x.eu-central-1.aws.neon.tech/db' };

describe('wrangler.toml environments and deploy:setup', () => {
  it('defines staging and production', () => {
    expect(ENVIRONMENTS.sort()).toEqual(['production', 'staging']);
    expect(environmentNames(CONFIG).sort()).toEqual(ENVIRONMENTS);
  });

  it.each(ENVIRONMENTS)('the setup of %s creates every queue, consumer queue and dead-letter queue it names', (env) => {
    const plan = planSetup(readEnvironment(CONFIG, env), environ);
    expect(plan.problems).toEqual([]);
    const inFile = named(raw.env[env]!.queues);
    expect(inFile.length).toBeGreaterThan(0);
    expect(new Set(plan.target.queues)).toEqual(new Set(inFile));
    expect(plan.target.queues).toHaveLength(new Set(plan.target.queues).size); // each created once
    const steps = describeSteps(plan).join('\n');
    for (const queue of inFile) expect(steps).toContain(queue);
  });

  it('gives each environment queues of its own, named after it', () => {
    const owners = new Map<string, string>();
    for (const queue of named(raw.queues)) owners.set(queue, '(top level)');
    for (const env of ENVIRONMENTS) {
      for (const queue of new Set(named(raw.env[env]!.queues))) {
        expect(owners.get(queue), `${queue} is named by ${owners.get(queue)} and ${env}`).toBeUndefined();
        owners.set(queue, env);
        expect(queue).toContain(`-${env}`);
      }
    }
  });

  it.each(ENVIRONMENTS)('%s mirrors the local queues: the same bindings, consumers and settings, the same cron', (env) => {
    const top = unstable_readConfig({ config: CONFIG });
    const resolved = unstable_readConfig({ config: CONFIG, env });
    const withoutNames = (q: Unstable_Config['queues']) => ({
      producers: q.producers?.map((p) => ({ binding: p.binding, consumer: queueConsumer(p.queue) })),
      consumers: q.consumers?.map(({ queue, dead_letter_queue, ...settings }) => ({
        consumer: queueConsumer(queue),
        deadLetter: dead_letter_queue === undefined ? undefined : (queueConsumer(dead_letter_queue) ?? 'dead letters'),
        settings,
      })),
    });
    expect(withoutNames(resolved.queues)).toEqual(withoutNames(top.queues));
    for (const c of resolved.queues.consumers ?? []) expect(queueConsumer(c.queue), c.queue).toBeDefined();
    // Not repeated in the file: wrangler 4 inherits triggers (and main, rules, observability) into environments.
    expect(resolved.triggers.crons).toEqual(raw.triggers.crons);
    expect(resolved.name).toBe(`${top.name}-${env}`);
    // The CPU limit the collector was measured against (docs/collection.md) holds in every environment.
    expect(top.limits?.cpu_ms).toBe(300_000);
    expect(resolved.limits).toEqual(top.limits);
  });

  it('puts every secret key of the configuration, and only those', () => {
    const secretKinds = ['key', 'secret', 'optional-secret'];
    expect(DEPLOYED_SECRETS.map((s) => s.name).sort()).toEqual(
      Object.keys(ConfigSchema.shape)
        .filter((k) => secretKinds.includes(CONFIG_DEPLOYMENT[k as keyof typeof CONFIG_DEPLOYMENT]))
        .sort(),
    );
    // What a Worker must not run without is always deployed.
    for (const name of ['DATABASE_URL', 'COLLECTOR_API_KEY', 'ADMIN_API_KEY', 'READ_API_KEY', 'RELAY_SECRET']) {
      expect(DEPLOYED_SECRETS.map((s) => s.name)).toContain(name);
    }
    const plan = planSetup(readEnvironment(CONFIG, 'production'), environ);
    for (const { name } of DEPLOYED_SECRETS) expect(describeSteps(plan)[1]).toContain(name);
  });

  it('refuses a given value the Worker would refuse, naming the key and never the value', () => {
    const plan = planSetup(readEnvironment(CONFIG, 'staging'), { ...environ, ADMIN_API_KEY: 'short-k3y', RELAYS: '[{"cluster":"a"}]' });
    expect(plan.problems.join('\n')).toMatch(/ADMIN_API_KEY: each key must be at least 16 characters/);
    expect(plan.problems.join('\n')).toMatch(/RELAYS: /);
    expect(plan.problems.join('\n')).not.toContain('short-k3y');
  });
});

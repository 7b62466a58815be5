/**
 * Alerts end to end, for real: a relay process that dies and comes back, a webhook receiver process
 * (test/support/webhook-receiver.ts) that may be down, a database of their own behind the gateway, the
 * evaluation the cron runs and the zeus-alerts consumer. Only the queue between them is a stand-in
 * (support/retrying-queue.ts). Signatures are checked with the `standardwebhooks` library, as a receiver would.
 */
import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { consumeAlerts } from '../../../src/alerts/deliver.ts';
import { evaluateAlerts } from '../../../src/alerts/evaluate.ts';
import { listAlerts, silenceAlert } from '../../../src/alerts/store.ts';
import { type Config, parseConfig } from '../../../src/config.ts';
import type { AlertMessage } from '../../../src/contracts/alert.ts';
import type { Database } from '../../../src/db/client.ts';
import { type MigratedDatabase, startMigratedDatabase } from '../../support/fresh-database.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY, TEST_RELAY_SECRET } from '../../support/keys.ts';
import { type RelayProcess, startRelayProcess } from '../../support/relay-process.ts';
import { RetryingQueue } from '../../support/retrying-queue.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.ts';

const SECRET = `whsec_${Buffer.from('alert-test-signing-secret-32byte').toString('base64')}`;

let database: MigratedDatabase;
let db: Database;
const stopLater: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  database = await startMigratedDatabase();
  db = database.db;
}, 120_000);
afterAll(() => database?.close());
beforeEach(() => db.execute(sql`TRUNCATE alerts`));
afterEach(async () => {
  await Promise.all(stopLater.splice(0).map((p) => p.stop()));
});

/** A loopback port with nothing listening on it (asked of the OS, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function configFor(relays: { cluster: string; url: string }[], webhooks: { url: string; format: 'json' | 'slack'; secret?: string }[]): Config {
  return parseConfig({
    DATABASE_URL: database.databaseUrl,
    DATABASE_HTTP_URL: database.sqlUrl,
    COLLECTOR_API_KEY: TEST_COLLECTOR_KEY,
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    RELAYS: JSON.stringify(relays),
    RELAY_SECRET: TEST_RELAY_SECRET,
    ALERT_WEBHOOKS: JSON.stringify(webhooks),
  });
}

async function relay(port?: number): Promise<RelayProcess> {
  const r = await startRelayProcess(port ? { env: { RELAY_PORT: String(port) } } : {});
  stopLater.push(r);
  return r;
}

async function receiver(opts: { port?: number; statuses?: number[] } = {}): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver(opts);
  stopLater.push(r);
  return r;
}

const at = (hour: number) => new Date(Date.UTC(2031, 4, 10, hour, 5));

function verified(request: { headers: Record<string, string>; body: string }) {
  return new Webhook(SECRET).verify(request.body, request.headers) as Record<string, unknown>;
}

describe('alert notifications to a real webhook receiver', () => {
  it('a dead relay fires one signed notification, is not notified again while it stays dead, and resolves with one more', async () => {
    const r = await relay();
    const port = Number(new URL(r.url).port);
    const hook = await receiver();
    const config = configFor([{ cluster: 'alert-lab', url: r.url }], [{ url: `${hook.url}/hooks/zeus`, format: 'json', secret: SECRET }]);
    const queue = new RetryingQueue<AlertMessage>('zeus-alerts');
    const deps = { config, db, alertsQueue: queue };
    const deliver = () => queue.drain((batch) => consumeAlerts(batch, { config }));

    expect((await evaluateAlerts(deps, at(1))).queued).toBe(0);

    await r.stop();
    expect((await evaluateAlerts(deps, at(2))).queued).toBe(1);
    expect(await deliver()).toEqual({ acked: 1, retried: 0 });
    const [fired] = await hook.waitFor(1);
    expect(fired!.path).toBe('/hooks/zeus');
    const firing = verified(fired!);
    expect(firing).toMatchObject({ rule: 'relay_down', state: 'firing', severity: 'critical', labels: { cluster: 'alert-lab' } });
    expect(firing.summary).toMatch(/alert-lab.*\/v1\/health: connection failed/);
    expect(firing.first_seen).toBe(at(2).toISOString());
    expect(fired!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);

    // Still dead an hour and two later: stored as seen, never notified again.
    expect((await evaluateAlerts(deps, at(3))).queued).toBe(0);
    expect((await evaluateAlerts(deps, at(4))).queued).toBe(0);
    expect(await deliver()).toEqual({ acked: 0, retried: 0 });
    const [stored] = await listAlerts(db, { now: at(4) });
    expect(stored).toMatchObject({
      state: 'firing',
      first_seen: at(2).toISOString(),
      last_seen: at(4).toISOString(),
      last_notified: at(2).toISOString(),
    });

    // The relay comes back where it was: one resolved notification, under a new id.
    await relay(port);
    expect((await evaluateAlerts(deps, at(5))).queued).toBe(1);
    await deliver();
    const requests = await hook.waitFor(2);
    const resolved = verified(requests[1]!);
    expect(resolved).toMatchObject({ fingerprint: firing.fingerprint, state: 'resolved', resolved_at: at(5).toISOString() });
    expect(requests[1]!.headers['webhook-id']).not.toBe(fired!.headers['webhook-id']);
    expect((await evaluateAlerts(deps, at(6))).queued).toBe(0);
    expect(hook.received()).toHaveLength(2);
    expect(await listAlerts(db, { now: at(6), state: 'resolved' })).toHaveLength(1);
  });

  it('a receiver that is down at first gets the notification, once, when it comes up, under the same webhook-id', async () => {
    const port = await closedPort();
    const config = configFor(
      [{ cluster: 'alert-down-receiver', url: `http://127.0.0.1:${await closedPort()}` }],
      [{ url: `http://127.0.0.1:${port}/hook`, format: 'json', secret: SECRET }],
    );
    const queue = new RetryingQueue<AlertMessage>('zeus-alerts');
    const deliver = () => queue.drain((batch) => consumeAlerts(batch, { config }));
    expect((await evaluateAlerts({ config, db, alertsQueue: queue }, at(1))).queued).toBe(1);
    const id = queue.pending[0]!.body.id;

    expect(await deliver()).toEqual({ acked: 0, retried: 1 });
    expect(await deliver()).toEqual({ acked: 0, retried: 1 });
    expect(queue.pending[0]).toMatchObject({ attempts: 3, delaySeconds: 20 });

    const hook = await receiver({ port });
    expect(await deliver()).toEqual({ acked: 1, retried: 0 });
    const [request] = await hook.waitFor(1);
    expect(request!.headers['webhook-id']).toBe(id);
    expect(verified(request!)).toMatchObject({ rule: 'relay_down', state: 'firing', labels: { cluster: 'alert-down-receiver' } });
    expect(hook.received()).toHaveLength(1);
  });

  it('retries 503 and 429, and takes any other 4xx as final', async () => {
    const hook = await receiver({ statuses: [503, 429, 400] });
    const config = configFor([{ cluster: 'alert-refused', url: `http://127.0.0.1:${await closedPort()}` }], [{ url: hook.url, format: 'json' }]);
    const queue = new RetryingQueue<AlertMessage>('zeus-alerts');
    const deliver = () => queue.drain((batch) => consumeAlerts(batch, { config }));
    await evaluateAlerts({ config, db, alertsQueue: queue }, at(1));
    expect(await deliver()).toEqual({ acked: 0, retried: 1 });
    expect(await deliver()).toEqual({ acked: 0, retried: 1 });
    expect(await deliver()).toEqual({ acked: 1, retried: 0 });
    expect(queue.pending).toHaveLength(0);
    expect((await hook.waitFor(3)).map((r) => r.status)).toEqual([503, 429, 400]);
    // Without a secret, nothing is signed.
    expect(hook.received()[0]!.headers['webhook-signature']).toBeUndefined();
  });

  it('renders the Slack format: text and blocks, mrkdwn control characters escaped', async () => {
    const hook = await receiver();
    const cluster = 'lab <north> & co';
    const config = configFor([{ cluster, url: `http://127.0.0.1:${await closedPort()}` }], [{ url: hook.url, format: 'slack', secret: SECRET }]);
    const queue = new RetryingQueue<AlertMessage>('zeus-alerts');
    await evaluateAlerts({ config, db, alertsQueue: queue }, at(1));
    await queue.drain((batch) => consumeAlerts(batch, { config }));
    const [request] = await hook.waitFor(1);
    const body = verified(request!) as { text: string; blocks: { type: string; text?: { type: string; text: string } }[] };
    expect(body.text).toBe(
      `:rotating_light: [FIRING · critical] relay_down: the relay of lab &lt;north&gt; &amp; co does not answer its signed /v1/health: connection failed`,
    );
    expect(body.blocks[0]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*:rotating_light: [FIRING · critical] relay_down*\nthe relay of lab &lt;north&gt; &amp; co does not answer its signed /v1/health: connection failed',
      },
    });
    expect(JSON.stringify(body.blocks[1])).toContain('cluster=lab &lt;north&gt; &amp; co');
    expect(request!.headers['content-type']).toBe('application/json');
  });

  it('a silenced alert is not notified while silenced; once the silence ends it is', async () => {
    const hook = await receiver();
    const config = configFor([{ cluster: 'alert-silenced', url: `http://127.0.0.1:${await closedPort()}` }], [{ url: hook.url, format: 'json' }]);
    const queue = new RetryingQueue<AlertMessage>('zeus-alerts');
    const deps = { config, db, alertsQueue: new RetryingQueue<AlertMessage>('unused') };
    // Fired with no webhook to tell (a first evaluation without ALERT_WEBHOOKS): stored, owed nothing yet.
    await evaluateAlerts({ ...deps, config: { ...config, ALERT_WEBHOOKS: [] } }, at(1));
    await db.execute(sql`UPDATE alerts SET last_notified = NULL`);
    const [alert] = await listAlerts(db, { now: at(1) });
    await silenceAlert(db, alert!.fingerprint, at(3).toISOString(), 'relay moved, being rebuilt');
    expect((await evaluateAlerts({ ...deps, alertsQueue: queue }, at(2))).queued).toBe(0);
    expect((await evaluateAlerts({ ...deps, alertsQueue: queue }, at(4))).queued).toBe(1);
    await queue.drain((batch) => consumeAlerts(batch, { config }));
    expect(JSON.parse((await hook.waitFor(1))[0]!.body)).toMatchObject({ state: 'firing', labels: { cluster: 'alert-silenced' } });
  });
});

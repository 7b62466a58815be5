import { env } from 'cloudflare:workers';
import { createExecutionContext, getQueueResult } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { createDb, type Database } from '../../src/db/client.ts';
import { consumeMapping } from '../../src/mapping/consume-mapping.ts';
import type { Services } from '../../src/services.ts';
import { linksOf, makeAllocation, makeProject, makeUser, storeEvents } from '../support/directory.ts';
import { makeEvent, uniqueId } from '../support/events.ts';
import { db, postEvents, waitForLinks } from './helpers.ts';
import { deliver, mapNow, mappingBatch } from './mapping-helpers.ts';

const perun = (value: string) => ({ scheme: 'perun_username' as const, value, authority: 'demo.local' });
/** A day (offset from 2026-01-01) no other test uses: a re-run of that day's range touches only this test's events. */
const lonelyDay = () => 1000 + Math.floor(Math.random() * 20_000);
const dayRange = (day: number) => {
  const from = new Date(Date.UTC(2026, 0, 1 + day));
  return { kind: 'range', from: from.toISOString(), to: new Date(from.getTime() + 86_400_000).toISOString() };
};
const config = parseConfig(env as unknown as Record<string, unknown>);

/** The Worker's services, with a database that counts the HTTP requests and statements it is sent. */
function countingServices(database: Database = db) {
  const count = { requests: 0, statements: 0 };
  const counted = new Proxy(database, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'execute') {
        return (...args: unknown[]) => {
          count.statements++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      if (prop === 'batch') {
        return (items: unknown[]) => {
          count.requests++;
          return (value as (i: unknown[]) => unknown).apply(target, [items]);
        };
      }
      return value;
    },
  });
  return { services: { config, db: counted } as unknown as Services, count };
}

async function consume(bodies: unknown[], services: Services) {
  const batch = mappingBatch(bodies);
  const ctx = createExecutionContext();
  await consumeMapping(batch, services);
  return getQueueResult(batch, ctx);
}

describe('the mapping queue consumer', () => {
  it('maps a batch of 1000 events in one invocation, with one request of three statements (settings, the mapping, the re-charge of re-sent events)', async () => {
    const project = await makeProject(db);
    await makeAllocation(db, project.id);
    const user = await makeUser(db);
    const ids = await storeEvents(
      db,
      Array.from({ length: 1000 }, (_, day) => ({ project: project.name, day, identities: [perun(user.username!)] })),
    );
    const { services, count } = countingServices();
    const bodies = Array.from({ length: 10 }, (_, i) => ({ kind: 'events', event_ids: ids.slice(i * 100, (i + 1) * 100) }));
    const result = await consume(bodies, services);
    expect(result.explicitAcks).toHaveLength(10);
    expect(result.retryMessages).toEqual([]);
    expect(count).toEqual({ requests: 1, statements: 3 });
    const links = await linksOf(db, ids);
    expect(links.filter((l) => l?.status === 'resolved')).toHaveLength(1000);
  });

  it('running twice gives the same rows, mapped_at included', async () => {
    const project = await makeProject(db);
    await makeAllocation(db, project.id);
    const user = await makeUser(db);
    const ids = await storeEvents(db, [
      { project: project.name, identities: [perun(user.username!)] },
      { project: uniqueId('nowhere'), identities: [perun(uniqueId('ghost'))] },
    ]);
    const first = await mapNow(ids);
    const second = await mapNow(ids);
    expect(second).toEqual(first);
    expect(first.map((l) => l?.status)).toEqual(['resolved', 'unresolved']);
  });

  it('a re-run picks up a fix in the allocation system (and only what changed is rewritten)', async () => {
    const project = await makeProject(db);
    await makeAllocation(db, project.id);
    const name = uniqueId('late');
    const day = lonelyDay();
    const ids = await storeEvents(db, [{ project: project.name, identities: [perun(name)], day }]);
    const [before] = await mapNow(ids);
    expect(before).toMatchObject({ status: 'partial', user_id: null });
    const user = await makeUser(db, { username: name });
    const { result } = await deliver([dayRange(day)]);
    expect(result.explicitAcks).toHaveLength(1);
    const [after] = await linksOf(db, ids);
    expect(after).toMatchObject({ status: 'resolved', user_id: user.id, reasons: [] });
    expect(after!.mapped_at).not.toBe(before!.mapped_at);
  });

  it('never overwrites a manual link: not on a re-run by id, nor by range', async () => {
    const project = await makeProject(db);
    const user = await makeUser(db);
    const day = lonelyDay();
    const ids = await storeEvents(db, [{ project: uniqueId('nowhere'), identities: [perun(user.username!)], day }]);
    await mapNow(ids);
    await db.execute(sql`UPDATE resource_usage_event_links SET status = 'manual', project_id = ${project.id}, reasons = '[]',
      note = 'moved by hand' WHERE event_id = ${ids[0]!}`);
    const [manual] = await linksOf(db, ids);
    await mapNow(ids);
    await deliver([dayRange(day)]);
    expect((await linksOf(db, ids))[0]).toEqual(manual);
    expect(manual).toMatchObject({ status: 'manual', project_id: project.id, note: 'moved by hand' });
  });

  it('a poison message is acknowledged and logged, and does not hold back the rest of the batch', async () => {
    const project = await makeProject(db);
    await makeAllocation(db, project.id);
    const user = await makeUser(db);
    const ids = await storeEvents(db, [{ project: project.name, identities: [perun(user.username!)] }]);
    const { batch, result } = await deliver([
      { kind: 'events', event_ids: ['not-a-uuid'] },
      'a string',
      { kind: 'reprocess everything' },
      { kind: 'events', event_ids: ids },
      { kind: 'events', event_ids: [crypto.randomUUID()] }, // valid, but no such event: nothing to do
    ]);
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    expect([...result.explicitAcks].sort()).toEqual(batch.messages.map((m) => m.id).sort());
    expect((await linksOf(db, ids))[0]).toMatchObject({ status: 'resolved', user_id: user.id });
  });

  it('when the database is unreachable, retries every valid message with backoff (and acks the invalid)', async () => {
    const unreachable = createDb({ DATABASE_URL: 'postgresql://nobody@127.0.0.1:9/none', DATABASE_HTTP_URL: 'http://127.0.0.1:9/sql' });
    const { services } = countingServices(unreachable);
    const seen: Record<string, string | number | undefined> = {};
    const message = (id: string, attempts: number, body: unknown) => ({
      id,
      timestamp: new Date(),
      attempts,
      body,
      ack: () => void (seen[id] = 'ack'),
      retry: (options?: { delaySeconds?: number }) => void (seen[id] = options?.delaySeconds),
    });
    const batch = {
      queue: 'zeus-mapping',
      messages: [
        message('first', 1, { kind: 'events', event_ids: [crypto.randomUUID()] }),
        message('fourth', 4, { kind: 'range', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }),
        message('bad', 1, { kind: 'nope' }),
      ],
      ackAll: () => undefined,
      retryAll: () => undefined,
    } as unknown as MessageBatch<unknown>;
    await consumeMapping(batch, services);
    expect(seen).toEqual({ first: 10, fourth: 80, bad: 'ack' });
  });

  it('end to end: ingest → mapping queue → consumer links the events to the allocation system', async () => {
    const project = await makeProject(db);
    const allocation = await makeAllocation(db, project.id);
    const user = await makeUser(db, { defaultProjectId: project.id });
    const events = [
      makeEvent({ project: project.name, identities: [perun(user.username!)] }),
      makeEvent({ project: '_pbs_project_default', identities: [{ scheme: 'user_email', value: user.email! }], day: 1 }),
    ];
    const res = await postEvents({ events });
    expect(res.status).toBe(200);
    const ids = ((await res.json()) as { events: { id: string }[] }).events.map((e) => e.id);
    const links = await waitForLinks(ids);
    expect(links).toHaveLength(2);
    for (const link of links) {
      expect(link).toMatchObject({ user_id: user.id, project_id: project.id, allocation_id: allocation.id, status: 'resolved' });
    }
  });
});

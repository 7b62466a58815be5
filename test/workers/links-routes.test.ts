import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY_SCHEME } from '../../src/http/security.ts';
import { linksOf, makeAllocation, makeProject, makeUser, storeEvents } from '../support/directory.ts';
import { uniqueId } from '../support/events.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY } from '../support/keys.ts';
import { db } from './helpers.ts';
import { mapNow } from './mapping-helpers.ts';

const ORIGIN = 'http://worker.test';
const perun = (value: string) => ({ scheme: 'perun_username' as const, value, authority: 'demo.local' });

function call(method: string, path: string, body?: unknown, key: string | null = TEST_ADMIN_KEY) {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return exports.default.fetch(`${ORIGIN}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

async function problem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as { code: string; errors?: { path: string }[] };
  expect(body.code).toBe(code);
  return body;
}

/** Events in a stretch of time (far from every other test's) with unresolved links. */
async function unresolvedEvents(count: number) {
  const day = 30_000 + Math.floor(Math.random() * 20_000);
  const ids = await storeEvents(
    db,
    Array.from({ length: count }, (_, i) => ({ project: uniqueId('nowhere'), identities: [perun(uniqueId('ghost'))], day: day + i })),
  );
  await mapNow(ids);
  const from = new Date(Date.UTC(2026, 0, 1 + day)).toISOString();
  const to = new Date(Date.UTC(2026, 0, 1 + day + count)).toISOString();
  return { ids, from, to };
}

describe('link routes — security', () => {
  it('every route answers 401 without the operator key, with a wrong one, and with the collector key', async () => {
    const id = crypto.randomUUID();
    const routes: [string, string, unknown?][] = [
      ['GET', `/links/events/${id}`],
      ['PUT', `/links/events/${id}`, { project_id: crypto.randomUUID() }],
      ['GET', '/links/unresolved'],
      ['POST', '/links/remap', { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }],
    ];
    for (const [method, path, body] of routes) {
      for (const key of [null, `${TEST_ADMIN_KEY}x`, TEST_COLLECTOR_KEY]) {
        const res = await call(method, path, body, key);
        expect(res.status, `${method} ${path} with ${key}`).toBe(401);
      }
    }
  });

  it('is described in /openapi.json, each operation behind the operator key', async () => {
    const doc = (await (await exports.default.fetch(`${ORIGIN}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    const ops = [
      doc.paths['/links/events/{event_id}']?.get,
      doc.paths['/links/events/{event_id}']?.put,
      doc.paths['/links/unresolved']?.get,
      doc.paths['/links/remap']?.post,
    ];
    for (const op of ops) expect(op?.security).toEqual([{ [ADMIN_KEY_SCHEME]: [] }]);
  });
});

describe('GET /links/events/{event_id}', () => {
  it('returns the link with its reasons; 404 for an event without one; 422 for a bad id', async () => {
    const { ids } = await unresolvedEvents(1);
    const res = await call('GET', `/links/events/${ids[0]}`);
    expect(res.status).toBe(200);
    const link = (await res.json()) as Record<string, unknown>;
    expect(link).toMatchObject({ event_id: ids[0], status: 'unresolved', user_id: null, project_id: null, note: null });
    expect((link.reasons as { code: string }[]).map((r) => r.code)).toEqual(['user_not_found', 'project_not_found', 'allocation_needs_project']);
    expect(link.event_time).toMatch(/^\d{4}-\d\d-\d\dT00:00:00\.000Z$/);
    await problem(await call('GET', `/links/events/${crypto.randomUUID()}`), 404, 'not_found');
    await problem(await call('GET', '/links/events/not-a-uuid'), 422, 'validation_failed');
  });
});

describe('GET /links/unresolved', () => {
  it('pages through unresolved links newest first, each once, with their reasons', async () => {
    const { ids, from, to } = await unresolvedEvents(5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ from, to, limit: '2', ...(cursor ? { cursor } : {}) });
      const res = await call('GET', `/links/unresolved?${query}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { links: { event_id: string; reasons: unknown[] }[]; next_cursor: string | null };
      expect(page.links.length).toBeLessThanOrEqual(2);
      for (const link of page.links) expect(link.reasons.length).toBeGreaterThan(0);
      seen.push(...page.links.map((l) => l.event_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by status, and refuses a cursor it did not issue', async () => {
    const { from, to } = await unresolvedEvents(2);
    const partial = await call('GET', `/links/unresolved?${new URLSearchParams({ from, to, status: 'partial' })}`);
    expect(((await partial.json()) as { links: unknown[] }).links).toEqual([]);
    await problem(await call('GET', '/links/unresolved?cursor=bm9wZQ'), 400, 'bad_request');
    await problem(await call('GET', '/links/unresolved?limit=0'), 422, 'validation_failed');
  });
});

describe('PUT /links/events/{event_id} (manual link)', () => {
  it('sets a manual link that mapping never overwrites; an allocation alone brings its project', async () => {
    const { ids } = await unresolvedEvents(1);
    const project = await makeProject(db);
    const allocation = await makeAllocation(db, project.id);
    const user = await makeUser(db);
    const res = await call('PUT', `/links/events/${ids[0]}`, { user_id: user.id, allocation_id: allocation.id, note: 'ticket 42' });
    expect(res.status).toBe(200);
    const expected = { status: 'manual', user_id: user.id, project_id: project.id, allocation_id: allocation.id, reasons: [], note: 'ticket 42' };
    expect(await res.json()).toMatchObject(expected);
    await mapNow(ids);
    expect((await linksOf(db, ids))[0]).toMatchObject(expected);
  });

  it('404 for an unknown event; 422 for unknown ids, an allocation of another project, or an empty body', async () => {
    const { ids } = await unresolvedEvents(1);
    const [a, b] = [await makeProject(db), await makeProject(db)];
    const allocation = await makeAllocation(db, a.id);
    await problem(await call('PUT', `/links/events/${crypto.randomUUID()}`, { project_id: a.id }), 404, 'not_found');
    const unknown = await problem(
      await call('PUT', `/links/events/${ids[0]}`, { user_id: crypto.randomUUID(), project_id: a.id }),
      422,
      'validation_failed',
    );
    expect(unknown.errors?.map((e) => e.path)).toEqual(['user_id']);
    const mismatch = await problem(
      await call('PUT', `/links/events/${ids[0]}`, { project_id: b.id, allocation_id: allocation.id }),
      422,
      'validation_failed',
    );
    expect(mismatch.errors?.map((e) => e.path)).toEqual(['allocation_id']);
    await problem(await call('PUT', `/links/events/${ids[0]}`, {}), 422, 'validation_failed');
    expect((await linksOf(db, ids))[0]).toMatchObject({ status: 'unresolved' });
  });
});

describe('POST /links/remap', () => {
  it('queues one message per UTC day and the range is mapped again (a fixed user now resolves)', async () => {
    const day = 60_000 + Math.floor(Math.random() * 20_000);
    const project = await makeProject(db);
    await makeAllocation(db, project.id);
    const name = uniqueId('late');
    const ids = await storeEvents(db, [{ project: project.name, identities: [perun(name)], day }]);
    await mapNow(ids);
    const user = await makeUser(db, { username: name });
    const from = new Date(Date.UTC(2026, 0, 1 + day, 12)).toISOString(); // noon: two UTC days
    const to = new Date(Date.UTC(2026, 0, 2 + day, 12)).toISOString();
    const res = await call('POST', '/links/remap', { from, to });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ from, to, messages: 2 });
    // The event starts at midnight, before `from`: widen to the whole day to catch it.
    const whole = await call('POST', '/links/remap', { from: new Date(Date.UTC(2026, 0, 1 + day)).toISOString(), to });
    expect(whole.status).toBe(202);
    const deadline = Date.now() + 15_000;
    let link = (await linksOf(db, ids))[0];
    while (link?.status !== 'resolved' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      link = (await linksOf(db, ids))[0];
    }
    expect(link).toMatchObject({ status: 'resolved', user_id: user.id });
  });

  it('422 for an empty or reversed range, or one over 366 days', async () => {
    await problem(await call('POST', '/links/remap', { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }), 422, 'validation_failed');
    await problem(await call('POST', '/links/remap', { from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }), 422, 'validation_failed');
    await problem(await call('POST', '/links/remap', { from: '2026-01-01' }), 422, 'validation_failed');
  });
});

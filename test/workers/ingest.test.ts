import { describe, expect, it } from 'vitest';
import { SEED_CURL_EVENT, makeEvent, uniqueId } from '../support/events.ts';
import { TEST_COLLECTOR_KEY_NEXT } from '../support/keys.ts';
import { postEvents, storedFor, waitForLinks } from './helpers.ts';

interface IngestBody {
  inserted: number;
  updated: number;
  unchanged: number;
  events: { index: number; id: string; outcome: string }[];
}

describe('POST /collector/resource-usage — happy path', () => {
  it("stores the seed's curl example unchanged and says so", async () => {
    const project = uniqueId('seed');
    const event = { ...SEED_CURL_EVENT, context: { ...SEED_CURL_EVENT.context, project } };
    const res = await postEvents({ events: [event] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as IngestBody;
    expect(body).toMatchObject({ inserted: 1, updated: 0, unchanged: 0 });
    const rows = await storedFor(project);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(body.events[0]!.id);
    expect(rows[0]!.metrics).toEqual(SEED_CURL_EVENT.metrics);
    expect(rows[0]!.identities).toEqual(SEED_CURL_EVENT.identities);
    expect(rows[0]!.context).toEqual({ ...SEED_CURL_EVENT.context, project });
  });

  it('re-sending the same batch adds no row and reports every event unchanged, with the same ids', async () => {
    const project = uniqueId();
    const events = [0, 1, 2].map((day) => makeEvent({ project, day }));
    const first = (await (await postEvents({ events })).json()) as IngestBody;
    const again = await postEvents({ events });
    expect(again.status).toBe(200);
    const second = (await again.json()) as IngestBody;
    expect(first).toMatchObject({ inserted: 3, updated: 0, unchanged: 0 });
    expect(second).toMatchObject({ inserted: 0, updated: 0, unchanged: 3 });
    expect(second.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
    expect(await storedFor(project)).toHaveLength(3);
  });

  it('a newer collected_at replaces the metrics; an older or equal one changes nothing', async () => {
    const project = uniqueId();
    const base = makeEvent({ project });
    await postEvents({ events: [base] });
    const newer = { ...base, collected_at: '2026-06-01T00:00:00Z', metrics: { cpu_time_seconds: 999 } };
    const older = { ...base, collected_at: '2025-01-01T00:00:00Z', metrics: { cpu_time_seconds: 1 } };
    expect(await (await postEvents({ events: [newer] })).json()).toMatchObject({ updated: 1 });
    expect(await (await postEvents({ events: [older] })).json()).toMatchObject({ unchanged: 1 });
    expect(await (await postEvents({ events: [newer] })).json()).toMatchObject({ unchanged: 1 });
    const rows = await storedFor(project);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.metrics).toEqual({ cpu_time_seconds: 999 });
  });

  it('the same key written differently (offset, identity order, perun_user spelling) is one row', async () => {
    const project = uniqueId();
    const a = makeEvent({
      project,
      identities: [
        { scheme: 'perun_user', value: 'bob', authority: 'perun' },
        { scheme: 'user_email', value: 'Bob@Example.org' },
      ],
    });
    const b = {
      ...a,
      time_window_start: a.time_window_start.replace('T00:00:00.000Z', 'T01:00:00+01:00'),
      identities: [
        { scheme: 'user_email', value: 'bob@example.org' },
        { scheme: 'perun_username', value: 'bob', authority: 'perun' },
      ],
    } as typeof a;
    await postEvents({ events: [a] });
    expect(await (await postEvents({ events: [b] })).json()).toMatchObject({ unchanged: 1 });
    expect(await storedFor(project)).toHaveLength(1);
  });

  it('the same key twice in one request stores the newest once', async () => {
    const project = uniqueId();
    const old = makeEvent({ project, metrics: { cpu_time_seconds: 1 } });
    const recent = { ...old, collected_at: '2026-06-01T00:00:00Z', metrics: { cpu_time_seconds: 2 } };
    const body = (await (await postEvents({ events: [recent, old] })).json()) as IngestBody;
    expect(body).toMatchObject({ inserted: 1, unchanged: 1 });
    expect(body.events[0]!.id).toBe(body.events[1]!.id);
    const rows = await storedFor(project);
    expect(rows.map((r) => r.metrics)).toEqual([{ cpu_time_seconds: 2 }]);
  });

  it('two concurrent requests with the same events end with one row per key', async () => {
    const project = uniqueId();
    const events = Array.from({ length: 20 }, (_, day) => makeEvent({ project, day }));
    const [a, b] = await Promise.all([postEvents({ events }), postEvents({ events })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const [ba, bb] = (await Promise.all([a.json(), b.json()])) as IngestBody[];
    expect(ba!.inserted + bb!.inserted).toBe(20);
    expect(ba!.events.map((e) => e.id)).toEqual(bb!.events.map((e) => e.id));
    expect(await storedFor(project)).toHaveLength(20);
  });

  it('accepts the next key too (rotation) and keeps unknown context keys and extra as sent', async () => {
    const project = uniqueId();
    const event = makeEvent({ project, context: { project, cluster: 'c1', rack: 'r7' }, extra: { note: 'x', n: [1] } });
    const res = await postEvents({ events: [event] }, { key: TEST_COLLECTOR_KEY_NEXT });
    expect(res.status).toBe(200);
    const [row] = await storedFor(project);
    expect(row!.context).toEqual({ project, cluster: 'c1', rack: 'r7' });
    expect(row!.extra).toEqual({ note: 'x', n: [1] });
  });

  it('hands the stored ids to link mapping: a link appears for every event', async () => {
    const project = uniqueId();
    const body = (await (await postEvents({ events: [makeEvent({ project }), makeEvent({ project, day: 1 })] })).json()) as IngestBody;
    const ids = body.events.map((e) => e.id);
    const links = await waitForLinks(ids);
    expect(links.map((l) => l.event_id).sort()).toEqual([...ids].sort());
    // Nobody created this project: mapping says so, it does not guess.
    for (const link of links) expect(link).toMatchObject({ project_id: null, allocation_id: null });
  });

  it('accepts 1000 events in one request', async () => {
    const project = uniqueId();
    const events = Array.from({ length: 1000 }, (_, i) => makeEvent({ project, day: i }));
    const res = await postEvents({ events });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ inserted: 1000 });
    expect(await storedFor(project)).toHaveLength(1000);
  });
});

/**
 * GET /metrics, the alerts routes, the hourly cron and the operator page's alerts, through the real Worker
 * and the test database. The scrape is read with a real exposition-format parser and held to the database.
 */
import { exports } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { ALERT_CRON } from '../../src/alerts/evaluate.ts';
import type { Alert } from '../../src/contracts/alert.ts';
import { addDays, lastCompleteDay } from '../../src/lib/utc-day.ts';
import { makeEvent, uniqueId } from '../support/events.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY, TEST_READ_KEY } from '../support/keys.ts';
import { db, postEvents } from './helpers.ts';

const request = (path: string, init: RequestInit & { key?: string } = {}) => {
  const { key, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (key) headers.set('authorization', `Bearer ${key}`);
  return exports.default.fetch(`http://worker.test${path}`, { ...rest, headers });
};

async function eventsOn(day: string, n: number, source: 'pbs' | 'openstack', cluster: string) {
  const start = `${day}T00:00:00.000Z`;
  const end = `${addDays(day, 1)}T00:00:00.000Z`;
  const events = Array.from({ length: n }, () => ({
    ...makeEvent({ source, context: { cluster, project: uniqueId(), jobname: 'daily' } }),
    time_window_start: start,
    time_window_end: end,
    identities: [{ scheme: 'perun_username' as const, value: uniqueId('nobody'), authority: 'perun.example' }],
  }));
  const res = await postEvents({ events });
  expect(res.status).toBe(200);
}

describe('GET /metrics', () => {
  it('needs a read or operator key: 401 problem+json otherwise', async () => {
    for (const key of [undefined, TEST_COLLECTOR_KEY, 'not-a-key-at-all-0000']) {
      const res = await request('/metrics', key ? { key } : {});
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ status: 401, code: 'unauthorized' });
    }
    for (const key of [TEST_READ_KEY, TEST_ADMIN_KEY]) {
      const res = await request('/metrics', { key });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      await res.body?.cancel();
    }
  });

  it('parses with a real exposition parser, every family typed and described, its values those of the database', async () => {
    const day = lastCompleteDay(new Date(), 60);
    const cluster = uniqueId('metrics-cluster');
    await eventsOn(day, 3, 'pbs', cluster);
    await eventsOn(day, 2, 'openstack', cluster);

    const res = await request('/metrics', { key: TEST_READ_KEY });
    const text = await res.text();
    const families = parsePrometheusTextFormat(text);
    for (const f of families) {
      expect(text).toContain(`# HELP ${f.name} `);
      expect(text).toContain(`# TYPE ${f.name} gauge`);
    }
    const byName = Object.fromEntries(families.map((f) => [f.name, f.metrics]));
    expect(Object.keys(byName)).toEqual(
      expect.arrayContaining([
        'zeus_collection_lag_days',
        'zeus_collection_last_run_success',
        'zeus_collection_last_run_age_seconds',
        'zeus_collection_days',
        'zeus_usage_events',
        'zeus_event_links',
        'zeus_allocation_used_share',
        'zeus_alerts',
      ]),
    );
    const value = (name: string, labels: Record<string, string>) =>
      Number(byName[name]?.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? Number.NaN);

    const [from, to] = [`${day}T00:00:00Z`, `${addDays(day, 1)}T00:00:00Z`];
    const { rows: events } = await db.execute<{ source: string; n: number }>(sql`
      SELECT source, count(*)::int AS n FROM resource_usage_events
      WHERE time_window_start >= ${from}::timestamptz AND time_window_start < ${to}::timestamptz GROUP BY source`);
    for (const source of ['pbs', 'openstack']) {
      const expected = Number(events.find((e) => e.source === source)?.n ?? 0);
      expect(expected).toBeGreaterThanOrEqual(source === 'pbs' ? 3 : 2);
      expect(value('zeus_usage_events', { source, day })).toBe(expected);
    }
    const linkTotal = (byName.zeus_event_links ?? []).reduce((n, m) => n + Number(m.value), 0);
    expect(linkTotal).toBe(events.reduce((n, e) => n + Number(e.n), 0));

    const { rows: days } = await db.execute<{ cluster: string; status: string; n: number }>(sql`
      SELECT cluster, status, count(*)::int AS n FROM collection_days WHERE status IN ('queued', 'failed') GROUP BY 1, 2`);
    for (const d of days) expect(value('zeus_collection_days', { cluster: d.cluster, status: d.status })).toBe(Number(d.n));
    const { rows: watermarks } = await db.execute<{ cluster: string; lag: number }>(sql`
      SELECT cluster, greatest(0, ${day}::date - through_day)::int AS lag FROM collection_watermarks`);
    for (const w of watermarks) expect(value('zeus_collection_lag_days', { cluster: w.cluster })).toBe(Number(w.lag));
    const { rows: alerts } = await db.execute<{ rule: string; severity: string; state: string; n: number }>(sql`
      SELECT rule, severity, state, count(*)::int AS n FROM alerts GROUP BY 1, 2, 3`);
    for (const a of alerts) expect(value('zeus_alerts', { rule: a.rule, severity: a.severity, state: a.state })).toBe(Number(a.n));
  });
});

describe('alerts: the hourly cron, GET /admin/alerts, silences, the operator page', () => {
  const scheduledTime = new Date('2027-06-15T03:05:00Z');
  const day = '2027-06-14';

  it('the hourly cron fires the unmapped-share alert for a day of unresolved usage; operators list, silence and see it', async () => {
    await eventsOn(day, 4, 'pbs', uniqueId('unmapped-cluster'));
    type Scheduler = { scheduled(options: { scheduledTime: Date; cron: string }): Promise<unknown> };
    await (exports.default as unknown as Scheduler).scheduled({ scheduledTime, cron: ALERT_CRON });

    const list = await request('/admin/alerts?state=firing', { key: TEST_ADMIN_KEY });
    expect(list.status).toBe(200);
    const { alerts } = (await list.json()) as { alerts: Alert[] };
    expect(alerts.every((a) => a.state === 'firing')).toBe(true);
    const unmapped = alerts.find((a) => a.rule === 'unmapped_share');
    expect(unmapped).toMatchObject({ severity: 'warning', labels: {}, last_seen: scheduledTime.toISOString(), silenced_until: null });
    expect(unmapped!.summary).toContain(`of ${day}`);

    const until = '2027-06-16T08:00:00+02:00';
    const silenced = await request(`/admin/alerts/${unmapped!.fingerprint}/silence`, {
      key: TEST_ADMIN_KEY,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ until, note: 'the directory sync is being fixed' }),
    });
    expect(silenced.status).toBe(200);
    expect(await silenced.json()).toMatchObject({
      fingerprint: unmapped!.fingerprint,
      silenced_until: '2027-06-16T06:00:00.000Z',
      silence_note: 'the directory sync is being fixed',
    });

    const page = await request('/operator', { key: TEST_ADMIN_KEY });
    const html = await page.text();
    expect(html).toContain('<section id="alerts">');
    expect(html).toContain(`data-alert="${unmapped!.fingerprint}" data-state="firing" data-rule="unmapped_share"`);
    expect(html.indexOf('<section id="collection">')).toBeGreaterThan(html.indexOf('<section id="alerts">'));
  });

  it('GET /admin/alerts needs the operator key and a known state', async () => {
    expect((await request('/admin/alerts', { key: TEST_READ_KEY })).status).toBe(401);
    const bad = await request('/admin/alerts?state=angry', { key: TEST_ADMIN_KEY });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ code: 'validation_failed', errors: [expect.objectContaining({ path: 'state' })] });
    const resolved = await request('/admin/alerts?state=resolved', { key: TEST_ADMIN_KEY });
    expect(((await resolved.json()) as { alerts: Alert[] }).alerts.every((a) => a.state === 'resolved')).toBe(true);
  });

  it('a silence names its field when it is wrong, and 404s an unknown alert', async () => {
    const post = (fingerprint: string, body: unknown, key = TEST_ADMIN_KEY) =>
      request(`/admin/alerts/${fingerprint}/silence`, {
        key,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const unknown = 'ab'.repeat(32);
    expect((await post(unknown, { until: '2027-01-01T00:00:00Z', note: 'x' }, TEST_READ_KEY)).status).toBe(401);
    const notFound = await post(unknown, { until: '2027-01-01T00:00:00Z', note: 'x' });
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ code: 'not_found' });
    const badFingerprint = await post('not-a-fingerprint', { until: '2027-01-01T00:00:00Z', note: 'x' });
    expect(badFingerprint.status).toBe(422);
    expect(await badFingerprint.json()).toMatchObject({ errors: [expect.objectContaining({ path: 'fingerprint' })] });
    const badBody = await post(unknown, { until: 'tomorrow', note: '' });
    expect(badBody.status).toBe(422);
    expect(((await badBody.json()) as { errors: { path: string }[] }).errors.map((e) => e.path).sort()).toEqual(['note', 'until']);
  });
});

describe('a grant passing 80 % and 100 % (the directory’s balances)', () => {
  const admin = (method: string, path: string, body: unknown) =>
    request(path, { key: TEST_ADMIN_KEY, method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('fires allocation_share at warning, then critical, and /metrics shows the share', async () => {
    const project = { id: uniqueId('gp'), name: uniqueId('gproj') };
    expect((await admin('PUT', '/directory/projects', { projects: [project] })).status).toBe(200);
    const allocation = {
      id: uniqueId('ga'),
      project_id: project.id,
      kind: 'hpc',
      valid_from: '2026-01-01T00:00:00Z',
      grants: { cpu_core_seconds: 1000 },
    };
    expect((await admin('PUT', '/directory/allocations', { allocations: [allocation] })).status).toBe(200);
    const username = uniqueId('guser');
    expect((await admin('PUT', '/directory/users', { users: [{ id: uniqueId('gu'), username }] })).status).toBe(200);
    const event = (start: string, cpu: number) =>
      makeEvent({
        project: project.name,
        identities: [{ scheme: 'perun_username' as const, value: username }],
        time_window_start: start,
        time_window_end: new Date(Date.parse(start) + 3_600_000).toISOString(),
        collected_at: '2026-02-01T00:00:00Z',
        metrics: { cpu_core_seconds: cpu },
      });
    type Scheduler = { scheduled(options: { scheduledTime: Date; cron: string }): Promise<unknown> };
    const evaluate = () => (exports.default as unknown as Scheduler).scheduled({ scheduledTime: new Date(), cron: ALERT_CRON });
    const mine = async () => {
      const { alerts } = (await (await request('/admin/alerts?state=firing', { key: TEST_ADMIN_KEY })).json()) as { alerts: Alert[] };
      return alerts.filter((a) => a.rule === 'allocation_share' && a.labels.allocation_id === allocation.id);
    };
    const linked = async (used: number) => {
      for (let i = 0; i < 100; i++) {
        const res = await request(`/allocations/${encodeURIComponent(allocation.id)}/balance`, { key: TEST_READ_KEY });
        const body = (await res.json()) as { metrics: { cpu_core_seconds: { used: number } } };
        if (body.metrics.cpu_core_seconds.used === used) return;
        await new Promise((r) => setTimeout(r, 150));
      }
      throw new Error(`the balance never reached ${used}`);
    };

    expect((await postEvents({ events: [event('2026-01-03T00:00:00Z', 850)] })).status).toBe(200);
    await linked(850);
    await evaluate();
    expect((await mine()).map((a) => [a.severity, a.labels.metric, a.labels.threshold])).toEqual([['warning', 'cpu_core_seconds', '0.8']]);

    const scrape = await (await request('/metrics', { key: TEST_READ_KEY })).text();
    const share = new RegExp(`^zeus_allocation_used_share\\{[^}]*allocation_id="${allocation.id}"[^}]*\\} 0\\.85$`, 'm');
    expect(scrape).toMatch(share);

    expect((await postEvents({ events: [event('2026-01-04T00:00:00Z', 200)] })).status).toBe(200);
    await linked(1050);
    await evaluate();
    expect((await mine()).map((a) => a.severity).sort()).toEqual(['critical', 'warning']);
  });
});

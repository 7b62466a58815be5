/**
 * The operator page in a real browser with the network cut: headless Chromium against the real Worker
 * under `wrangler dev`, every request to a host other than loopback blocked and recorded. Usage of a
 * project of its own on five days is sent through the ingest API and mapped by the real queue
 * consumer; then the operator signs in through the form and the chart must hold one bar per day.
 */
import { sql } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type Database } from '../../../src/db/client.ts';
import { openGuardedPage, startWorkerAndBrowser } from '../../support/browser.ts';
import { makeAllocation, makeProject, makeUser } from '../../support/directory.ts';
import { makeEvent, uniqueId } from '../../support/events.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY } from '../../support/keys.ts';
import type { WranglerDev } from '../../support/wrangler-dev.ts';

let worker: WranglerDev;
let browser: Browser;
let stop: (() => Promise<void>) | undefined;
let db: Database;

beforeAll(async () => {
  db = createDb({ DATABASE_URL: inject('databaseUrl'), DATABASE_HTTP_URL: inject('gatewaySqlUrl') });
  ({ worker, browser, stop } = await startWorkerAndBrowser());
}, 90_000);

afterAll(() => stop?.());

const DAY_MS = 86_400_000;
const dayAt = (offset: number) =>
  new Date(Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`) + offset * DAY_MS).toISOString().slice(0, 10);

/** A cluster of its own with a project's usage on these days (offsets from today), its links resolved. */
async function usageOnDays(offsets: number[]) {
  const cluster = uniqueId('browser-op');
  const user = await makeUser(db);
  const project = await makeProject(db, { name: uniqueId('browser-proj') });
  await makeAllocation(db, project.id);
  const events = offsets.map((offset, i) => {
    const start = `${dayAt(offset)}T00:00:00Z`;
    return makeEvent({
      time_window_start: start,
      time_window_end: new Date(Date.parse(start) + DAY_MS).toISOString(),
      collected_at: new Date(Date.parse(start) + DAY_MS + 3600_000).toISOString(),
      metrics: { cpu_core_seconds: 3600 * (i + 1) },
      identities: [{ scheme: 'perun_username', value: user.username!, authority: 'demo.local' }],
      context: { cluster, project: project.name, jobname: 'daily', job_count: 1 },
    });
  });
  const res = await fetch(`${worker.origin}/collector/resource-usage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-zeus-collector-key': TEST_COLLECTOR_KEY },
    body: JSON.stringify({ events }),
  });
  expect(res.status).toBe(200);
  const ids = ((await res.json()) as { events: { id: string }[] }).events.map((e) => e.id);
  // The Worker's own mapping consumer links them (queue batches wait up to a second).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { rows } = await db.execute<{ resolved: number }>(sql`
      SELECT count(*)::int AS resolved FROM resource_usage_event_links
      WHERE event_id::text IN (${sql.join(
        ids.map((id) => sql`${id}`),
        sql`, `,
      )}) AND status = 'resolved'`);
    if (rows[0]!.resolved === ids.length) break;
    if (Date.now() > deadline) throw new Error(`only ${rows[0]!.resolved} of ${ids.length} links resolved`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { cluster, project: project.name, days: offsets.map(dayAt).sort() };
}

describe('the operator page, network cut to loopback', () => {
  it('signs in through the form and shows one bar per day with usage, with no outside request, error or CSP violation', {
    timeout: 90_000,
  }, async () => {
    const data = await usageOnDays([-24, -16, -11, -7, -3]);
    const s = await openGuardedPage(browser);
    try {
      const page = `/operator?${new URLSearchParams({ cluster: data.cluster })}`;
      const first = await s.page.goto(`${worker.origin}${page}`);
      expect(first?.status()).toBe(200);
      const key = s.page.locator('form[action="/operator/sign-in"] input[name="key"]');
      expect(await key.getAttribute('type')).toBe('password');

      await key.fill(TEST_ADMIN_KEY);
      const signedIn = s.page.waitForURL(`${worker.origin}${page}`);
      await s.page.locator('form[action="/operator/sign-in"] button[type="submit"]').click();
      await signedIn;
      await s.page.locator('svg.chart').waitFor();

      // One bar per day with usage, each with its project's segment and a tooltip with the figures.
      const bars = s.page.locator('[data-day]');
      expect(await bars.count()).toBe(5);
      expect((await bars.evaluateAll((els) => els.map((e) => e.getAttribute('data-day')))).sort()).toEqual(data.days);
      const projects = await s.page.locator('g.bar rect.seg').evaluateAll((els) => els.map((e) => e.getAttribute('data-project')));
      expect(projects).toEqual(Array(5).fill(data.project));
      // The oldest day has the first event's 3600 core-seconds: 1 core-hour.
      expect(await s.page.locator(`g.bar[data-day="${data.days[0]}"] > title`).textContent()).toBe(
        `${data.days[0]}: 1 core-hours (3,600 core-seconds, 1 event)\n${data.project}: 1 core-hours`,
      );
      expect(await s.page.locator('table.legend tbody tr').count()).toBe(1);
      expect(await s.page.locator(`article.cluster[data-cluster="${data.cluster}"]`).count()).toBe(1);

      // The inline stylesheet was allowed by the CSP (its hash), and the cookie is out of the page's reach.
      expect(await s.page.evaluate<string>("getComputedStyle(document.querySelector('section')).borderTopLeftRadius")).toBe('8px');
      expect(await s.page.evaluate<string>('document.cookie')).toBe('');
      const cookies = await s.context.cookies();
      expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.path])).toEqual([['zeus_operator', true, 'Strict', '/operator']]);
      expect(cookies[0]!.value).not.toContain(TEST_ADMIN_KEY);

      expect(s.allowed).toEqual(expect.arrayContaining(['/operator', '/operator/sign-in']));
      expect(s.blocked).toEqual([]);
      expect(await s.cspViolations()).toEqual([]);
      expect(s.errors).toEqual([]);

      // Sign out: back to the form, the cookie gone.
      await s.page.locator('form[action="/operator/sign-out"] button').click();
      await s.page.locator('form[action="/operator/sign-in"] input[name="key"]').waitFor();
      expect(await s.context.cookies()).toEqual([]);
      expect(s.blocked).toEqual([]);
      expect(s.errors).toEqual([]);
    } finally {
      await s.context.close();
    }
  });

  it('a wrong key shows the form again with the message, and no cookie', async () => {
    const s = await openGuardedPage(browser);
    try {
      await s.page.goto(`${worker.origin}/operator`);
      await s.page.locator('input[name="key"]').fill(`${TEST_ADMIN_KEY}-wrong`);
      const answer = s.page.waitForResponse((r) => new URL(r.url()).pathname === '/operator/sign-in');
      await s.page.locator('button[type="submit"]').click();
      expect((await answer).status()).toBe(401);
      expect(await s.page.locator('[role="alert"]').textContent()).toContain('not an operator key');
      expect(await s.page.locator('input[name="key"]').inputValue()).toBe('');
      expect(await s.context.cookies()).toEqual([]);
      expect(s.blocked).toEqual([]);
      expect(await s.cspViolations()).toEqual([]);
      // The browser reports the 401 itself; nothing else may go wrong.
      expect(s.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    } finally {
      await s.context.close();
    }
  });
});

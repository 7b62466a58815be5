/**
 * The operator page's Allocations section in a real browser with the network cut (headless Chromium against the
 * real Worker under `wrangler dev`): a project's grant loaded through the directory API, its usage sent through
 * ingest and mapped by the real queue consumer; the bar must be drawn at the share used, with both marks, under
 * the page's CSP (no style attribute, no script).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGuardedPage, startWorkerAndBrowser } from '../../support/browser.ts';
import { makeEvent, uniqueId } from '../../support/events.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY } from '../../support/keys.ts';
import type { WranglerDev } from '../../support/wrangler-dev.ts';

let worker: WranglerDev;
let browser: Browser;
let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ worker, browser, stop } = await startWorkerAndBrowser());
}, 90_000);
afterAll(() => stop?.());

const today = new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.parse(`${today}T00:00:00Z`) - n * 86_400_000).toISOString();

async function api(method: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${worker.origin}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json() as Promise<Record<string, unknown>>;
}

describe('the operator page — allocations, network cut to loopback', () => {
  it('draws the bar of a grant 85 % used between its 80 % and 100 % marks', { timeout: 90_000 }, async () => {
    const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
    const project = { id: uniqueId('br-p'), name: uniqueId('br-proj') };
    const allocation = uniqueId('br-a');
    const username = uniqueId('br-user');
    await api('PUT', '/directory/projects', { projects: [project] }, admin);
    await api('PUT', '/directory/users', { users: [{ id: uniqueId('br-u'), username }] }, admin);
    await api(
      'PUT',
      '/directory/allocations',
      { allocations: [{ id: allocation, project_id: project.id, kind: 'hpc', valid_from: daysAgo(10), grants: { cpu_core_seconds: 36_000 } }] },
      admin,
    );
    await api(
      'POST',
      '/collector/resource-usage',
      {
        events: [
          makeEvent({
            time_window_start: daysAgo(2),
            time_window_end: daysAgo(1),
            collected_at: new Date().toISOString(),
            identities: [{ scheme: 'perun_username', value: username }],
            context: { cluster: uniqueId('br-cluster'), project: project.name, jobname: 'd' },
            metrics: { cpu_core_seconds: 30_600 },
          }),
        ],
      },
      { 'x-zeus-collector-key': TEST_COLLECTOR_KEY },
    );
    // The Worker's own mapping consumer links the event; the balance shows it.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${worker.origin}/allocations/${allocation}/balance`, { headers: admin });
      const balance = (await res.json()) as { metrics: { cpu_core_seconds: { used: number } } };
      if (balance.metrics.cpu_core_seconds.used === 30_600) break;
      if (Date.now() > deadline) throw new Error('the event was not charged to the allocation');
      await new Promise((r) => setTimeout(r, 250));
    }

    const s = await openGuardedPage(browser);
    try {
      await s.page.goto(`${worker.origin}/operator`);
      await s.page.locator('input[name="key"]').fill(TEST_ADMIN_KEY);
      await s.page.locator('form[action="/operator/sign-in"] button[type="submit"]').click();
      const row = s.page.locator(`tr[data-allocation="${allocation}"][data-metric="cpu_core_seconds"]`);
      await row.waitFor();
      expect(await row.locator('td.num').textContent()).toBe('85 %');
      // Drawn, at its width: the used part ends between the two marks.
      const box = async (selector: string) => (await row.locator(selector).boundingBox())!;
      const [used, m80, m100] = [await box('rect.used'), await box('line.mark-80'), await box('line.mark-100')];
      expect(used.width).toBeGreaterThan(0);
      expect(used.x + used.width).toBeGreaterThan(m80.x);
      expect(used.x + used.width).toBeLessThan(m100.x);
      expect(await s.page.evaluate<string>(`getComputedStyle(document.querySelector('tr[data-allocation="${allocation}"] rect.used')).fill`)).toBe(
        'rgb(212, 167, 44)',
      );
      expect(s.blocked).toEqual([]);
      expect(await s.cspViolations()).toEqual([]);
      expect(s.errors).toEqual([]);
    } finally {
      await s.context.close();
    }
  });
});

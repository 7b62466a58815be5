/**
 * The /doc explorer in a real browser with the network cut: headless Chromium (Debian's package, see
 * .ci/run) against the real Worker under `wrangler dev`, every request to a host other than loopback
 * blocked and recorded. Then an event sent through the page's own UI (Authorize, Try it out, Execute)
 * must come back 200 and be in the database.
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type GuardedPage, openGuardedPage, startWorkerAndBrowser } from '../../support/browser.ts';
import { makeEvent, uniqueId } from '../../support/events.ts';
import { TEST_COLLECTOR_KEY } from '../../support/keys.ts';
import type { WranglerDev } from '../../support/wrangler-dev.ts';

let worker: WranglerDev;
let browser: Browser;
let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ worker, browser, stop } = await startWorkerAndBrowser());
}, 90_000);

afterAll(() => stop?.());

/** A fresh browser context with the network cut to loopback (support/browser.ts), on the explorer page. */
async function openExplorer(): Promise<GuardedPage> {
  const s = await openGuardedPage(browser);
  const res = await s.page.goto(`${worker.origin}/doc`);
  expect(res?.status()).toBe(200);
  await s.page.locator('.swagger-ui .info .title').waitFor();
  return s;
}

/** The operation block for `METHOD path` on the page. */
const operation = (page: Page, method: string, path: string) =>
  page.locator(`.opblock.opblock-${method}`, {
    has: page.locator('.opblock-summary-path', { hasText: new RegExp(`^${path.replace(/[/-]/g, '\\$&')}$`) }),
  });

describe('the /doc explorer, network cut to loopback', () => {
  it('renders the API from same-origin files only, with no CSP violation', async () => {
    const s = await openExplorer();
    try {
      expect(await s.page.locator('.swagger-ui .info .title').textContent()).toContain('Zeus resource usage API');
      await operation(s.page, 'get', '/health').waitFor();
      await s.page.locator('.auth-wrapper button.authorize').waitFor();
      expect(s.allowed).toEqual(
        expect.arrayContaining(['/doc', '/openapi.json', expect.stringMatching(/^\/doc\/assets\/.+\/swagger-ui-bundle\.js$/)]),
      );
      expect(s.blocked).toEqual([]);
      expect(await s.cspViolations()).toEqual([]);
      expect(s.errors).toEqual([]);
    } finally {
      await s.context.close();
    }
  });

  it('sends an event through Authorize, Try it out and Execute; the 200 shown means it is stored', { timeout: 60_000 }, async () => {
    const s = await openExplorer();
    try {
      const ingest = operation(s.page, 'post', '/collector/resource-usage');
      await ingest.waitFor();
      expect(await ingest.locator('.opblock-summary-method').textContent()).toBe('POST');

      // Authorize with the collector key.
      await s.page.locator('.auth-wrapper button.authorize').click();
      const modal = s.page.locator('.dialog-ux .modal-ux');
      const collectorForm = modal.locator('form', { hasText: 'collectorKey' });
      await collectorForm.locator('input').first().fill(TEST_COLLECTOR_KEY);
      await collectorForm.locator('button.authorize[type="submit"]').click();
      await collectorForm.locator('button', { hasText: 'Logout' }).waitFor();
      await modal.locator('button.btn-done').first().click();

      // Try it out with a one-event body of its own project.
      const project = uniqueId('explorer');
      const event = makeEvent({ project });
      await ingest.locator('.opblock-summary').click();
      await ingest.locator('button.try-out__btn').click();
      await ingest.locator('textarea.body-param__text').fill(JSON.stringify({ events: [event] }, null, 2));
      const sent = s.page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/collector/resource-usage');
      await ingest.locator('button.execute').click();
      const response = await sent;
      expect(response.request().headers()['x-zeus-collector-key']).toBe(TEST_COLLECTOR_KEY);
      expect(new URL(response.url()).origin).toBe(worker.origin);

      // What the page shows.
      const shown = ingest.locator('.live-responses-table .response');
      await shown.locator('.response-col_status').waitFor();
      expect((await shown.locator('.response-col_status').textContent())?.trim()).toBe('200');
      const body = (await response.json()) as { inserted: number; events: { id: string; outcome: string }[] };
      expect(body).toMatchObject({ inserted: 1, events: [{ index: 0, outcome: 'inserted' }] });
      expect(await shown.locator('.response-col_description').textContent()).toContain(body.events[0]!.id);

      // What the database holds.
      neonConfig.fetchEndpoint = inject('gatewaySqlUrl');
      const sql = neon(inject('databaseUrl'));
      const rows = await sql`
        SELECT id::text, source, time_window_start, context
        FROM resource_usage_events WHERE context->>'project' = ${project}`;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ id: body.events[0]!.id, source: event.source, context: event.context });
      expect((rows[0]!.time_window_start as Date).toISOString()).toBe(event.time_window_start);

      expect(s.blocked).toEqual([]);
      expect(await s.cspViolations()).toEqual([]);
      expect(s.errors).toEqual([]);
    } finally {
      await s.context.close();
    }
  });
});

/**
 * Headless Chromium for the browser tests, with the network cut: Debian's package at /usr/bin/chromium
 * where it is installed, else the headless shell that the `@sparticuz/chromium` devDependency ships
 * (unpacked to the temp directory on first use; it needs no system libraries, so `npm test` runs on a
 * fresh machine). Every request to a host other than loopback is aborted before it leaves the browser,
 * and recorded, as are page errors, console errors and Content-Security-Policy violations.
 */
import { existsSync } from 'node:fs';
import sparticuz from '@sparticuz/chromium';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY } from './keys.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumPath(), args: CHROMIUM_FLAGS, headless: true });
}

/** Debian's Chromium where it exists, else the npm-shipped headless shell (same flags for both). */
export async function chromiumPath(): Promise<string> {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  return sparticuz.executablePath();
}

/** The real Worker under `wrangler dev` on the test database, and Chromium beside it. */
export interface WorkerInBrowser {
  worker: WranglerDev;
  browser: Browser;
  stop(): Promise<void>;
}

/**
 * Start both at once (the Worker with the test keys, against the global setup's gateway). If either
 * fails, the other is stopped before the error is thrown: an orphaned workerd spins on a core.
 */
export async function startWorkerAndBrowser(): Promise<WorkerInBrowser> {
  const [started, launched] = await Promise.allSettled([
    startWranglerDev({
      DATABASE_URL: inject('databaseUrl'),
      DATABASE_HTTP_URL: inject('gatewaySqlUrl'),
      COLLECTOR_API_KEY: TEST_COLLECTOR_KEY,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    }),
    launchChromium(),
  ]);
  if (started.status === 'rejected' || launched.status === 'rejected') {
    await Promise.allSettled([started.status === 'fulfilled' && started.value.stop(), launched.status === 'fulfilled' && launched.value.close()]);
    throw started.status === 'rejected' ? started.reason : (launched as PromiseRejectedResult).reason;
  }
  const worker = started.value;
  const browser = launched.value;
  return {
    worker,
    browser,
    stop: async () => {
      await browser.close();
      await worker.stop();
    },
  };
}

export interface GuardedPage {
  context: BrowserContext;
  page: Page;
  /** Requests to anything but loopback: aborted before they left the browser. */
  blocked: string[];
  /** Paths of the loopback requests let through (proof that the route saw the traffic). */
  allowed: string[];
  /** Uncaught page errors and console errors. */
  errors: string[];
  cspViolations(): Promise<string[]>;
}

/** A fresh browser context with the network cut to loopback, and a blank page in it. */
export async function openGuardedPage(browser: Browser): Promise<GuardedPage> {
  const context = await browser.newContext();
  context.setDefaultTimeout(10_000);
  const blocked: string[] = [];
  const allowed: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (LOOPBACK.has(url.hostname)) {
      allowed.push(url.pathname);
      return route.continue();
    }
    blocked.push(url.href);
    return route.abort('blockedbyclient');
  });
  // Runs in the page before its own scripts (a string: this project's types have no DOM).
  await context.addInitScript({
    content: `window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`,
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  const cspViolations = () => page.evaluate<string[]>('window.cspViolations');
  return { context, page, blocked, allowed, errors, cspViolations };
}

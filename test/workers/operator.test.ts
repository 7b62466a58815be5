/**
 * The operator page through the real Worker: signing in and out (session cookie, CSRF, refusals),
 * and what the page shows for rows each test makes (collection runs and watermark, unresolved
 * links by reason, the core-hours chart), every value escaped. HTML is read with workerd's
 * HTMLRewriter, a real HTML parser.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { UsageEventInput } from '../../src/contracts/usage-event.ts';
import { plannableDays, recordRun } from '../../src/db/queries/collection.ts';
import type { NewCollectionRun } from '../../src/db/schema/collection.ts';
import { escapeHtml } from '../support/html.ts';
import { issueSession } from '../../src/http/routes/operator/session.ts';
import { makeAllocation, makeProject, makeUser } from '../support/directory.ts';
import { makeEvent, uniqueId } from '../support/events.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY } from '../support/keys.ts';
import { db, postEvents, waitForLinks } from './helpers.ts';

const ORIGIN = 'http://worker.test';

function request(path: string, init: RequestInit & { cookie?: string; origin?: string } = {}) {
  const { cookie, origin = ORIGIN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (cookie) headers.set('cookie', cookie);
  return exports.default.fetch(`${origin}${path}`, { ...rest, headers, redirect: 'manual' });
}

function postForm(path: string, fields: Record<string, string>, init: { headers?: Record<string, string>; origin?: string } = {}) {
  return request(path, {
    method: 'POST',
    origin: init.origin ?? ORIGIN,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...init.headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** The session cookie a response sets: `name=value`, and the whole Set-Cookie line. */
function sessionCookie(res: Response): { pair: string; line: string } | undefined {
  const line = res.headers.getAll('set-cookie').find((l) => l.startsWith('zeus_operator='));
  return line ? { pair: line.split(';')[0]!, line } : undefined;
}

/** The page as the operator key sees it (Bearer). */
async function pageHtml(query = ''): Promise<string> {
  const res = await request(`/operator${query}`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
  expect(res.status).toBe(200);
  return res.text();
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s: string) =>
  s.replace(/&(#\d+|#x[0-9a-f]+|\w+);/gi, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(/^#x/i.test(e) ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e] ?? m),
  );

interface Element {
  attrs: Record<string, string>;
  /** Every text inside it, decoded as a browser shows it. */
  text: string;
}

/** The elements matching a CSS selector, in document order. */
async function select(html: string, selector: string): Promise<Element[]> {
  const found: Element[] = [];
  const open: Element[] = [];
  await new HTMLRewriter()
    .on(selector, {
      element(e) {
        const el: Element = { attrs: Object.fromEntries([...e.attributes].map(([k, v]) => [k ?? '', decode(v ?? '')])), text: '' };
        found.push(el);
        try {
          e.onEndTag(() => void open.splice(open.indexOf(el), 1));
          open.push(el);
        } catch {
          // a void or self-closing element: it has no content
        }
      },
      text(t) {
        for (const el of open) el.text += decode(t.text);
      },
    })
    .transform(new Response(html))
    .text();
  return found;
}

const isSignInForm = async (html: string) => (await select(html, 'form[action="/operator/sign-in"] input[type="password"][name="key"]')).length === 1;

describe('operator page — signing in', () => {
  it('without a session shows only the sign-in form, under a strict CSP that allows no script and no other origin', async () => {
    const res = await request('/operator');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(await isSignInForm(html)).toBe(true);
    expect(await select(html, 'section#collection, section#usage, svg')).toEqual([]);
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...v]) => [name, v]),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('style-src')).toEqual([expect.stringMatching(/^'sha256-[A-Za-z0-9+/]{43}='$/)]);
    expect(directives.get('form-action')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.has('script-src')).toBe(false);
    expect(csp).not.toMatch(/https?:|\*|unsafe-/);
    // No outside reference anywhere in the page, no script.
    expect(html).not.toMatch(/<script|\b(?:src|href)="(?:https?:)?\/\//i);
  });

  it('a wrong key answers the form again with 401 and a message, sets no cookie and never repeats the key', async () => {
    const wrong = `${TEST_ADMIN_KEY}-wrong-${uniqueId()}`;
    for (const key of [wrong, TEST_COLLECTOR_KEY]) {
      const res = await postForm('/operator/sign-in', { key, cluster: 'c1' });
      expect(res.status).toBe(401);
      expect(res.headers.getAll('set-cookie')).toEqual([]);
      const html = await res.text();
      expect(await isSignInForm(html)).toBe(true);
      expect((await select(html, '[role="alert"]'))[0]?.text).toContain('not an operator key');
      expect(html).not.toContain(key);
      expect(html).not.toContain(TEST_ADMIN_KEY);
      expect((await select(html, 'input[name="cluster"]'))[0]?.attrs.value).toBe('c1');
    }
    const empty = await postForm('/operator/sign-in', { key: '' });
    expect(empty.status).toBe(401);
    expect(empty.headers.getAll('set-cookie')).toEqual([]);
  });

  it('the right key sets an HttpOnly, SameSite=Strict cookie on /operator that does not hold the key, and goes back to the page', async () => {
    const res = await postForm('/operator/sign-in', { key: TEST_ADMIN_KEY, cluster: 'a b&c' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/operator?cluster=a+b%26c');
    const cookie = sessionCookie(res)!;
    const attributes = cookie.line.split(';').map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/operator', 'max-age=43200']));
    expect(attributes).not.toContain('secure'); // plain http here; see the https case
    expect(cookie.pair).not.toContain(TEST_ADMIN_KEY);
    expect(cookie.pair).toMatch(/^zeus_operator=v1\.\d{10}\.[\w-]{22}\.[\w-]{43}$/);

    const page = await request('/operator', { cookie: cookie.pair });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(await isSignInForm(html)).toBe(false);
    expect(await select(html, 'form[action="/operator/sign-out"]')).toHaveLength(1);
  });

  it('over https the cookie is also Secure', async () => {
    const res = await postForm('/operator/sign-in', { key: TEST_ADMIN_KEY }, { origin: 'https://worker.test' });
    expect(res.status).toBe(303);
    expect(
      sessionCookie(res)!
        .line.split(';')
        .map((a) => a.trim().toLowerCase()),
    ).toContain('secure');
  });

  it('refuses a tampered, expired or rotated-out session cookie with 401, the form, and clears it', async () => {
    const valid = (await issueSession(TEST_ADMIN_KEY)).split('.');
    const last = valid[3]!;
    const tampered = [...valid.slice(0, 3), `${last[0] === 'A' ? 'B' : 'A'}${last.slice(1)}`].join('.');
    const longer = [valid[0], String(Number(valid[1]) + 86_400), valid[2], valid[3]].join('.');
    const expired = await issueSession(TEST_ADMIN_KEY, new Date(Date.now() - 13 * 3600_000));
    const otherKey = await issueSession('an-admin-key-no-longer-configured');
    for (const token of [tampered, longer, expired, otherKey, 'garbage', TEST_ADMIN_KEY]) {
      const res = await request('/operator', { cookie: `zeus_operator=${token}` });
      expect(res.status, token).toBe(401);
      const html = await res.text();
      expect(await isSignInForm(html)).toBe(true);
      expect((await select(html, '[role="alert"]'))[0]?.text).toContain('session has ended');
      expect(sessionCookie(res)?.line).toMatch(/^zeus_operator=;.*Max-Age=0/i);
    }
    expect((await request('/operator', { cookie: `zeus_operator=${valid.join('.')}` })).status).toBe(200);
  });

  it('refuses a sign-in or sign-out posted from another site (403, no cookie); accepts its own origin', async () => {
    const foreign: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of foreign) {
      const res = await postForm('/operator/sign-in', { key: TEST_ADMIN_KEY }, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.headers.getAll('set-cookie')).toEqual([]);
      expect((await select(await res.text(), '[role="alert"]'))[0]?.text).toContain('another site');
      expect((await postForm('/operator/sign-out', {}, { headers })).status).toBe(403);
    }
    const own = await postForm('/operator/sign-in', { key: TEST_ADMIN_KEY }, { headers: { origin: ORIGIN, 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(303);
  });

  it('refuses a form that is not url-encoded (415) or too large (413)', async () => {
    const json = await request('/operator/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: TEST_ADMIN_KEY }),
    });
    expect(json.status).toBe(415);
    const large = await postForm('/operator/sign-in', { key: TEST_ADMIN_KEY, pad: 'x'.repeat(5000) });
    expect(large.status).toBe(413);
    expect(large.headers.getAll('set-cookie')).toEqual([]);
  });

  it('sign-out clears the cookie and goes back to the form', async () => {
    const res = await postForm('/operator/sign-out', {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/operator');
    const line = sessionCookie(res)!.line;
    expect(line).toMatch(/^zeus_operator=;/);
    expect(line).toMatch(/Max-Age=0/i);
    expect(line).toMatch(/Path=\/operator/);
  });

  it('also answers to Authorization: Bearer with an operator key; any other key is 401', async () => {
    expect((await request('/operator', { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })).status).toBe(200);
    const res = await request('/operator', { headers: { authorization: `Bearer ${TEST_COLLECTOR_KEY}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await isSignInForm(await res.text())).toBe(true);
  });
});

const DAY_MS = 86_400_000;
/** The UTC day `offset` days from today. */
const dayAt = (offset: number) =>
  new Date(Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`) + offset * DAY_MS).toISOString().slice(0, 10);

function usageEvent(o: { cluster: string; project: string; offset: number; coreSeconds?: number; user?: string; jobname?: string }): UsageEventInput {
  const start = `${dayAt(o.offset)}T00:00:00Z`;
  return makeEvent({
    time_window_start: start,
    time_window_end: new Date(Date.parse(start) + DAY_MS).toISOString(),
    collected_at: new Date(Date.parse(start) + DAY_MS + 3600_000).toISOString(),
    metrics: o.coreSeconds === undefined ? { cpu_time_seconds: 10 } : { cpu_core_seconds: o.coreSeconds, cpu_time_seconds: 10 },
    identities: [{ scheme: 'perun_username', value: o.user ?? uniqueId('ghost'), authority: 'demo.local' }],
    context: { cluster: o.cluster, project: o.project, jobname: o.jobname ?? 'daily', job_count: 1 },
  });
}

describe('operator page — collection', () => {
  it('shows per cluster the watermark and the last runs with their counts, durations and errors, escaped', async () => {
    const cluster = `<script>alert("c")</script>&'${uniqueId('op')}`;
    await plannableDays(db, cluster, '2026-02-01', '2026-02-03', 7); // the watermark: 2026-01-31
    const run = (day: string, o: Partial<NewCollectionRun>): NewCollectionRun => ({
      cluster,
      day,
      trigger: 'cron',
      attempt: 1,
      status: 'succeeded',
      started_at: `${day}T02:15:00Z`,
      finished_at: `${day}T02:16:00Z`,
      duration_ms: 1200,
      jobs: 10,
      events: 4,
      inserted: 4,
      updated: 0,
      unchanged: 0,
      malformed: 0,
      skipped: 0,
      ...o,
    });
    await recordRun(db, run('2026-02-01', { duration_ms: 1200 }));
    await recordRun(db, run('2026-02-02', { duration_ms: 820, malformed: 3, skipped: 1, inserted: 1, updated: 2, unchanged: 1 }));
    const error = 'relay answered 502: <img src=x onerror="alert(1)">';
    await recordRun(
      db,
      run('2026-02-03', { status: 'failed', duration_ms: 65_000, jobs: 0, events: 0, inserted: 0, error, trigger: 'backfill', attempt: 2 }),
    );

    const html = await pageHtml(`?${new URLSearchParams({ cluster })}`);
    expect(html).not.toContain(cluster);
    expect(html).toContain(escapeHtml(cluster));
    expect(html).not.toContain('<img src=x');

    const blocks = await select(html, 'article.cluster');
    expect(blocks.map((b) => b.attrs['data-cluster'])).toEqual([cluster]);
    expect((await select(html, 'article.cluster h3'))[0]?.text).toBe(cluster);
    expect((await select(html, 'dd.watermark'))[0]?.text).toBe('2026-02-02');
    expect(blocks[0]!.text).toMatch(/days failed\s*1/);
    expect(blocks[0]!.text).toMatch(/not in RELAYS/);

    const rows = await select(html, 'tr[data-run]');
    expect(rows.map((r) => [r.attrs['data-run-day'], r.attrs['data-status']])).toEqual([
      ['2026-02-03', 'failed'],
      ['2026-02-02', 'succeeded'],
      ['2026-02-01', 'succeeded'],
    ]);
    const cells = await Promise.all(
      rows.map(async (r) => (await select(html, `tr[data-run="${r.attrs['data-run']}"] td`)).map((c) => c.text.trim())),
    );
    // day, started, trigger and attempt, status, duration, jobs, events, inserted / updated / unchanged, malformed, skipped
    expect(cells[0]).toEqual(['2026-02-03', '2026-02-03 02:15:00Z', 'backfill #2', 'failed', '1 min 5 s', '0', '0', '0 / 0 / 0', '0', '0']);
    expect(cells[1]).toEqual(['2026-02-02', '2026-02-02 02:15:00Z', 'cron #1', 'succeeded', '820 ms', '10', '4', '1 / 2 / 1', '3', '1']);
    expect(cells[2]!.slice(3, 5)).toEqual(['succeeded', '1.2 s']);
    // The failed run's error, right below it.
    const errors = await select(html, 'tr.run-error');
    expect(errors.map((e) => [e.attrs['data-run-error'], e.text.trim()])).toEqual([[rows[0]!.attrs['data-run'], `error: ${error}`]]);
  });

  it('shows at most the last 7 runs of a cluster, newest first, and every cluster in the unfiltered view', async () => {
    const cluster = uniqueId('op-many');
    for (let d = 1; d <= 9; d++) {
      const day = `2026-02-${String(d).padStart(2, '0')}`;
      await recordRun(db, {
        cluster,
        day,
        trigger: 'cron',
        attempt: 1,
        status: 'succeeded',
        started_at: `${day}T03:00:00Z`,
        finished_at: `${day}T03:00:01Z`,
        duration_ms: 10,
      });
    }
    const rows = await select(await pageHtml(`?cluster=${cluster}`), 'tr[data-run]');
    expect(rows.map((r) => r.attrs['data-run-day'])).toEqual(['09', '08', '07', '06', '05', '04', '03'].map((d) => `2026-02-${d}`));
    const all = await select(await pageHtml(), 'article.cluster');
    expect(all.filter((b) => b.attrs['data-cluster'] === cluster)).toHaveLength(1);
  });

  it('says what to do when a cluster has no data yet', async () => {
    const cluster = uniqueId('op-empty');
    const html = await pageHtml(`?cluster=${cluster}`);
    const empty = await select(html, 'section#empty');
    expect(empty).toHaveLength(1);
    expect(empty[0]!.text).toContain('No data yet');
    expect(empty[0]!.text).toContain(cluster);
    expect(empty[0]!.text).toContain('RELAYS');
    expect(empty[0]!.text).toContain('POST /collector/resource-usage');
    expect(await select(html, '[data-day], svg.chart')).toEqual([]);
  });
});

describe('operator page — unresolved links and core-hours', () => {
  it('counts unresolved links by reason and draws one bar per day with usage, unmapped usage included, figures exact', {
    timeout: 60_000,
  }, async () => {
    const cluster = uniqueId('op-usage');
    const user = await makeUser(db);
    const project = await makeProject(db, { name: `<b>"Evil" & 'co'</b> ${uniqueId('proj')}` });
    await makeAllocation(db, project.id);
    const mine = { cluster, project: project.name, user: user.username! };
    const events = [
      usageEvent({ ...mine, offset: -2, coreSeconds: 7200 }),
      usageEvent({ ...mine, offset: -5, coreSeconds: 5400, jobname: 'a' }),
      usageEvent({ ...mine, offset: -5, coreSeconds: 1800, jobname: 'b' }),
      usageEvent({ ...mine, offset: -14, coreSeconds: 3600 }),
      usageEvent({ ...mine, offset: -20, coreSeconds: 100 }),
      // unresolved: neither the user nor the project exists
      usageEvent({ cluster, project: uniqueId('nowhere'), offset: -9, coreSeconds: 3600 }),
      // partial: the user exists, the project does not
      usageEvent({ cluster, project: uniqueId('nowhere'), user: user.username!, offset: -14, coreSeconds: 1800 }),
      // no core-seconds, and outside the 30 days: no bar
      usageEvent({ ...mine, offset: -25 }),
      usageEvent({ ...mine, offset: -40, coreSeconds: 3600 }),
    ];
    const res = await postEvents({ events });
    expect(res.status).toBe(200);
    const ids = ((await res.json()) as { events: { id: string }[] }).events.map((e) => e.id);
    expect(await waitForLinks(ids, 20_000)).toHaveLength(ids.length);

    const html = await pageHtml(`?${new URLSearchParams({ cluster })}`);
    expect(html).not.toContain(project.name);
    expect(html).toContain(escapeHtml(project.name));

    // Unresolved links by status and by reason.
    const statuses = Object.fromEntries((await select(html, 'dd[data-status]')).map((d) => [d.attrs['data-status'], d.text]));
    expect(statuses).toEqual({ unresolved: '1', partial: '1' });
    const reasons = Object.fromEntries(
      (await select(html, 'tr[data-reason]')).map((r) => [`${r.attrs['data-part']}/${r.attrs['data-reason']}`, r.attrs['data-links']]),
    );
    expect(reasons).toEqual({ 'user/user_not_found': '1', 'project/project_not_found': '2', 'allocation/allocation_needs_project': '2' });

    // One bar per day with core-seconds, none for the others.
    const bars = await select(html, 'g.bar[data-day]');
    expect(bars.map((b) => b.attrs['data-day'])).toEqual([-20, -14, -9, -5, -2].map(dayAt));
    expect(await select(html, '[data-day]')).toHaveLength(5);
    const total = Object.fromEntries(bars.map((b) => [b.attrs['data-day'], Number(b.attrs['data-core-seconds'])]));
    expect(total).toEqual({ [dayAt(-20)]: 100, [dayAt(-14)]: 5400, [dayAt(-9)]: 3600, [dayAt(-5)]: 7200, [dayAt(-2)]: 7200 });

    // Tooltips with the exact figures: the bar's total, then each project's segment.
    const titles = await select(html, 'g.bar > title');
    expect(titles[1]!.text).toBe(
      `${dayAt(-14)}: 1.5 core-hours (5,400 core-seconds, 2 events)\n${project.name}: 1 core-hours\nunmapped: 0.5 core-hours`,
    );
    expect(titles[3]!.text).toContain(`${dayAt(-5)}: 2 core-hours (7,200 core-seconds, 2 events)`);
    const segments = await select(html, 'rect.seg');
    expect(segments.map((s) => [s.attrs['data-project'], s.text])).toEqual([
      [project.name, `${dayAt(-20)} · ${project.name}: 0.03 core-hours (100 core-seconds, 1 event)`],
      [project.name, `${dayAt(-14)} · ${project.name}: 1 core-hours (3,600 core-seconds, 1 event)`],
      ['unmapped', `${dayAt(-14)} · unmapped: 0.5 core-hours (1,800 core-seconds, 1 event)`],
      ['unmapped', `${dayAt(-9)} · unmapped: 1 core-hours (3,600 core-seconds, 1 event)`],
      [project.name, `${dayAt(-5)} · ${project.name}: 2 core-hours (7,200 core-seconds, 2 events)`],
      [project.name, `${dayAt(-2)} · ${project.name}: 2 core-hours (7,200 core-seconds, 1 event)`],
    ]);
    // Stacked: the unmapped segment sits on the project's.
    const [mineRect, unmappedRect] = (await select(html, `g.bar[data-day="${dayAt(-14)}"] rect`)).map((r) => r.attrs);
    expect(Number(unmappedRect!.y) + Number(unmappedRect!.height)).toBeCloseTo(Number(mineRect!.y), 1);
    expect(Number(mineRect!.height)).toBeCloseTo(2 * Number(unmappedRect!.height), 1);

    // Axes and the legend with every project's totals, unmapped last.
    const chart = await select(html, 'svg.chart');
    expect(chart).toHaveLength(1);
    expect(chart[0]!.text).toContain('core-hours');
    expect(chart[0]!.text).toContain(`UTC day (${dayAt(-29)} to ${dayAt(0)})`);
    const legend = await select(html, 'table.legend tbody tr');
    expect(legend.map((r) => [r.attrs['data-project'], Number(r.attrs['data-core-seconds'])])).toEqual([
      [project.name, 7200 + 5400 + 1800 + 3600 + 100],
      ['unmapped', 3600 + 1800],
    ]);
    const firstRow = (await select(html, 'table.legend tbody tr:first-child td')).map((c) => c.text.trim());
    expect(firstRow.slice(1)).toEqual([project.name, '5.03', '18,100', '5', '4']);
  });
});

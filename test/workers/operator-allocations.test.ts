/**
 * The operator page's Allocations section through the real Worker: bars of used vs granted with the 80 % and 100 %
 * marks, most used first, and the events waiting for a directory entry with what to add. HTML read with workerd's
 * HTMLRewriter (a real HTML parser).
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { IngestResponse } from '../../src/contracts/usage-event.ts';
import { makeEvent, uniqueId } from '../support/events.ts';
import { TEST_ADMIN_KEY } from '../support/keys.ts';
import { postEvents, waitForLinks } from './helpers.ts';

const ORIGIN = 'http://worker.test';
const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };

async function put(kind: string, body: unknown) {
  const res = await exports.default.fetch(`${ORIGIN}/directory/${kind}`, {
    method: 'PUT',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

type Element = { attrs: Record<string, string>; text: string };

async function select(html: string, selector: string): Promise<Element[]> {
  const found: Element[] = [];
  const open: Element[] = [];
  await new HTMLRewriter()
    .on(selector, {
      element(e) {
        const el: Element = { attrs: Object.fromEntries([...e.attributes].map(([k, v]) => [k ?? '', v ?? ''])), text: '' };
        found.push(el);
        try {
          e.onEndTag(() => void open.splice(open.indexOf(el), 1));
          open.push(el);
        } catch {
          // a void element
        }
      },
      text(t) {
        for (const el of open) el.text += t.text;
      },
    })
    .transform(new Response(html))
    .text();
  return found;
}

const today = new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.parse(`${today}T00:00:00Z`) - n * 86_400_000).toISOString();

describe('operator page — allocations', () => {
  it('bars per granted metric sorted by share used, with the 80 % and 100 % marks, and what to add for waiting events', async () => {
    const project = { id: uniqueId('op-p'), name: uniqueId('op-proj') };
    await put('projects', { projects: [project] });
    const [over, high] = [uniqueId('op-over'), uniqueId('op-high')];
    await put('allocations', {
      allocations: [
        // Most of the grant used (95 %) and far over it (the second project's, 10,000 %).
        { id: high, project_id: project.id, kind: 'hpc', valid_from: daysAgo(20), grants: { cpu_core_seconds: 36_000, gpu_time_seconds: 3600_000 } },
      ],
    });
    const other = { id: uniqueId('op-p'), name: uniqueId('op-proj') };
    await put('projects', { projects: [other] });
    await put('allocations', {
      allocations: [{ id: over, project_id: other.id, kind: 'hpc', valid_from: daysAgo(20), grants: { cpu_core_seconds: 36 } }],
    });
    const username = uniqueId('op-user');
    await put('users', { users: [{ id: uniqueId('op-u'), username }] });

    const cluster = uniqueId('op-cluster');
    const ghost = uniqueId('ghost');
    const missing = uniqueId('missing-proj');
    const event = (projectName: string, user: string, day: number, cpu: number) =>
      makeEvent({
        time_window_start: daysAgo(day),
        time_window_end: daysAgo(day - 1),
        collected_at: new Date().toISOString(),
        identities: [{ scheme: 'perun_username', value: user }],
        context: { cluster, project: projectName, jobname: 'd' },
        metrics: { cpu_core_seconds: cpu },
      });
    const sent = (await (
      await postEvents({
        events: [
          event(project.name, username, 3, 34_200),
          event(other.name, username, 3, 3600),
          event(missing, username, 4, 1),
          event(missing, username, 5, 1),
          event(project.name, ghost, 6, 1),
        ],
      })
    ).json()) as IngestResponse;
    await waitForLinks(sent.events.map((e) => e.id));

    const res = await exports.default.fetch(`${ORIGIN}/operator?cluster=${cluster}`, { headers: admin });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(await select(html, 'section#allocations')).toHaveLength(1);

    const rows = await select(html, 'table.allocations tr[data-allocation]');
    const mine = rows.filter((r) => [over, high].includes(r.attrs['data-allocation']!));
    expect(mine.map((r) => [r.attrs['data-allocation'], r.attrs['data-metric'], r.attrs.class])).toEqual([
      [over, 'cpu_core_seconds', 'level-over'],
      [high, 'cpu_core_seconds', 'level-high'],
      [high, 'gpu_time_seconds', 'level-ok'],
    ]);
    // Most used first, over the whole table.
    const shares = rows.map((r) => Number(r.attrs['data-share']));
    expect(rows.findIndex((r) => r.attrs['data-allocation'] === over)).toBeLessThan(rows.findIndex((r) => r.attrs['data-allocation'] === high));
    expect(Number(mine[0]!.attrs['data-share'])).toBe(100);
    expect(shares[0]).toBeGreaterThanOrEqual(100);
    expect(mine[1]!.text).toContain('9.5 core-h of 10 core-h');
    expect(mine[1]!.text).toContain('95 %');

    // Each bar: the used part and the two marks, at 80 % and 100 % of a scale that ends at 125 %.
    const bars = await select(html, `tr[data-allocation="${high}"] svg.grant-bar line`);
    expect(bars.slice(0, 2).map((l) => [l.attrs.class, l.attrs.x1])).toEqual([
      ['mark mark-80', '153.6'],
      ['mark mark-100', '192.0'],
    ]);
    const used = await select(html, `tr[data-allocation="${high}"][data-metric="cpu_core_seconds"] rect.used`);
    expect(used[0]!.attrs).toMatchObject({ class: 'used used-high', width: '182.4' });

    const waiting = await select(html, 'table.waiting tr[data-reason]');
    const byWhat = new Map(waiting.map((w) => [`${w.attrs['data-reason']} ${w.attrs['data-what']}`, w]));
    expect(byWhat.get(`project_not_found ${missing}`)?.attrs['data-events']).toBe('2');
    expect(byWhat.get(`project_not_found ${missing}`)?.text).toContain(`a project named ${missing} (PUT /directory/projects)`);
    expect(byWhat.get(`user_not_found perun_username ${ghost}`)?.text).toContain(`a user with perun_username ${ghost} (PUT /directory/users)`);
  });
});

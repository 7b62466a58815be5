/** The alert rules, fingerprints, webhook payloads and delivery outcomes: pure, on literal inputs. */
import { describe, expect, it } from 'vitest';
import { outcomeOf } from '../../../src/alerts/deliver.ts';
import { alertFingerprint } from '../../../src/alerts/fingerprint.ts';
import { jsonPayload, slackEscape } from '../../../src/alerts/notification.ts';
import { type AlertObservations, allocationAlerts, evaluateRules, lagDays } from '../../../src/alerts/rules.ts';
import type { AllocationShare } from '../../../src/reporting/allocation-balances.ts';

const quiet: AlertObservations = {
  lastCompleteDay: '2026-03-10',
  watermarks: [],
  deadLettered: [],
  relays: [],
  unmapped: { day: '2026-03-10', events: 0, not_resolved: 0 },
  allocations: [],
};
const thresholds = { lagDays: 2, unmappedShare: 0.05 };
const share = (used_share: number, over: Partial<AllocationShare> = {}): AllocationShare => ({
  allocation_id: 'alloc-1',
  project_id: 'proj-1',
  metric: 'cpu_core_seconds',
  granted: 1000,
  used: used_share * 1000,
  used_share,
  ...over,
});

describe('alert rules', () => {
  it('fire nothing when all is well', () => {
    expect(
      evaluateRules(
        {
          ...quiet,
          watermarks: [{ cluster: 'a', through_day: '2026-03-08' }],
          relays: [{ cluster: 'a', ok: true, detail: 'ok' }],
          unmapped: { day: '2026-03-10', events: 100, not_resolved: 5 },
        },
        thresholds,
      ),
    ).toEqual([]);
  });

  it('lag: more than ALERT_LAG_DAYS behind the last complete day; a cluster never planned is not judged', () => {
    expect(lagDays('2026-03-07', '2026-03-10')).toBe(3);
    const fired = evaluateRules(
      {
        ...quiet,
        watermarks: [
          { cluster: 'behind', through_day: '2026-03-07' },
          { cluster: 'edge', through_day: '2026-03-08' },
          { cluster: 'new', through_day: null },
        ],
      },
      thresholds,
    );
    expect(fired).toEqual([expect.objectContaining({ rule: 'collection_lag', labels: { cluster: 'behind' }, severity: 'warning' })]);
    expect(fired[0]!.summary).toContain('3 days behind 2026-03-10');
  });

  it('a dead-lettered day and a dead relay are critical, one alert each', () => {
    const fired = evaluateRules(
      {
        ...quiet,
        deadLettered: [{ cluster: 'a', day: '2026-03-04', attempts: 7 }],
        relays: [
          { cluster: 'a', ok: false, detail: 'HTTP 401' },
          { cluster: 'b', ok: true, detail: 'ok' },
        ],
      },
      thresholds,
    );
    expect(fired.map((f) => [f.rule, f.labels, f.severity])).toEqual([
      ['collection_dead_letter', { cluster: 'a', day: '2026-03-04' }, 'critical'],
      ['relay_down', { cluster: 'a' }, 'critical'],
    ]);
    expect(fired[1]!.summary).toContain('HTTP 401');
  });

  it('unmapped share: strictly more than ALERT_UNMAPPED_SHARE of the day, one alert whatever the day', () => {
    const at = (not_resolved: number) => evaluateRules({ ...quiet, unmapped: { day: '2026-03-10', events: 200, not_resolved } }, thresholds);
    expect(at(10)).toEqual([]);
    expect(at(11)).toEqual([expect.objectContaining({ rule: 'unmapped_share', labels: {} })]);
    expect(at(11)[0]!.summary).toContain('11 of 200 events of 2026-03-10 (5.5 %)');
  });

  it('allocation shares: a warning at 80 %, a critical one too at 100 %, nothing for an empty or absent grant', () => {
    expect(allocationAlerts([share(0.79)])).toEqual([]);
    expect(allocationAlerts([share(0.8)]).map((a) => [a.labels.threshold, a.severity])).toEqual([['0.8', 'warning']]);
    expect(allocationAlerts([share(1.25)]).map((a) => [a.labels.threshold, a.severity])).toEqual([
      ['0.8', 'warning'],
      ['1', 'critical'],
    ]);
    expect(allocationAlerts([share(Number.POSITIVE_INFINITY, { granted: 0 }), share(Number.NaN)])).toEqual([]);
    const [a] = allocationAlerts([share(0.9, { allocation_id: 'A-7', project_id: 'P-3', metric: 'gpu_time_seconds', used: 900 })]);
    expect(a).toMatchObject({
      rule: 'allocation_share',
      labels: { allocation_id: 'A-7', project_id: 'P-3', metric: 'gpu_time_seconds', threshold: '0.8' },
    });
    expect(a!.summary).toContain('90 % of its gpu_time_seconds grant (900 of 1000)');
    expect(evaluateRules({ ...quiet, allocations: [share(1)] }, thresholds)).toHaveLength(2);
  });
});

describe('fingerprints', () => {
  it('are the same for the same rule and labels in any order, and differ otherwise', async () => {
    const one = await alertFingerprint('relay_down', { cluster: 'a', site: 'x' });
    expect(one).toMatch(/^[0-9a-f]{64}$/);
    expect(await alertFingerprint('relay_down', { site: 'x', cluster: 'a' })).toBe(one);
    expect(await alertFingerprint('collection_lag', { cluster: 'a', site: 'x' })).not.toBe(one);
    expect(await alertFingerprint('relay_down', { cluster: 'a', site: 'y' })).not.toBe(one);
    // Label boundaries are not ambiguous.
    expect(await alertFingerprint('relay_down', { a: 'b=c' })).not.toBe(await alertFingerprint('relay_down', { 'a=b': 'c' }));
  });
});

describe('notifications', () => {
  it('the json payload holds what the issue promises', () => {
    const alert = {
      fingerprint: 'f',
      rule: 'relay_down' as const,
      state: 'firing' as const,
      severity: 'critical' as const,
      labels: { cluster: 'a' },
      summary: 's',
      first_seen: '2026-03-10T01:05:00.000Z',
      last_seen: '2026-03-10T02:05:00.000Z',
      resolved_at: null,
    };
    expect(Object.keys(jsonPayload(alert))).toEqual(
      expect.arrayContaining(['fingerprint', 'rule', 'state', 'labels', 'summary', 'first_seen', 'last_seen']),
    );
  });

  it('escapes Slack mrkdwn control characters', () => {
    expect(slackEscape('<!channel> & <http://x|y>')).toBe('&lt;!channel&gt; &amp; &lt;http://x|y&gt;');
  });

  it('retries 408, 429 and 5xx; any other 4xx is final', () => {
    expect([200, 204, 408, 429, 500, 503, 400, 401, 404, 410, 413].map(outcomeOf)).toEqual([
      'delivered',
      'delivered',
      'retry',
      'retry',
      'retry',
      'retry',
      'refused',
      'refused',
      'refused',
      'refused',
      'refused',
    ]);
  });
});

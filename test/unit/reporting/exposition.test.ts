/** The exposition renderer against a real parser of the format (parse-prometheus-text-format, prom2json's output). */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { escapeLabelValue, renderExposition } from '../../../src/reporting/exposition.ts';
import { allocationShareFamily, metricFamilies } from '../../../src/reporting/metrics.ts';

describe('Prometheus text exposition', () => {
  it('writes HELP and TYPE for every family and escapes what the format says, so a parser reads the values back', () => {
    const hostile = 'back\\slash "quoted"\nnew line';
    const text = renderExposition([
      { name: 'zeus_a', help: 'help with \\ and\na newline', type: 'gauge', samples: [{ labels: { cluster: hostile, n: 3 }, value: 1.5 }] },
      { name: 'zeus_b', help: 'empty family', type: 'gauge', samples: [] },
      {
        name: 'zeus_c',
        help: 'special values',
        type: 'gauge',
        samples: [{ value: Number.NaN }, { labels: { k: 'inf' }, value: Number.POSITIVE_INFINITY }],
      },
    ]);
    expect(text).toContain('# HELP zeus_a help with \\\\ and\\na newline\n# TYPE zeus_a gauge\n');
    expect(text).toContain(`zeus_a{cluster="${escapeLabelValue(hostile)}",n="3"} 1.5\n`);
    expect(text.endsWith('\n')).toBe(true);
    const parsed = parsePrometheusTextFormat(text);
    expect(parsed.map((f) => [f.name, f.type, f.metrics.length])).toEqual([
      ['zeus_a', 'GAUGE', 1],
      ['zeus_b', 'GAUGE', 0],
      ['zeus_c', 'GAUGE', 2],
    ]);
    expect(parsed[0]!.help).toBe('help with \\ and\na newline');
    expect(parsed[0]!.metrics[0]).toEqual({ value: '1.5', labels: { cluster: hostile, n: '3' } });
    expect(parsed[2]!.metrics.map((m) => m.value)).toEqual(['NaN', '+Inf']);
  });

  it('refuses a name the format does not allow', () => {
    expect(() => renderExposition([{ name: 'zeus-bad', help: '', type: 'gauge', samples: [] }])).toThrow(/metric name/);
    expect(() => renderExposition([{ name: 'zeus_ok', help: '', type: 'gauge', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] }])).toThrow(
      /label name/,
    );
  });

  it('the allocation family: one sample per allocation and granted metric, from literal shares', () => {
    const family = allocationShareFamily([
      { allocation_id: 'A-1', project_id: 'P-1', metric: 'cpu_core_seconds', granted: 100, used: 85, used_share: 0.85 },
      { allocation_id: 'A-1', project_id: 'P-1', metric: 'gpu_time_seconds', granted: 10, used: 12, used_share: 1.2 },
    ]);
    const [parsed] = parsePrometheusTextFormat(renderExposition([family]));
    expect(parsed!.metrics).toEqual([
      { value: '0.85', labels: { allocation_id: 'A-1', project_id: 'P-1', metric: 'cpu_core_seconds' } },
      { value: '1.2', labels: { allocation_id: 'A-1', project_id: 'P-1', metric: 'gpu_time_seconds' } },
    ]);
  });

  it('every family of an empty database still says what it is, and known label values appear at 0', () => {
    const families = metricFamilies({
      now: new Date('2026-03-11T12:00:00Z'),
      lastCompleteDay: '2026-03-10',
      clusters: [
        { cluster: 'a', through_day: '2026-03-07', queued: 1, failed: 2, last_status: 'failed', last_started_at: '2026-03-11T11:00:00.000Z' },
      ],
      events: [],
      links: [],
      alerts: [],
      allocations: [],
    });
    const text = renderExposition(families);
    for (const f of families) expect(text).toContain(`# TYPE ${f.name} gauge`);
    const parsed = Object.fromEntries(parsePrometheusTextFormat(text).map((f) => [f.name, f.metrics]));
    expect(parsed.zeus_collection_lag_days).toEqual([{ value: '3', labels: { cluster: 'a' } }]);
    expect(parsed.zeus_collection_last_run_success).toEqual([{ value: '0', labels: { cluster: 'a', status: 'failed' } }]);
    expect(parsed.zeus_collection_last_run_age_seconds).toEqual([{ value: '3600', labels: { cluster: 'a' } }]);
    expect(parsed.zeus_usage_events).toEqual([
      { value: '0', labels: { source: 'pbs', day: '2026-03-10' } },
      { value: '0', labels: { source: 'openstack', day: '2026-03-10' } },
    ]);
  });
});

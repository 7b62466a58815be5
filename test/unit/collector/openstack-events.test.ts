/** The OpenStack transform (src/collector/transform/openstack-events.ts): docs/architecture.md §5's metrics, pure. */
import { describe, expect, it } from 'vitest';
import { type InstanceRecord, InstanceRecordSchema } from '../../../src/contracts/instance-record.ts';
import { UsageEventSchema } from '../../../src/contracts/usage-event.ts';
import { OpenStackEventBuilder } from '../../../src/collector/transform/openstack-events.ts';

const H = 3600;
const t = (day: string, hours: number) => new Date(Date.parse(`${day}T00:00:00Z`) + hours * H * 1000).toISOString();

function record(
  over: Partial<InstanceRecord> & { id: string; spans: [string, number, number, InstanceRecord['intervals'][number]['state']][] },
): InstanceRecord {
  const { id, spans, ...rest } = over;
  return InstanceRecordSchema.parse({
    server_id: id,
    project_id: 'p-astro',
    project_name: 'astro-cloud',
    user_id: 'u1',
    name: id,
    flavor: { name: 'm1.large', vcpus: 4, ram_mb: 8192, disk_gb: 80, ephemeral_gb: 20, gpus: 0 },
    intervals: spans.map(([day, from, to, state]) => ({ start: t(day, from), end: t(day, to), state })),
    cpu_time_seconds: null,
    origin: { source: 'openstack', listing: 'changes-since', actions: 3 },
    ...rest,
  });
}

const D = '2026-03-02';

describe('OpenStack transform', () => {
  it('gives one event per (project, UTC day) with the held and running metrics of docs/architecture.md §5', () => {
    const b = new OpenStackEventBuilder({ cluster: 'cloud-a' });
    // 4 vCPUs, 8 GiB, 100 GiB: ACTIVE 6 h, SHUTOFF 4 h (held, not running), SHELVED 14 h (neither).
    b.add(
      record({
        id: 's1',
        spans: [
          [D, 0, 6, 'ACTIVE'],
          [D, 6, 10, 'SHUTOFF'],
          [D, 10, 24, 'SHELVED'],
        ],
      }),
    );
    // 2 GPUs, paused all day.
    b.add(
      record({ id: 's2', flavor: { name: 'g1', vcpus: 8, ram_mb: 65536, disk_gb: 100, ephemeral_gb: 0, gpus: 2 }, spans: [[D, 0, 24, 'PAUSED']] }),
    );
    // Another project, no name known.
    b.add(record({ id: 's3', project_id: 'p-gone', project_name: null, spans: [[D, 12, 24, 'ACTIVE']] }));
    const events = b.events('2026-03-03T01:00:00Z', { cpuMeasured: false });
    for (const e of events) UsageEventSchema.parse(e);
    expect(events).toEqual([
      {
        schema_version: '1.0',
        source: 'openstack',
        time_window_start: '2026-03-02T00:00:00.000Z',
        time_window_end: '2026-03-03T00:00:00.000Z',
        collected_at: '2026-03-03T01:00:00Z',
        metrics: {
          walltime_allocated: 10 * H + 24 * H,
          walltime_used: 6 * H,
          cpu_core_seconds: 4 * 10 * H + 8 * 24 * H,
          gpu_time_seconds: 2 * 24 * H,
          vcpus_allocated: (4 * 10 * H + 8 * 24 * H) / 86_400,
          ram_bytes_allocated: (8192 * 2 ** 20 * 10 * H + 65536 * 2 ** 20 * 24 * H) / 86_400,
          storage_bytes_allocated: (100 * 2 ** 30 * 10 * H + 100 * 2 ** 30 * 24 * H) / 86_400,
        },
        identities: [],
        context: { cluster: 'cloud-a', openstack_project_id: 'p-astro', project: 'astro-cloud', instance_count: 2 },
      },
      {
        schema_version: '1.0',
        source: 'openstack',
        time_window_start: '2026-03-02T00:00:00.000Z',
        time_window_end: '2026-03-03T00:00:00.000Z',
        collected_at: '2026-03-03T01:00:00Z',
        metrics: {
          walltime_allocated: 12 * H,
          walltime_used: 12 * H,
          cpu_core_seconds: 4 * 12 * H,
          gpu_time_seconds: 0,
          vcpus_allocated: 2,
          ram_bytes_allocated: (8192 * 2 ** 20) / 2,
          storage_bytes_allocated: (100 * 2 ** 30) / 2,
        },
        identities: [],
        context: { cluster: 'cloud-a', openstack_project_id: 'p-gone', instance_count: 1 },
      },
    ]);
  });

  it('never derives CPU time: only measured, only when every server that ran that day was measured', () => {
    const measured = new OpenStackEventBuilder({ cluster: 'c' });
    measured.add(record({ id: 'a', spans: [[D, 0, 24, 'ACTIVE']], cpu_time_seconds: 43_200 }));
    measured.add(record({ id: 'b', spans: [[D, 0, 24, 'SHUTOFF']], cpu_time_seconds: null })); // did not run: nothing to miss
    const [e] = measured.events('2026-03-03T01:00:00Z', { cpuMeasured: true });
    expect(e!.metrics).toMatchObject({ cpu_time_seconds: 43_200, used_cpu_percent: (100 * 43_200) / (4 * 86_400) });

    const partly = new OpenStackEventBuilder({ cluster: 'c' });
    partly.add(record({ id: 'a', spans: [[D, 0, 24, 'ACTIVE']], cpu_time_seconds: 43_200 }));
    partly.add(record({ id: 'c', spans: [[D, 0, 1, 'ACTIVE']], cpu_time_seconds: null })); // ran, unmeasured
    expect(partly.events('x', { cpuMeasured: true })[0]!.metrics).not.toHaveProperty('cpu_time_seconds');

    const off = new OpenStackEventBuilder({ cluster: 'c' });
    off.add(record({ id: 'b', spans: [[D, 0, 24, 'SHUTOFF']] }));
    const metrics = off.events('x', { cpuMeasured: false })[0]!.metrics;
    expect(metrics).not.toHaveProperty('cpu_time_seconds');
    expect(metrics).not.toHaveProperty('used_cpu_percent');
  });

  it('splits a record over UTC days, conserving held and running time; its measured CPU time cannot be split', () => {
    const b = new OpenStackEventBuilder({ cluster: 'c' });
    b.add(
      record({
        id: 'x',
        spans: [
          ['2026-03-01', 18, 24, 'ACTIVE'],
          [D, 0, 30, 'SUSPENDED'],
        ],
        cpu_time_seconds: 100,
      }),
    );
    const events = b.events('x', { cpuMeasured: true });
    expect(
      events.map((e) => [e.time_window_start.slice(0, 10), e.metrics.walltime_allocated, e.metrics.walltime_used, e.metrics.cpu_time_seconds]),
    ).toEqual([
      ['2026-03-01', 6 * H, 6 * H, undefined],
      ['2026-03-02', 24 * H, 0, 0],
      ['2026-03-03', 6 * H, 0, 0],
    ]);
    expect(b.totals).toEqual({ servers: 1, held: 36 * H, running: 6 * H });
  });

  it('a server shelved all day is no usage; the latest known project name wins', () => {
    const b = new OpenStackEventBuilder({ cluster: 'c' });
    b.add(record({ id: 's', spans: [[D, 0, 24, 'SHELVED']] }));
    expect(b.events('x', { cpuMeasured: false })).toEqual([]);
    b.add(record({ id: 'n1', project_name: null, spans: [[D, 0, 1, 'ACTIVE']] }));
    b.add(record({ id: 'n2', project_name: 'renamed', spans: [[D, 0, 1, 'ACTIVE']] }));
    expect(b.events('x', { cpuMeasured: false })[0]!.context).toEqual({
      cluster: 'c',
      openstack_project_id: 'p-astro',
      project: 'renamed',
      instance_count: 2,
    });
  });
});

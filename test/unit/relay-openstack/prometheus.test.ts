/**
 * Measured CPU time (src/relay/openstack/prometheus.ts): Prometheus' documented response envelopes
 * (success, error, warnings; test/fixtures/openstack/prometheus), and a real relay process reading a
 * stand-in's libvirt exporter series: sums of raw sample differences, a counter reset, a live
 * migration, a doubly scraped domain, and null whenever a query fails or warns.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstanceRecordSchema, InstanceStreamSummarySchema } from '../../../src/contracts/instance-record.ts';
import type { CloudCpuSeries } from '../../../src/local/openstack/model.ts';
import { addSample, measureCpuTimes } from '../../../src/relay/openstack/prometheus.ts';
import { at, instancesPath, type OpenStackRelay, ruleCases, rulesCloud, startOpenStackRelay } from '../../support/openstack-cloud.ts';
import { splitRelayStream } from '../../support/relay-process.ts';

const examples = JSON.parse(readFileSync(new URL('../../fixtures/openstack/prometheus/query-examples.json', import.meta.url), 'utf8')) as Record<
  'matrixResult' | 'vectorResult' | 'tsdbNotReady',
  Record<string, unknown>
>;

describe('sums of raw sample differences', () => {
  it('counts a difference in the window its later sample falls in, and a reset as the new value', () => {
    const state = { instance: 'h', domain: 'd', last: undefined, increase: 0 };
    addSample(state, 900, 100, 1000); // before the window: only a starting point
    addSample(state, 1000, 110, 1000); // +10
    addSample(state, 1100, 130, 1000); // +20
    addSample(state, 1200, 5, 1000); // reset: the counter restarted, 5 since then
    addSample(state, 1300, 9, 1000); // +4
    expect(state.increase).toBe(39);
  });
});

describe("Prometheus' documented envelopes", () => {
  let server: Server;
  let url = '';
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  const queries: URLSearchParams[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      queries.push(new URL(req.url ?? '/', 'http://x').searchParams);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const measure = () =>
    measureCpuTimes({ config: { url, sliceMs: 86_400_000 }, from: at(0), to: at(24), signal: new AbortController().signal, timeoutMs: 5000 });

  it('a success (the matrix example) is measured, asking raw samples without partial responses', async () => {
    answer = { status: 200, body: examples.matrixResult };
    const result = await measure();
    expect(result).toMatchObject({ status: 'measured', queries: 3 });
    // The example's `up` series carries no OpenStack domain: nothing to put on a server.
    expect(result.status === 'measured' && result.byServer.size).toBe(0);
    for (const q of queries) expect(q.get('partial_response')).toBe('false');
    expect(queries.at(-1)!.get('query')).toMatch(/^libvirt_domain_info_cpu_time_seconds_total\[\d+ms\]$/);
    expect(queries[0]!.get('query')).toMatch(/last_over_time\(libvirt_domain_openstack_info\[\d+ms\]\)/);
  });

  it('an error envelope (503, "TSDB not ready") makes the window unavailable, saying why', async () => {
    answer = { status: 503, body: examples.tsdbNotReady };
    expect(await measure()).toEqual({ status: 'unavailable', detail: 'query failed (503): internal: TSDB not ready' });
  });

  it('a success with warnings is no measurement either', async () => {
    answer = { status: 200, body: { ...examples.matrixResult, warnings: ['PromQL info: partial data: store gateway down'] } };
    expect(await measure()).toEqual({ status: 'unavailable', detail: 'query warned: PromQL info: partial data: store gateway down' });
  });

  it('a range selector that answers a vector is not trusted', async () => {
    answer = { status: 200, body: examples.vectorResult };
    expect(await measure()).toEqual({ status: 'unavailable', detail: 'a range selector answered vector, not a matrix' });
  });
});

/** Samples every minute from `start` to `end` (ms), growing `rate` CPU seconds a second from `value`. */
function counter(start: number, end: number, rate: number, value = 0): [number, number][] {
  const out: [number, number][] = [];
  for (let t = start; t <= end; t += 60_000) out.push([t, value + (rate * (t - start)) / 1000]);
  return out;
}

describe('a real relay with RELAY_PROMETHEUS_URL', () => {
  const id = (rule: string) => ruleCases().find((c) => c.rule === rule)!.server.id;
  const ALL_DAY = id('unchanged ACTIVE: its status throughout');
  const MIGRATED = id('created in the day, rebuilt later: starts at create, never at launched_at');
  const UNMEASURED = id('PCI passthrough GPUs');
  const STOPPED = id('unchanged SHUTOFF: held, not running');

  // Half a CPU all day, restarted at 11:59:30 (the sample at 12:00 reads 15 s).
  const beforeReset = counter(at(0) - 600_000, at(12) - 60_000, 0.5, 1_000_000);
  const afterReset = counter(at(12), at(24) + 600_000, 0.5, 15);
  // One CPU from 08:00 on compute-1, live-migrated at 16:00 to compute-2 (a new domain process: from 0).
  const host1 = counter(at(8), at(16), 1);
  const host2 = counter(at(16), at(24) + 600_000, 1);
  const series: CloudCpuSeries[] = [
    { instance: 'compute-1:9177', domain: 'instance-00000001', serverId: ALL_DAY, samples: [...beforeReset, ...afterReset] },
    { instance: 'compute-1:9177', domain: 'instance-00000002', serverId: MIGRATED, samples: host1 },
    // The same exporter scraped by a second job: the same counter, counted once.
    { instance: 'compute-1:9177', domain: 'instance-00000002', samples: host1, labels: { job: 'libvirt-replica' } },
    { instance: 'compute-2:9177', domain: 'instance-00000002', serverId: MIGRATED, samples: host2 },
    // A domain that is no OpenStack server.
    { instance: 'compute-2:9177', domain: 'not-a-server', samples: counter(at(0), at(24), 2) },
  ];

  let r: OpenStackRelay;
  beforeAll(async () => {
    r = await startOpenStackRelay({ cloud: { ...rulesCloud(), cpu: series } }, { RELAY_PROMETHEUS_SLICE_MINUTES: '360' }, { prometheus: true });
  });
  afterAll(() => r?.stop());

  async function read() {
    const stream = splitRelayStream(await (await r.relay.fetch(instancesPath())).text());
    const records = stream.values.map((v) => InstanceRecordSchema.parse(v));
    return {
      cpu: new Map(records.map((x) => [x.server_id, x.cpu_time_seconds])),
      summary: InstanceStreamSummarySchema.parse(stream.summary).summary,
    };
  }

  it('sums raw differences per server: a reset, a migration, a duplicate scrape; null for a running server with no series', async () => {
    const before = r.standin.requests.length;
    const { cpu, summary } = await read();
    // 1440 one-minute differences of 30 s, less the 15 s lost at the restart.
    expect(cpu.get(ALL_DAY)).toBe(43_185);
    // 480 minutes on compute-1 (the first sample has no predecessor) + 479 on compute-2 (the 24:00 one is tomorrow's).
    expect(cpu.get(MIGRATED)).toBe(480 * 60 + 479 * 60);
    expect(cpu.get(UNMEASURED)).toBeNull();
    expect(cpu.get(STOPPED)).toBe(0); // it did not run: nothing to measure
    expect(summary.cpu_time).toEqual({ status: 'measured', detail: expect.stringMatching(/^\d+ samples in 6 queries$/) });
    const queries = r.standin.requests.slice(before).filter((q) => q.path === '/prometheus/api/v1/query');
    expect(queries).toHaveLength(6); // the info series, then 24 h + 10 min in slices of 6 h
    expect(queries.every((q) => new URLSearchParams(q.query).get('partial_response') === 'false')).toBe(true);
    expect(queries.some((q) => /increase|rate\(/.test(new URLSearchParams(q.query).get('query') ?? ''))).toBe(false);
  });

  it.each([
    ['an error envelope', { errorStatus: 422 }, /^query failed \(422\): execution: query timed out in expression evaluation$/],
    ['warnings on the counter query only', { warnings: ['partial data'], onlyCounter: true }, /^query warned: partial data$/],
  ])('%s: no CPU time for any server, the window still complete', async (_name, fault, detail) => {
    r.standin.faults.prometheus = fault;
    try {
      const { cpu, summary } = await read();
      expect([...cpu.values()].every((v) => v === null)).toBe(true);
      expect(summary.cpu_time).toEqual({ status: 'unavailable', detail: expect.stringMatching(detail) });
      expect(summary.count).toBe(cpu.size);
    } finally {
      delete r.standin.faults.prometheus;
    }
  });
});

import type { PrometheusConfig } from './config.ts';
import { requestJson, UpstreamError } from './http.ts';

/**
 * Measured CPU time per server and window, from the libvirt exporter through Prometheus (or Thanos):
 * `libvirt_domain_info_cpu_time_seconds_total{instance, domain}` joined to the server through
 * `libvirt_domain_openstack_info{instance, domain, instance_id}` (docs/openstack.md).
 *
 * Raw samples only (`/api/v1/query` of a range selector, `partial_response=false`), never `increase()`
 * (it extrapolates). A series' increase in [from, to) is the sum of the differences between
 * consecutive samples whose later sample lies in [from, to); a sample lower than its predecessor is
 * a counter reset (the domain restarted), and counts its own value. A sample from the MARGIN before
 * `from` gives the first difference its start, so consecutive windows add up to the counter's whole
 * increase. Any failed query, or one that warns, makes the whole window `unavailable`: no number is
 * better than a guess.
 */

/** How far before `from` a previous sample is looked for. */
export const MARGIN_MS = 10 * 60_000;

export type CpuTimes =
  | { status: 'measured'; byServer: Map<string, number>; samples: number; queries: number }
  | { status: 'unavailable'; detail: string };

interface PromEnvelope {
  status?: string;
  data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] };
  error?: string;
  errorType?: string;
  warnings?: string[];
}

export interface MeasureOptions {
  config: PrometheusConfig;
  from: number;
  to: number;
  signal: AbortSignal;
  timeoutMs: number;
}

/** Per series, while reading samples in time order. */
interface SeriesState {
  instance: string;
  domain: string;
  last: number | undefined;
  increase: number;
}

class PrometheusWarning extends Error {}

async function query(opts: MeasureOptions, promql: string, atMs: number): Promise<NonNullable<PromEnvelope['data']>> {
  const params = new URLSearchParams({ query: promql, time: (atMs / 1000).toFixed(3), partial_response: 'false' });
  const res = await requestJson<PromEnvelope>({
    service: 'prometheus',
    url: `${opts.config.url}/api/v1/query?${params}`,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
    headers: opts.config.authorization ? { Authorization: opts.config.authorization } : {},
    // Prometheus answers 400/422/503 with its error envelope: read it for the message.
    allow: [400, 422, 503],
  });
  const body = res.body;
  if (body?.status !== 'success' || !body.data) {
    const why = body?.error ? `${body.errorType ?? 'error'}: ${body.error}` : `status ${body?.status ?? 'missing'}`;
    throw new UpstreamError('prometheus', 'http', `query failed (${res.status}): ${why}`, res.status);
  }
  if (body.warnings?.length) throw new PrometheusWarning(`query warned: ${body.warnings.join('; ').slice(0, 300)}`);
  return body.data;
}

/** Add one sample to a series: the difference to the previous sample counts when this sample lies in the window. */
export function addSample(state: SeriesState, at: number, value: number, from: number): void {
  if (state.last !== undefined && at >= from) state.increase += value >= state.last ? value - state.last : value;
  state.last = value;
}

const seriesKey = (metric: Record<string, string>) =>
  JSON.stringify(
    Object.entries(metric)
      .filter(([k]) => k !== '__name__')
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );

/** CPU seconds per server id (instance_id) over [from, to), or why there are none. Throws only when `signal` aborts. */
export async function measureCpuTimes(opts: MeasureOptions): Promise<CpuTimes> {
  try {
    const span = opts.to - opts.from + MARGIN_MS;
    // Which server each (exporter instance, libvirt domain) was, over the window.
    const info = await query(opts, `max by (instance, domain, instance_id) (last_over_time(libvirt_domain_openstack_info[${span}ms]))`, opts.to - 1);
    const serverOf = new Map<string, string>();
    for (const r of info.result ?? []) {
      const m = r.metric ?? {};
      if (m.instance_id && m.domain !== undefined) serverOf.set(`${m.instance ?? ''}\u0000${m.domain}`, m.instance_id);
    }

    // The counter's raw samples, slice by slice (the range selector (t - d, t] at t = end - 1 ms is [start, end)).
    const series = new Map<string, SeriesState>();
    let samples = 0;
    let queries = 1;
    for (let start = opts.from - MARGIN_MS; start < opts.to; start += opts.config.sliceMs) {
      const end = Math.min(opts.to, start + opts.config.sliceMs);
      const data = await query(opts, `libvirt_domain_info_cpu_time_seconds_total[${end - start}ms]`, end - 1);
      queries++;
      if (data.resultType !== 'matrix') throw new UpstreamError('prometheus', 'parse', `a range selector answered ${data.resultType}, not a matrix`);
      for (const r of data.result ?? []) {
        const metric = r.metric ?? {};
        const key = seriesKey(metric);
        let state = series.get(key);
        if (!state) {
          state = { instance: metric.instance ?? '', domain: metric.domain ?? '', last: undefined, increase: 0 };
          series.set(key, state);
        }
        for (const [seconds, text] of r.values ?? []) {
          const value = Number(text);
          if (!Number.isFinite(value)) continue;
          addSample(state, Math.round(seconds * 1000), value, opts.from);
          samples++;
        }
      }
    }

    // The same counter scraped twice (two jobs, two replicas) is one domain: its largest increase.
    const perDomain = new Map<string, number>();
    for (const s of series.values()) {
      const key = `${s.instance}\u0000${s.domain}`;
      perDomain.set(key, Math.max(perDomain.get(key) ?? 0, s.increase));
    }
    // A server that moved (live migration) ran as one domain on each host: their increases add up.
    const byServer = new Map<string, number>();
    for (const [key, increase] of perDomain) {
      const server = serverOf.get(key);
      if (server) byServer.set(server, (byServer.get(server) ?? 0) + increase);
    }
    return { status: 'measured', byServer, samples, queries };
  } catch (err) {
    if (opts.signal.aborted) throw opts.signal.reason;
    if (err instanceof UpstreamError || err instanceof PrometheusWarning)
      return { status: 'unavailable', detail: err.message.replace(/^prometheus: /, '') };
    throw err;
  }
}

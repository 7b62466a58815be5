/**
 * The stand-in's Prometheus: `/api/v1/query` answering the two queries the relay asks, in
 * Prometheus' documented envelope (`{status, data: {resultType, result}}`, `{status: "error",
 * errorType, error}`, `warnings`), over the libvirt exporter's series of the cloud model: the info
 * series `libvirt_domain_openstack_info` and the counter `libvirt_domain_info_cpu_time_seconds_total`.
 */
import type { ServerResponse } from 'node:http';
import type { CloudModel } from './model.ts';

export interface PrometheusFaults {
  /** Answer every query with this HTTP status and Prometheus' error envelope. */
  errorStatus?: number;
  /** Answer every query successfully but with these warnings. */
  warnings?: string[];
  /** Fail only the counter queries (the info query succeeds). */
  onlyCounter?: boolean;
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
};

const INFO = /^max by \(instance, domain, instance_id\) \(last_over_time\(libvirt_domain_openstack_info\[(\d+)ms\]\)\)$/;
const COUNTER = /^libvirt_domain_info_cpu_time_seconds_total\[(\d+)ms\]$/;

export function answerPrometheus(res: ServerResponse, path: string, params: URLSearchParams, cloud: CloudModel, faults: PrometheusFaults) {
  if (path !== '/api/v1/query') return send(res, 404, { status: 'error', errorType: 'not_found', error: 'not found' });
  const query = params.get('query') ?? '';
  const at = Math.round(Number(params.get('time')) * 1000);
  const info = INFO.exec(query);
  const counter = COUNTER.exec(query);
  if ((!info && !counter) || !Number.isFinite(at)) {
    return send(res, 400, {
      status: 'error',
      errorType: 'bad_data',
      error: `invalid parameter "query": 1:1: parse error: unexpected query ${JSON.stringify(query.slice(0, 60))}`,
    });
  }
  if (faults.errorStatus && (counter || !faults.onlyCounter)) {
    return send(res, faults.errorStatus, {
      status: 'error',
      errorType: faults.errorStatus === 503 ? 'timeout' : 'execution',
      error: 'query timed out in expression evaluation',
    });
  }
  // A range selector [d] at t holds the samples in (t - d, t].
  const range = Number((info ?? counter)![1]);
  const from = at - range;
  const series = cloud.cpu ?? [];
  const warnings = faults.warnings && (counter || !faults.onlyCounter) ? { warnings: faults.warnings } : {};
  if (info) {
    const seen = new Map<string, { instance: string; domain: string; instance_id: string }>();
    for (const s of series) {
      if (s.serverId && s.samples.some(([t]) => t > from && t <= at)) {
        seen.set(`${s.instance}|${s.domain}|${s.serverId}`, { instance: s.instance, domain: s.domain, instance_id: s.serverId });
      }
    }
    return send(res, 200, {
      status: 'success',
      data: { resultType: 'vector', result: [...seen.values()].map((metric) => ({ metric, value: [at / 1000, '1'] })) },
      ...warnings,
    });
  }
  const result = series
    .map((s) => ({
      metric: { __name__: 'libvirt_domain_info_cpu_time_seconds_total', domain: s.domain, instance: s.instance, job: 'libvirt', ...s.labels },
      values: s.samples.filter(([t]) => t > from && t <= at).map(([t, v]) => [t / 1000, String(v)]),
    }))
    .filter((r) => r.values.length > 0);
  send(res, 200, { status: 'success', data: { resultType: 'matrix', result }, ...warnings });
}

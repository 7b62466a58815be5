import type { z } from 'zod';
import {
  type InstanceRecord,
  InstanceRecordSchema,
  type InstanceStreamSummary,
  InstanceStreamSummarySchema,
  RELAY_INSTANCES_PATH,
} from '../../contracts/instance-record.ts';
import { type JobRecord, JobRecordSchema, type JobStreamSummary, JobStreamSummarySchema, RELAY_JOBS_PATH } from '../../contracts/job-record.ts';
import { relaySigningClock, signRelayRequest } from '../../contracts/relay-signing.ts';
import type { UsageLine } from '../../contracts/pbs-usage.ts';
import { parseUsageLine, RELAY_USAGE_PATH, type UsageStreamSummary, UsageStreamSummarySchema } from '../../contracts/usage-line.ts';
import type { RelayTarget } from '../../config.ts';
import { RELAY_REQUEST_ID_PARAM } from '../../contracts/relay-api.ts';
import { ProviderError } from './provider-error.ts';

export interface RelayWindowRequest {
  relay: RelayTarget;
  secret: string;
  from: Date;
  to: Date;
  /** Default: global fetch. */
  fetch?: (request: Request) => Promise<Response>;
  /** The whole exchange, headers to summary line. Default 10 minutes. */
  timeoutMs?: number;
  /** The clock requests are signed with (the relay refuses more than 300 s of skew). */
  now?: () => Date;
}

const ErrorLine = (value: object): value is { error: { source?: unknown; message?: unknown } } =>
  'error' in value && !!value.error && typeof value.error === 'object';

/**
 * Read one of the relay's NDJSON streams for [from, to): each validated record is handed to
 * `onRecord` as it arrives (nothing is buffered beyond one line), and the summary line that must
 * close the stream is returned. A stream that ends without it, that ends with the relay's error line
 * instead, or whose count disagrees with the records received, is an error: a cut-off or failed
 * window is never taken as complete.
 */
async function readRelayStream<R, S extends { count: number }>(
  req: RelayWindowRequest,
  path: string,
  params: Record<string, string>,
  schemas: {
    record: { safeParse(value: unknown): { success: true; data: R } | { success: false; error: z.ZodError } };
    summary: z.ZodType<{ summary: S }>;
    what: string;
  },
  onRecord: (record: R) => void,
): Promise<S> {
  const source = `relay ${req.relay.cluster}`;
  const url = new URL(path, req.relay.url);
  url.searchParams.set('from', req.from.toISOString());
  url.searchParams.set('to', req.to.toISOString());
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  // A fresh id per attempt: the relay logs it, and no two attempts (from any isolate) sign the same string.
  url.searchParams.set(RELAY_REQUEST_ID_PARAM, crypto.randomUUID());
  // Each attempt signed afresh, never with a timestamp already used for this path (the relay refuses a replay).
  const signedAt = relaySigningClock.next('GET', url.pathname + url.search, Math.floor((req.now?.() ?? new Date()).getTime() / 1000));
  const headers = await signRelayRequest(req.secret, 'GET', url.pathname + url.search, signedAt);
  const signal = AbortSignal.timeout(req.timeoutMs ?? 600_000);
  const doFetch = req.fetch ?? ((r: Request) => fetch(r));

  let response: Response;
  try {
    // gzip on the wire: a 1,000,000-job day of /v1/jobs is ~600 MiB of NDJSON, ~10 % of it gzipped.
    response = await doFetch(new Request(url, { headers: { ...headers, Accept: 'application/x-ndjson', 'Accept-Encoding': 'gzip' }, signal }));
  } catch (err) {
    throw new ProviderError(source, signal.aborted ? 'timeout' : 'network', (err as Error).message);
  }
  if (!response.ok) {
    const detail = (await response.text().catch(() => '')).slice(0, 300);
    throw new ProviderError(source, 'http', detail || response.statusText, response.status);
  }
  if (!response.body) throw new ProviderError(source, 'parse', 'empty body');

  let count = 0;
  let summary: S | undefined;
  let lineNo = 0;
  const handleLine = (line: string) => {
    lineNo++;
    if (!line.trim()) return;
    if (summary) throw new ProviderError(source, 'parse', `line ${lineNo}: data after the summary line`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new ProviderError(source, 'parse', `line ${lineNo}: not JSON`);
    }
    if (value && typeof value === 'object' && 'summary' in value) {
      const parsed = schemas.summary.safeParse(value);
      if (!parsed.success) throw new ProviderError(source, 'parse', `line ${lineNo}: bad summary line`);
      summary = parsed.data.summary;
      return;
    }
    if (value && typeof value === 'object' && ErrorLine(value)) {
      const { source: failed, message } = value.error;
      throw new ProviderError(source, 'upstream', `its ${String(failed)} source failed after ${count} records: ${String(message).slice(0, 1000)}`);
    }
    const record = schemas.record.safeParse(value);
    if (!record.success) {
      const issue = record.error.issues[0];
      throw new ProviderError(source, 'parse', `line ${lineNo}: not ${schemas.what} (${issue?.path.join('.')}: ${issue?.message})`);
    }
    count++;
    onRecord(record.data);
  };

  try {
    const decoder = new TextDecoder();
    let pending = '';
    for await (const value of decodedBody(response.body)) {
      const lines = (pending + decoder.decode(value, { stream: true })).split('\n');
      pending = lines.pop()!;
      for (const line of lines) handleLine(line);
    }
    pending += decoder.decode();
    if (pending) handleLine(pending);
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    throw new ProviderError(source, signal.aborted ? 'timeout' : 'network', `stream broke after ${count} records: ${(err as Error).message}`);
  }
  if (!summary) throw new ProviderError(source, 'parse', `stream ended after ${count} records without its summary line (cut off)`);
  if (summary.count !== count) {
    throw new ProviderError(source, 'parse', `summary says ${summary.count} records, ${count} arrived`);
  }
  return summary;
}

/**
 * The body as NDJSON text bytes. fetch decodes `Content-Encoding: gzip` itself (workerd and Node's
 * undici both do); should a runtime hand the gzip bytes through, they are recognised by their magic
 * number (0x1f is never the first byte of NDJSON) and decompressed here. A gzip stream cut off part-way
 * fails the read, and a decoded stream cut off lacks its summary line: neither is taken as complete.
 */
async function* decodedBody(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  const head = await reader.read();
  if (head.done) return;
  if (head.value[0] !== 0x1f) {
    yield head.value;
    for (let next = await reader.read(); !next.done; next = await reader.read()) yield next.value;
    return;
  }
  const raw = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(head.value),
    async pull(c) {
      const next = await reader.read();
      if (next.done) c.close();
      else c.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  const decoded = raw.pipeThrough(new DecompressionStream('gzip')).getReader();
  for (let next = await decoded.read(); !next.done; next = await decoded.read()) yield next.value;
}

/** The PBS jobs whose end lies in [from, to) (`GET /v1/jobs`, docs/architecture.md §2). */
export function readRelayJobs(req: RelayWindowRequest, onJob: (job: JobRecord) => void): Promise<JobStreamSummary> {
  return readRelayStream(
    req,
    RELAY_JOBS_PATH,
    req.relay.source ? { source: req.relay.source } : {},
    { record: JobRecordSchema, summary: JobStreamSummarySchema, what: 'a job record' },
    onJob,
  );
}

/** The OpenStack servers that held resources in [from, to) (`GET /v1/instances`, docs/architecture.md §5). */
export function readRelayInstances(req: RelayWindowRequest, onInstance: (instance: InstanceRecord) => void): Promise<InstanceStreamSummary> {
  return readRelayStream(
    req,
    RELAY_INSTANCES_PATH,
    {},
    { record: InstanceRecordSchema, summary: InstanceStreamSummarySchema, what: 'an instance record' },
    onInstance,
  );
}

/**
 * The PBS transform run on site (`GET /v1/usage`, docs/architecture.md §3): one usage line per
 * (project, user, UTC day), checked for conservation against the summary (the lines' jobs sum to its
 * `jobs`); a stream that fails the check is an error, as a cut-off one is.
 */
export async function readRelayUsage(req: RelayWindowRequest, onLine: (line: UsageLine) => void): Promise<UsageStreamSummary> {
  let jobs = 0;
  const summary = await readRelayStream(
    req,
    RELAY_USAGE_PATH,
    req.relay.source ? { source: req.relay.source } : {},
    { record: { safeParse: parseUsageLine }, summary: UsageStreamSummarySchema, what: 'a usage line' },
    (line) => {
      jobs += line.jobs;
      onLine(line);
    },
  );
  if (jobs !== summary.jobs) {
    throw new ProviderError(`relay ${req.relay.cluster}`, 'parse', `the usage lines count ${jobs} jobs, the summary ${summary.jobs}`);
  }
  if (summary.records < summary.jobs) {
    throw new ProviderError(`relay ${req.relay.cluster}`, 'parse', `the summary counts ${summary.jobs} jobs in ${summary.records} records`);
  }
  return summary;
}

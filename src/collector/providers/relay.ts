import { type JobRecord, JobRecordSchema, type JobStreamSummary, JobStreamSummarySchema, RELAY_JOBS_PATH } from '../../contracts/job-record.ts';
import { signRelayRequest } from '../../contracts/relay-signing.ts';
import type { RelayTarget } from '../../config.ts';
import { ProviderError } from './provider-error.ts';

export interface RelayJobsRequest {
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

/**
 * Fetch the jobs whose end lies in [from, to) from a relay as a stream: each validated job record is
 * handed to `onJob` as it arrives (nothing is buffered beyond one line), and the summary line that
 * must close the stream is returned. A stream that ends without it, or whose count disagrees with
 * the records received, is an error: a cut-off stream is never taken as complete.
 */
export async function readRelayJobs(req: RelayJobsRequest, onJob: (job: JobRecord) => void): Promise<JobStreamSummary> {
  const source = `relay ${req.relay.cluster}`;
  const url = new URL(RELAY_JOBS_PATH, req.relay.url);
  url.searchParams.set('from', req.from.toISOString());
  url.searchParams.set('to', req.to.toISOString());
  if (req.relay.source) url.searchParams.set('source', req.relay.source);
  const signedAt = Math.floor((req.now?.() ?? new Date()).getTime() / 1000);
  const headers = await signRelayRequest(req.secret, 'GET', url.pathname + url.search, signedAt);
  const signal = AbortSignal.timeout(req.timeoutMs ?? 600_000);
  const doFetch = req.fetch ?? ((r: Request) => fetch(r));

  let response: Response;
  try {
    response = await doFetch(new Request(url, { headers: { ...headers, Accept: 'application/x-ndjson' }, signal }));
  } catch (err) {
    throw new ProviderError(source, signal.aborted ? 'timeout' : 'network', (err as Error).message);
  }
  if (!response.ok) {
    const detail = (await response.text().catch(() => '')).slice(0, 300);
    throw new ProviderError(source, 'http', detail || response.statusText, response.status);
  }
  if (!response.body) throw new ProviderError(source, 'parse', 'empty body');

  let count = 0;
  let summary: JobStreamSummary | undefined;
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
      const parsed = JobStreamSummarySchema.safeParse(value);
      if (!parsed.success) throw new ProviderError(source, 'parse', `line ${lineNo}: bad summary line`);
      summary = parsed.data.summary;
      return;
    }
    const job = JobRecordSchema.safeParse(value);
    if (!job.success) {
      const issue = job.error.issues[0];
      throw new ProviderError(source, 'parse', `line ${lineNo}: not a job record (${issue?.path.join('.')}: ${issue?.message})`);
    }
    count++;
    onJob(job.data);
  };

  try {
    const decoder = new TextDecoder();
    let pending = '';
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
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

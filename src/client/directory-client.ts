import {
  type DirectoryAllocation,
  type DirectoryKind,
  type DirectoryProject,
  type DirectoryUser,
  MAX_DIRECTORY_RECORDS,
  type SyncResult,
  SyncResultSchema,
} from '../contracts/directory.ts';
import type { Problem } from '../contracts/problem.ts';
import type { FetchLike } from './attempt.ts';
import { parseRetryAfter } from './retry.ts';

/** What the allocation system exports: the three lists (docs/directory.md, docs/directory-example.json). */
export interface DirectoryExport {
  projects?: DirectoryProject[];
  users?: DirectoryUser[];
  allocations?: DirectoryAllocation[];
}

export interface DirectoryClientOptions {
  /** The API's origin, e.g. `https://usage.example.org`. */
  baseUrl: string;
  /** An operator key (one of ADMIN_API_KEY). */
  adminKey: string;
  fetch?: FetchLike;
  /** Records per request (at most 5000). */
  batchSize?: number;
  /** Attempts per request on a network error, 429 or 5xx (a re-sent batch changes nothing). Default 4. */
  attempts?: number;
}

/** A request the API refused (4xx other than 429), with its problem document. */
export class DirectorySyncError extends Error {
  override name = 'DirectorySyncError';
  constructor(
    readonly kind: DirectoryKind,
    readonly status: number,
    readonly problem: Partial<Problem> | undefined,
    readonly offset: number,
  ) {
    super(
      `PUT /directory/${kind} (records ${offset}…) answered ${status}: ${problem?.detail ?? 'no detail'}${
        problem?.errors?.length
          ? `; ${problem.errors
              .slice(0, 10)
              .map((e) => `${e.path}: ${e.message}`)
              .join('; ')}`
          : ''
      }`,
    );
  }
}

export type PushTotals = Record<DirectoryKind, SyncResult & { requests: number }>;

const empty = (): SyncResult & { requests: number } => ({
  inserted: 0,
  updated: 0,
  unchanged: 0,
  deactivated: 0,
  remap_queued: 0,
  remap_days: 0,
  requests: 0,
});

/**
 * Push an export to the directory API: projects, then users, then allocations (each refers to the ones before), in
 * batches of up to 5000 records. With `full`, each list is the complete list of its kind: the batches of a kind make
 * one run (`?mode=full&run=…`, `final=true` on the last), and what the run did not name becomes inactive.
 */
export async function pushDirectory(options: DirectoryClientOptions, data: DirectoryExport, opts: { full?: boolean } = {}): Promise<PushTotals> {
  const size = Math.min(options.batchSize ?? MAX_DIRECTORY_RECORDS, MAX_DIRECTORY_RECORDS);
  const send = options.fetch ?? ((request: Request) => fetch(request));
  const totals: PushTotals = { projects: empty(), users: empty(), allocations: empty() };
  const run = `push-${crypto.randomUUID()}`;
  for (const kind of ['projects', 'users', 'allocations'] as const) {
    const records = (data[kind] ?? []) as { id: string }[];
    if (records.length === 0) continue;
    for (let offset = 0; offset < records.length; offset += size) {
      const last = offset + size >= records.length;
      const query = opts.full ? `?${new URLSearchParams({ mode: 'full', run, ...(last ? { final: 'true' } : {}) })}` : '';
      const result = await putBatch(send, options, kind, query, { [kind]: records.slice(offset, offset + size) }, offset);
      const t = totals[kind];
      for (const k of ['inserted', 'updated', 'unchanged', 'deactivated', 'remap_queued', 'remap_days'] as const) t[k] += result[k];
      t.requests++;
    }
  }
  return totals;
}

async function putBatch(
  send: FetchLike,
  options: DirectoryClientOptions,
  kind: DirectoryKind,
  query: string,
  body: unknown,
  offset: number,
): Promise<SyncResult> {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/directory/${kind}${query}`;
  const attempts = Math.max(1, options.attempts ?? 4);
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await send(
        new Request(url, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.adminKey}` },
          body: JSON.stringify(body),
        }),
      );
    } catch (err) {
      if (attempt >= attempts) throw err;
      await sleep(500 * 2 ** attempt);
      continue;
    }
    if (response.ok) return SyncResultSchema.parse(await response.json());
    const transient = response.status === 429 || response.status >= 500;
    if (!transient || attempt >= attempts) {
      const problem = (await response.json().catch(() => undefined)) as Partial<Problem> | undefined;
      throw new DirectorySyncError(kind, response.status, problem, offset);
    }
    await response.body?.cancel();
    await sleep(parseRetryAfter(response.headers.get('retry-after')) ?? 500 * 2 ** attempt);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.min(ms, 30_000)));

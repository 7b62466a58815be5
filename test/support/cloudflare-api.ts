/**
 * A local stand-in for the part of Cloudflare's API (https://api.cloudflare.com/client/v4) that
 * `wrangler queues`, `wrangler secret` and `wrangler deploy` use, over real HTTP, so that the real
 * wrangler CLI runs against it (CLOUDFLARE_API_BASE_URL). Shapes follow Cloudflare's API reference
 * (the `{success, errors, messages, result, result_info}` envelope; error 10007 for a Worker that does
 * not exist; queues paged by `page`). It keeps state: queues with their consumers, and per Worker its
 * secrets, its last upload's bindings and its cron schedules. Only this account and this token work.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInQueue {
  queue_id: string;
  queue_name: string;
  created_on: string;
  modified_on: string;
  producers_total_count: number;
  consumers_total_count: number;
  producers: unknown[];
  consumers: { consumer_id: string; type: 'worker'; script: string; dead_letter_queue?: string; settings: Record<string, unknown> }[];
}

export interface StandInWorker {
  secrets: Map<string, string>;
  /** The bindings of the last full upload (`wrangler deploy`), secrets inherited by name. */
  bindings: { type: string; name: string; [key: string]: unknown }[];
  /** How many uploads of the Worker's code (the draft `secret bulk` creates counts as one). */
  uploads: number;
  schedules: string[];
}

export interface CloudflareApi {
  /** CLOUDFLARE_API_BASE_URL */
  baseUrl: string;
  accountId: string;
  token: string;
  queues: Map<string, StandInQueue>;
  workers: Map<string, StandInWorker>;
  /** `METHOD /path` of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Queues per page of GET /queues: small, so that listing them takes several pages. */
const QUEUES_PER_PAGE = 3;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startCloudflareApi(opts: { accountId?: string; token?: string } = {}): Promise<CloudflareApi> {
  const accountId = opts.accountId ?? 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6';
  const token = opts.token ?? 'stand-in-api-token-0123456789';
  const queues = new Map<string, StandInQueue>();
  const workers = new Map<string, StandInWorker>();
  const requests: string[] = [];
  let ids = 0;
  const now = () => new Date().toISOString();
  const worker = (name: string) => {
    const w = workers.get(name);
    if (!w) throw new ApiError(404, 10007, 'This Worker does not exist on your account.');
    return w;
  };
  const queueById = (id: string) => {
    const q = [...queues.values()].find((x) => x.queue_id === id);
    if (!q) throw new ApiError(404, 11000, 'Queue does not exist');
    return q;
  };

  /** An upload's metadata: its bindings; an `inherit` binding (a secret kept) must name a secret the Worker has. */
  async function upload(name: string, form: FormData): Promise<void> {
    const metadata = JSON.parse(String(form.get('metadata'))) as { bindings?: StandInWorker['bindings'] };
    const w = workers.get(name) ?? { secrets: new Map(), bindings: [], uploads: 0, schedules: [] };
    for (const b of metadata.bindings ?? []) {
      if (b.type === 'inherit' && !w.secrets.has(b.name)) throw new ApiError(400, 10057, `inherit binding '${b.name}' is invalid`);
    }
    workers.set(name, w);
    w.uploads++;
    w.bindings = metadata.bindings ?? [];
  }

  async function route(req: IncomingMessage, url: URL, body: Buffer): Promise<{ result: unknown; result_info?: unknown }> {
    if (req.headers.authorization !== `Bearer ${token}`) throw new ApiError(400, 10000, 'Authentication error');
    const prefix = `/client/v4/accounts/${accountId}`;
    if (!url.pathname.startsWith(`${prefix}/`)) throw new ApiError(403, 10000, 'Authentication error: unknown account');
    const path = url.pathname.slice(prefix.length);
    const json = <T = Record<string, unknown>>() => JSON.parse(body.toString('utf8')) as T;
    const form = () => new Request('http://x', { method: 'POST', headers: { 'content-type': req.headers['content-type']! }, body }).formData();
    let m: RegExpMatchArray | null;

    if (path === '/queues' && req.method === 'GET') {
      const names = url.searchParams.getAll('name');
      const all = [...queues.values()].filter((q) => names.length === 0 || names.includes(q.queue_name));
      const page = Number(url.searchParams.get('page') ?? '1');
      const result = all.slice((page - 1) * QUEUES_PER_PAGE, page * QUEUES_PER_PAGE);
      const total_pages = Math.ceil(all.length / QUEUES_PER_PAGE);
      return { result, result_info: { page, per_page: QUEUES_PER_PAGE, count: result.length, total_count: all.length, total_pages } };
    }
    if (path === '/queues' && req.method === 'POST') {
      const name = String(json().queue_name);
      if (queues.has(name)) throw new ApiError(409, 11009, `A queue with the name "${name}" already exists`);
      const queue: StandInQueue = {
        queue_id: `q${++ids}`,
        queue_name: name,
        created_on: now(),
        modified_on: now(),
        producers_total_count: 0,
        consumers_total_count: 0,
        producers: [],
        consumers: [],
      };
      queues.set(name, queue);
      return { result: queue };
    }
    if ((m = path.match(/^\/queues\/([^/]+)\/consumers$/)) && req.method === 'POST') {
      const q = queueById(m[1]!);
      const { script_name, dead_letter_queue, settings } = json<
        Omit<StandInQueue['consumers'][number], 'consumer_id' | 'type' | 'script'> & { script_name: string }
      >();
      q.consumers.push({
        consumer_id: `c${++ids}`,
        type: 'worker',
        script: script_name,
        settings,
        ...(dead_letter_queue ? { dead_letter_queue } : {}),
      });
      q.consumers_total_count = q.consumers.length;
      return { result: q.consumers.at(-1) };
    }
    if ((m = path.match(/^\/queues\/([^/]+)\/consumers\/([^/]+)$/)) && req.method === 'PUT') {
      const consumer = queueById(m[1]!).consumers.find((c) => c.consumer_id === m![2]);
      if (!consumer) throw new ApiError(404, 11000, 'Consumer does not exist');
      const { dead_letter_queue, settings } = json<Pick<StandInQueue['consumers'][number], 'dead_letter_queue' | 'settings'>>();
      Object.assign(consumer, { dead_letter_queue, settings });
      return { result: consumer };
    }
    if (path === '/workers/subdomain' && req.method === 'GET') return { result: { subdomain: 'stand-in' } };

    if (!(m = path.match(/^\/workers\/(scripts|services)\/([^/?]+)(\/[a-z-]+)?$/)))
      throw new ApiError(404, 7003, `No route for ${req.method} ${path}`);
    const [, kind, name, sub = ''] = m as unknown as [string, string, string, string | undefined];
    const op = `${req.method} ${kind}${sub}`;
    switch (op) {
      case 'GET services': {
        worker(name!);
        return {
          result: {
            id: name,
            default_environment: { environment: 'production', script: { tag: `tag-${name}`, tags: [], last_deployed_from: 'wrangler' } },
          },
        };
      }
      case 'PUT scripts': // the first upload (and the draft `secret bulk` makes for a Worker it cannot find)
        await upload(name!, await form());
        return { result: { id: name, etag: `etag${ids}`, deployment_id: `d${++ids}`, pipeline_hash: null, startup_time_ms: 1 } };
      case 'POST scripts/versions': // later uploads: a version, then a deployment of it
        worker(name!);
        await upload(name!, await form());
        return { result: { id: `v${++ids}`, resources: { script: { etag: `etag${ids}` } }, startup_time_ms: 1 } };
      case 'POST scripts/deployments':
        worker(name!);
        return { result: { id: `d${++ids}`, ...json<Record<string, unknown>>() } };
      case 'GET scripts/secrets':
        return { result: [...worker(name!).secrets.keys()].map((n) => ({ name: n, type: 'secret_text' })) };
      case 'GET scripts/settings':
        return { result: { bindings: [...worker(name!).secrets.keys()].map((n) => ({ type: 'secret_text', name: n })) } };
      case 'PATCH scripts/settings': {
        const w = worker(name!);
        const settings = JSON.parse(String((await form()).get('settings'))) as { bindings: { type: string; name: string; text?: string }[] };
        for (const b of settings.bindings) if (b.type === 'secret_text' && b.text !== undefined) w.secrets.set(b.name, b.text);
        return { result: { bindings: settings.bindings.map(({ type, name: n }) => ({ type, name: n })) } };
      }
      case 'GET scripts/deployments':
        worker(name!);
        return { result: { deployments: [] } };
      case 'PATCH scripts/script-settings':
        worker(name!);
        return { result: json() };
      case 'GET scripts/subdomain':
        worker(name!);
        return { result: { enabled: true, previews_enabled: false } };
      case 'POST scripts/subdomain':
        worker(name!);
        return { result: json() };
      case 'PUT scripts/schedules': {
        const w = worker(name!);
        w.schedules = json<{ cron: string }[]>().map((s) => s.cron);
        return { result: { schedules: w.schedules.map((cron) => ({ cron })) } };
      }
      default:
        throw new ApiError(404, 7003, `No route for ${op}`);
    }
  }

  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      route(req, url, Buffer.concat(chunks)).then(
        (ok) => send(res, 200, { success: true, errors: [], messages: [], ...ok }),
        (err: unknown) => {
          const e = err instanceof ApiError ? err : new ApiError(500, 10013, (err as Error).message);
          send(res, e.status, { success: false, errors: [{ code: e.code, message: e.message }], messages: [], result: null });
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/client/v4`,
    accountId,
    token,
    queues,
    workers,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

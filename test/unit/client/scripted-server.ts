/**
 * A real HTTP server on 127.0.0.1 (port 0) that answers each request with the next scripted reply,
 * and records what it received. Once the script runs out it answers `'ok'`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { UsageEventInput } from '../../../src/contracts/usage-event.ts';

export type Reply =
  /** 200 with a valid IngestResponse: every received event `inserted`. */
  | 'ok'
  /** Close the socket without answering (a network error for the client). */
  | 'destroy'
  /** Never answer (a timeout for the client). */
  | 'hang'
  | { status: number; headers?: Record<string, string>; body?: string | object };

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  body: { events: Record<string, unknown>[] };
}

export interface ScriptedServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  requests: Received[];
  script(...replies: Reply[]): void;
  /** Forget the requests received and any reply not used yet. */
  reset(): void;
  close(): Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const requests: Received[] = [];
  const queue: Reply[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'];
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(queue.shift() ?? 'ok', body, res);
    });
  });

  function answer(reply: Reply, body: Received['body'], res: ServerResponse) {
    if (reply === 'destroy') return void res.socket?.destroy();
    if (reply === 'hang') return;
    if (reply === 'ok') {
      const n = body.events.length;
      const payload = {
        inserted: n,
        updated: 0,
        unchanged: 0,
        events: body.events.map((_, index) => ({ index, id: randomUUID(), outcome: 'inserted' })),
      };
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(payload));
      return;
    }
    const text = typeof reply.body === 'string' ? reply.body : reply.body === undefined ? '' : JSON.stringify(reply.body);
    res.writeHead(reply.status, reply.headers ?? {}).end(text);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...replies) => void queue.push(...replies),
    reset: () => {
      requests.length = 0;
      queue.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A problem+json reply the way the Worker writes one. */
export function problem(
  status: number,
  code: string,
  detail: string,
  extra: { headers?: Record<string, string>; errors?: { path: string; message: string }[] } = {},
): Reply {
  return {
    status,
    headers: { 'Content-Type': 'application/problem+json', ...extra.headers },
    body: {
      type: `/problems/${code}`,
      title: code,
      status,
      detail,
      code,
      requestId: randomUUID(),
      ...(extra.errors ? { errors: extra.errors } : {}),
    },
  };
}

/** `n` valid, distinct events (the seed's curl example, one job name per event). */
export function makeEvents(n: number, project = 'client-unit'): UsageEventInput[] {
  return Array.from({ length: n }, (_, i) => ({
    source: 'pbs' as const,
    time_window_start: '2025-11-19T00:00:00Z',
    time_window_end: '2025-11-20T00:00:00Z',
    collected_at: '2025-11-20T01:00:00Z',
    metrics: { cpu_time_seconds: 3600 + i, ram_bytes_allocated: 8589934592, vcpus_allocated: 4, walltime_used: 6800 },
    identities: [{ scheme: 'perun_user' as const, value: 'user123', authority: 'perun.cesnet.cz' }],
    context: { cluster: 'metacentrum', project, jobname: `${i}.meta`, job_count: 1 },
  }));
}

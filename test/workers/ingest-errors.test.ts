import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import type { MappingMessage } from '../../src/contracts/mapping-message.ts';
import { createDb } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { makeEvent, uniqueId } from '../support/events.ts';
import { TEST_COLLECTOR_KEY } from '../support/keys.ts';
import { postEvents, storedFor } from './helpers.ts';

interface ProblemBody {
  status: number;
  code: string;
  detail: string;
  requestId: string;
  errors?: { path: string; message: string }[];
}

async function expectProblem(res: Response, status: number, code: string): Promise<ProblemBody> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as ProblemBody;
  expect(body).toMatchObject({ status, code, type: `/problems/${code}` });
  expect(body.requestId).toBeTruthy();
  return body;
}

describe('POST /collector/resource-usage — security', () => {
  it('401 for a missing and for a wrong key, with the same answer and nothing stored', async () => {
    const project = uniqueId();
    const missing = await expectProblem(await postEvents({ events: [makeEvent({ project })] }, { key: null }), 401, 'unauthorized');
    const wrong = await expectProblem(await postEvents({ events: [makeEvent({ project })] }, { key: `${TEST_COLLECTOR_KEY}x` }), 401, 'unauthorized');
    expect(missing.detail).toBe(wrong.detail);
    expect(await storedFor(project)).toHaveLength(0);
  });

  it('checks the key before looking at the body', async () => {
    await expectProblem(await postEvents('not json', { key: 'nope', headers: { 'content-type': 'text/plain' } }), 401, 'unauthorized');
  });
});

describe('POST /collector/resource-usage — bad bodies', () => {
  it('415 when the body is not JSON', async () => {
    await expectProblem(await postEvents('{}', { headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  });

  it('413 when Content-Length is over the limit', async () => {
    const body = 'x'.repeat(5 * 1024 * 1024 + 1);
    await expectProblem(await postEvents(body), 413, 'payload_too_large');
  });

  it('413 for a streamed body without Content-Length once it passes the limit', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(1024 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const { exports } = await import('cloudflare:workers');
    const res = await exports.default.fetch('http://worker.test/collector/resource-usage', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-zeus-collector-key': TEST_COLLECTOR_KEY },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expectProblem(res, 413, 'payload_too_large');
    expect(sent).toBeLessThan(9);
  });

  it('400 for malformed JSON', async () => {
    const body = await expectProblem(await postEvents('{"events": [}'), 400, 'malformed_json');
    expect(body.detail).toMatch(/not valid JSON/);
  });
});

describe('POST /collector/resource-usage — invalid events refuse the whole batch', () => {
  const cases: [string, (e: ReturnType<typeof makeEvent>) => unknown, string][] = [
    ['unknown source', (e) => ({ ...e, source: 'slurm' }), 'events[3].source'],
    ['unknown identity scheme', (e) => ({ ...e, identities: [{ scheme: 'ldap', value: 'x' }] }), 'events[3].identities[0].scheme'],
    ['end not after start', (e) => ({ ...e, time_window_end: e.time_window_start }), 'events[3].time_window_end'],
    ['date-time without offset', (e) => ({ ...e, collected_at: '2026-01-02T00:00:00' }), 'events[3].collected_at'],
    ['negative metric', (e) => ({ ...e, metrics: { cpu_time_seconds: -1 } }), 'events[3].metrics.cpu_time_seconds'],
    ['non-numeric metric', (e) => ({ ...e, metrics: { walltime_used: '12' } }), 'events[3].metrics.walltime_used'],
    ['unknown metric', (e) => ({ ...e, metrics: { cpu_seconds: 1 } }), 'events[3].metrics'],
    ['missing metrics', ({ metrics: _m, ...e }) => e, 'events[3].metrics'],
  ];

  for (const [name, breakIt, path] of cases) {
    it(`${name} → 422 naming ${path}`, async () => {
      const project = uniqueId();
      const events: unknown[] = Array.from({ length: 5 }, (_, day) => makeEvent({ project, day }));
      events[3] = breakIt(events[3] as ReturnType<typeof makeEvent>);
      const body = await expectProblem(await postEvents({ events }), 422, 'validation_failed');
      expect(body.errors?.map((e) => e.path)).toContain(path);
      expect(await storedFor(project)).toHaveLength(0);
    });
  }

  it('names every failing path, not just the first', async () => {
    const events = [makeEvent(), { ...makeEvent(), source: 'x' }, { ...makeEvent(), metrics: { gpu_time_seconds: -5 } }];
    const body = await expectProblem(await postEvents({ events }), 422, 'validation_failed');
    expect(body.errors?.map((e) => e.path).sort()).toEqual(['events[1].source', 'events[2].metrics.gpu_time_seconds']);
  });

  it('an empty list and more than 1000 events are refused', async () => {
    const empty = await expectProblem(await postEvents({ events: [] }), 422, 'validation_failed');
    expect(empty.errors?.[0]?.path).toBe('events');
    const project = uniqueId();
    const tooMany = Array.from({ length: 1001 }, (_, day) => makeEvent({ project, day }));
    const over = await expectProblem(await postEvents({ events: tooMany }), 422, 'validation_failed');
    expect(over.errors?.[0]).toMatchObject({ path: 'events', message: 'must hold at most 1000 events' });
    expect(await storedFor(project)).toHaveLength(0);
  });

  it('a body without events is refused naming events', async () => {
    const body = await expectProblem(await postEvents({ event: [] }), 422, 'validation_failed');
    expect(body.errors?.map((e) => e.path)).toContain('events');
  });
});

describe('POST /collector/resource-usage — database unreachable', () => {
  it('503 with Retry-After, nothing enqueued', async () => {
    const config = parseConfig({ ...env, DATABASE_URL: 'postgresql://zeus@down.test/zeus', DATABASE_HTTP_URL: 'http://127.0.0.1:9/sql' });
    const sent: MappingMessage[] = [];
    const mappingQueue = {
      send: async (m: MappingMessage) => {
        sent.push(m);
        await env.MAPPING_QUEUE.send(m);
      },
      sendBatch: async () => undefined,
    } as unknown as Queue<MappingMessage>;
    const app = createApp(() => ({ config, db: createDb(config), mappingQueue, collectQueue: env.COLLECT_QUEUE, alertsQueue: env.ALERTS_QUEUE }));
    const res = await app.request('/collector/resource-usage', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-zeus-collector-key': TEST_COLLECTOR_KEY },
      body: JSON.stringify({ events: [makeEvent()] }),
    });
    await expectProblem(res, 503, 'database_unavailable');
    expect(res.headers.get('retry-after')).toBe('5');
    expect(sent).toEqual([]);
  });
});

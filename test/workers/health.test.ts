import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { createDb } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';

describe('GET /health', () => {
  it('answers ok after a select 1 through the driver and the gateway', async () => {
    const res = await exports.default.fetch('http://worker.test/health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; database: { status: string; latency_ms: number } };
    expect(body.status).toBe('ok');
    expect(body.database.status).toBe('ok');
    expect(body.database.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('answers an unknown route with a problem', async () => {
    const res = await exports.default.fetch('http://worker.test/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 404, code: 'not_found', detail: 'no route for GET /nope' });
  });
});

describe('GET /health with the database unreachable', () => {
  it('answers 503 problem+json with Retry-After, naming no secret', async () => {
    const config = parseConfig({
      ...env,
      DATABASE_URL: 'postgresql://zeus:s3cret@unreachable.test/zeus',
      DATABASE_HTTP_URL: 'http://127.0.0.1:9/sql',
    });
    const services = {
      config,
      db: createDb(config),
      mappingQueue: env.MAPPING_QUEUE,
      collectQueue: env.COLLECT_QUEUE,
      alertsQueue: env.ALERTS_QUEUE,
    };
    const app = createApp(() => services);
    const res = await app.request('/health');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('5');
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ status: 503, code: 'database_unavailable' });
    expect(text).not.toContain('s3cret');
  });
});

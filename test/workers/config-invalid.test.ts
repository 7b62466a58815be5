import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src/index.ts';

afterEach(() => vi.restoreAllMocks());

describe('the Worker with an invalid configuration', () => {
  it('answers every route, /health included, 500 problem+json config_invalid, and logs one line per isolate', async () => {
    const lines: string[] = [];
    // Observe what the Worker logs (the real console still prints nothing extra: we only record).
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    const bad = { ...env, COLLECTOR_API_KEY: 'short', INGEST_MAX_BODY_BYTES: '-5' } as unknown as Env;
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    for (const path of ['/health', '/usage?from=2026-01-01&to=2026-01-02', '/nope', '/health']) {
      const res = await worker.fetch(new Request(`http://worker.test${path}`), bad, ctx);
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const body = (await res.json()) as { code: string; detail: string };
      expect(body.code).toBe('config_invalid');
      expect(body.detail).not.toContain('short');
    }
    // A second env object with the same error (a new request in the same isolate): still no new line.
    await worker.fetch(new Request('http://worker.test/health'), { ...bad } as Env, ctx);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', code: 'config_invalid' });
    expect(lines[0]).toContain('COLLECTOR_API_KEY');
    expect(lines[0]).toContain('INGEST_MAX_BODY_BYTES');
    expect(lines[0]).not.toContain('short');
    expect(lines[0]).not.toMatch(/\n\s+at /);
  });
});

import { describe, expect, it } from 'vitest';
import { isRetryable, parseRetryAfter, retryDelayMs } from '../../../src/client/retry.ts';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');

  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 5 ', now)).toBe(5000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sunday, 01-Mar-26 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun Mar  1 12:00:30 2026', now)).toBeGreaterThanOrEqual(0);
  });

  it('treats a past date as now and ignores anything else', () => {
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
    for (const v of [null, undefined, '', '-1', '1.5', 'soon', 'Mon, 99 Foo 2026']) {
      expect(parseRetryAfter(v, now)).toBeUndefined();
    }
  });
});

describe('retryDelayMs', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999999 };

  it('doubles the jitter ceiling each attempt up to maxDelayMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelayMs(a, undefined, policy))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(retryDelayMs(3, undefined, { ...policy, random: () => 0 })).toBe(0);
  });

  it('prefers Retry-After, still bounded', () => {
    expect(retryDelayMs(1, 300, policy)).toBe(300);
    expect(retryDelayMs(1, 60_000, policy)).toBe(1000);
  });
});

describe('isRetryable', () => {
  it('retries 429, 5xx, network and timeout; nothing else', () => {
    const http = (status: number) => isRetryable({ kind: 'http', status, message: '' });
    expect([429, 500, 502, 503, 504].map(http)).toEqual([true, true, true, true, true]);
    expect([400, 401, 403, 404, 409, 413, 415, 422].map(http).some(Boolean)).toBe(false);
    expect(isRetryable({ kind: 'network', message: '' })).toBe(true);
    expect(isRetryable({ kind: 'timeout', message: '' })).toBe(true);
    expect(isRetryable({ kind: 'parse', status: 200, message: '', body: '' })).toBe(false);
  });
});

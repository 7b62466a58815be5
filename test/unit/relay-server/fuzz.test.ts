import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayProcess, rawRelayRequest, startRelayProcess } from '../../support/relay-process.ts';

/**
 * Property-based: generated paths, queries and methods, each correctly signed (so they get past the
 * signature check), at a real relay process. Never a 5xx, every 4xx a problem+json. Bounded runs.
 */
const FUZZ_RUNS = 50;
let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelayProcess({ accountingFiles: { '20251119': '' } });
});

afterAll(async () => {
  await relay?.stop();
});

const encode = (s: string) =>
  [...new TextEncoder().encode(s)]
    .map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`))
    .join('');
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(
    '\u0000',
    '\ud800',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59-05:00',
    '+275760-09-13T00:00:00Z',
    '2025-11-19T00:00:00Z',
    '2025-11-20T00:00:00Z',
    '../../etc/passwd',
    'accounting',
    'qstat',
    'db',
    '',
  ),
);
const rawPercent = fc.constantFrom('%00', '%ED%A0%80', '%FF', '%', '%zz');

describe('fuzz: the relay never answers 5xx to a signed request, every 4xx is problem+json', () => {
  it('generated paths, queries and methods', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/jobs', '/v1/instances', '/v1/health', '/v1/', '/'),
        fc.array(fc.tuple(fc.oneof(fc.constantFrom('from', 'to', 'source', 'limit'), nasty), fc.oneof(nasty.map(encode), rawPercent)), {
          maxLength: 5,
        }),
        fc.constantFrom('GET', 'GET', 'GET', 'POST', 'DELETE'),
        async (path, pairs, method) => {
          const query = pairs.map(([k, v]) => `${encode(k)}=${v}`).join('&');
          const target = query ? `${path}?${query}` : path;
          const res = await rawRelayRequest(relay.url, target, { method });
          expect(res.status, `${method} ${target}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
          if (res.status >= 400) {
            expect(res.headers['content-type'], target).toBe('application/problem+json');
            expect((JSON.parse(res.body) as { status: number }).status).toBe(res.status);
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  }, 120_000);
});

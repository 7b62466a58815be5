import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplayGuard, signRelayRequest, UniqueSigningClock } from '../../../src/contracts/relay-signing.ts';
import { type RelayProcess, rawRelayRequest, startRelayProcess, TEST_RELAY_SECRET } from '../../support/relay-process.ts';

let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelayProcess({ accountingFiles: { '20251119': '' } });
});

afterAll(async () => {
  await relay?.stop();
});

describe('relay signatures are good once', () => {
  it('the same signed request sent again within the window is refused with 401, and logged as a replay', async () => {
    const headers = await signRelayRequest(TEST_RELAY_SECRET, 'GET', '/v1/health');
    expect((await rawRelayRequest(relay.url, '/v1/health', { secret: null, headers })).status).toBe(200);
    const again = await rawRelayRequest(relay.url, '/v1/health', { secret: null, headers });
    expect(again.status).toBe(401);
    expect(again.headers['content-type']).toBe('application/problem+json');
    // The same MAC in upper-case hex is the same signature.
    const upper = { ...headers, 'X-Relay-Signature': headers['X-Relay-Signature']!.toUpperCase() };
    expect((await rawRelayRequest(relay.url, '/v1/health', { secret: null, headers: upper })).status).toBe(401);
    await relay.waitForLog((l) => l.auth === 'replay');
  });

  it('signing afresh (what the Worker does for every attempt) is accepted, even many times in the same second', async () => {
    for (let i = 0; i < 5; i++) expect((await rawRelayRequest(relay.url, '/v1/health')).status).toBe(200);
  });
});

describe('two callers in the same second (two Worker isolates, each with its own clock)', () => {
  it('sign different strings through request_id, so both are served; the relay logs the id', async () => {
    const window = '/v1/jobs?from=2025-11-19T00%3A00%3A00.000Z&to=2025-11-20T00%3A00%3A00.000Z';
    const now = Math.floor(Date.now() / 1000);
    for (const id of ['isolate-a', 'isolate-b']) {
      const path = `${window}&request_id=${id}`;
      const headers = await signRelayRequest(TEST_RELAY_SECRET, 'GET', path, now);
      expect((await rawRelayRequest(relay.url, path, { secret: null, headers })).status).toBe(200);
    }
    await relay.waitForLog((l) => l.caller_request_id === 'isolate-b');
    // Without it, the second caller's identical signature is a replay.
    const headers = await signRelayRequest(TEST_RELAY_SECRET, 'GET', window, now);
    expect((await rawRelayRequest(relay.url, window, { secret: null, headers })).status).toBe(200);
    expect((await rawRelayRequest(relay.url, window, { secret: null, headers })).status).toBe(401);
  });

  it('a malformed request_id is a 400 naming it', async () => {
    const res = await rawRelayRequest(relay.url, '/v1/jobs?from=2025-11-19T00%3A00%3A00.000Z&to=2025-11-20T00%3A00%3A00.000Z&request_id=a%20b');
    expect(res.status).toBe(400);
    expect(res.body).toContain('request_id');
  });
});

describe('UniqueSigningClock and ReplayGuard', () => {
  it('the clock never gives the same second twice for one path, and leaves other paths alone', () => {
    const clock = new UniqueSigningClock();
    expect([clock.next('GET', '/a', 100), clock.next('GET', '/a', 100), clock.next('GET', '/a', 100), clock.next('GET', '/b', 100)]).toEqual([
      100, 101, 102, 100,
    ]);
    expect(clock.next('GET', '/a', 500)).toBe(500);
  });

  it('the guard forgets a signature once its window has passed, and is bounded', () => {
    const guard = new ReplayGuard(2);
    expect(guard.accept('aa', 1000, 1000)).toBe('ok');
    expect(guard.accept('AA', 1000, 1200)).toBe('replay');
    expect(guard.accept('bb', 1000, 1000)).toBe('ok');
    expect(guard.accept('cc', 1000, 1000)).toBe('full');
    expect(guard.accept('cc', 1301, 1301)).toBe('ok');
    expect(guard.size).toBe(1);
  });
});

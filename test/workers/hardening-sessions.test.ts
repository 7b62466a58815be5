import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { issueSession, SESSION_TTL_SECONDS } from '../../src/http/routes/operator/session.ts';
import { TEST_ADMIN_KEY } from '../support/keys.ts';

const ORIGIN = 'http://worker.test';

function request(path: string, init: RequestInit & { cookie?: string } = {}) {
  const { cookie, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (cookie) headers.set('cookie', cookie);
  return exports.default.fetch(`${ORIGIN}${path}`, { ...rest, headers, redirect: 'manual' });
}

const signIn = () =>
  request('/operator/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
    body: new URLSearchParams({ key: TEST_ADMIN_KEY }).toString(),
  });

describe('operator sessions', () => {
  it('a correctly signed cookie whose expiry lies beyond now + the TTL is refused', async () => {
    const now = new Date();
    const good = await issueSession(TEST_ADMIN_KEY, now);
    expect((await request('/operator', { cookie: `zeus_operator=${good}` })).status).toBe(200);
    const forever = await issueSession(TEST_ADMIN_KEY, now, 10 * 365 * 86_400);
    expect((await request('/operator', { cookie: `zeus_operator=${forever}` })).status).toBe(401);
    const justOver = await issueSession(TEST_ADMIN_KEY, now, SESSION_TTL_SECONDS + 120);
    expect((await request('/operator', { cookie: `zeus_operator=${justOver}` })).status).toBe(401);
  });

  it('sign-out revokes the session: the same cookie, replayed, no longer signs in', async () => {
    const res = await signIn();
    expect(res.status).toBe(303);
    const pair = res.headers
      .getAll('set-cookie')
      .find((l) => l.startsWith('zeus_operator='))!
      .split(';')[0]!;
    expect((await request('/operator', { cookie: pair })).status).toBe(200);
    const out = await request('/operator/sign-out', { method: 'POST', cookie: pair, headers: { origin: ORIGIN } });
    expect(out.status).toBe(303);
    expect((await request('/operator', { cookie: pair })).status).toBe(401);
    // Another session (signed in separately) is not affected.
    const other = (await signIn()).headers
      .getAll('set-cookie')
      .find((l) => l.startsWith('zeus_operator='))!
      .split(';')[0]!;
    expect((await request('/operator', { cookie: other })).status).toBe(200);
  });

  it('POST /operator/sign-in reads a chunked body through the streaming limit: 413 long before 200 MiB are read', async () => {
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled++ < 200) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await request('/operator/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      body,
    });
    expect(res.status).toBe(413);
    expect(res.headers.getAll('set-cookie')).toEqual([]);
    expect(pulled).toBeLessThan(10);
  });
});

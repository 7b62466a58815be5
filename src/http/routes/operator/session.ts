/**
 * Operator sessions for the page: a cookie that holds a signed expiry, never the key itself.
 *
 * Token `v1.<expires, unix seconds>.<nonce>.<signature>`, the signature being HMAC-SHA256 over
 * `zeus-operator-session/v1.<expires>.<nonce>` keyed by the admin key the operator signed in with.
 * A token is valid while it has not expired and its signature matches one of the configured
 * ADMIN_API_KEY values, compared in full for every key (no early exit, so the time taken does not
 * tell which byte or key differed). Removing a key from ADMIN_API_KEY thus ends its sessions. An
 * expiry later than now + SESSION_TTL_SECONDS is refused (no token this code issues has one), and
 * sign-out records the token's nonce as revoked in the database (operator_session_revocations).
 */
export const SESSION_COOKIE = 'zeus_operator';
export const SESSION_PATH = '/operator';
/** How long a sign-in lasts. */
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

const CONTEXT = 'zeus-operator-session/v1';
const TOKEN = /^v1\.(\d{10})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

async function hmac(key: string, message: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, encoder.encode(message)));
}

/** A session token for an operator who presented `adminKey` (already checked against ADMIN_API_KEY). */
export async function issueSession(adminKey: string, now = new Date(), ttlSeconds = SESSION_TTL_SECONDS): Promise<string> {
  const expires = Math.floor(now.getTime() / 1000) + ttlSeconds;
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const signature = await hmac(adminKey, `${CONTEXT}.${expires}.${nonce}`);
  return `v1.${expires}.${nonce}.${base64url(signature)}`;
}

/** The verified session's nonce and expiry (ISO), for revocation; undefined when the token is not valid. */
export async function verifiedSession(
  token: string | undefined,
  adminKeys: readonly string[],
  now = new Date(),
): Promise<{ nonce: string; expiresAt: string } | undefined> {
  if (!(await verifySession(token, adminKeys, now))) return undefined;
  const [, expires, nonce] = TOKEN.exec(token ?? '') as unknown as [string, string, string];
  return { nonce, expiresAt: new Date(Number(expires) * 1000).toISOString() };
}

/** Whether `token` was issued with one of `adminKeys`, has not expired, and expires no later than now + the TTL. */
export async function verifySession(token: string | undefined, adminKeys: readonly string[], now = new Date()): Promise<boolean> {
  const m = TOKEN.exec(token ?? '');
  if (!m) return false;
  const [, expires, nonce, signature] = m as unknown as [string, string, string, string];
  const given = fromBase64url(signature);
  let matched = 0;
  for (const key of adminKeys) {
    const expected = await hmac(key, `${CONTEXT}.${expires}.${nonce}`);
    let diff = expected.length ^ given.length;
    for (let i = 0; i < expected.length; i++) diff |= expected[i]! ^ (given[i] ?? 0);
    matched |= diff === 0 ? 1 : 0;
  }
  const nowSeconds = now.getTime() / 1000;
  return matched === 1 && Number(expires) > nowSeconds && Number(expires) <= nowSeconds + SESSION_TTL_SECONDS;
}

/**
 * Signed requests between the Worker and the relay (docs/architecture.md §2):
 * `X-Relay-Timestamp` = unix seconds, `X-Relay-Signature` = hex HMAC-SHA256 of
 * `timestamp + "\n" + METHOD + "\n" + path-with-query` under a shared secret. Several secrets may be
 * accepted at once (rotation); a timestamp more than 300 s off is refused.
 * WebCrypto only: the same code runs in the Worker and in the Node relay.
 */
export const RELAY_TIMESTAMP_HEADER = 'X-Relay-Timestamp';
export const RELAY_SIGNATURE_HEADER = 'X-Relay-Signature';
export const MAX_CLOCK_SKEW_SECONDS = 300;

const encoder = new TextEncoder();

const hmacKey = (secret: string, usage: 'sign' | 'verify') =>
  crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);

const canonical = (timestamp: string, method: string, pathWithQuery: string) =>
  encoder.encode(`${timestamp}\n${method.toUpperCase()}\n${pathWithQuery}`);

const toHex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

function fromHex(hex: string): Uint8Array | undefined {
  if (!/^[0-9a-f]{64}$/i.test(hex)) return undefined;
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

/** Headers for a signed request; `nowSeconds` is injectable for clock-skew tests. */
export async function signRelayRequest(
  secret: string,
  method: string,
  pathWithQuery: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<Record<string, string>> {
  const timestamp = String(nowSeconds);
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), canonical(timestamp, method, pathWithQuery));
  return { [RELAY_TIMESTAMP_HEADER]: timestamp, [RELAY_SIGNATURE_HEADER]: toHex(mac) };
}

export type RelayAuthFailure = 'missing' | 'malformed' | 'skew' | 'signature';

/**
 * Check a request against every accepted secret (HMAC verification is constant-time; every secret is
 * tried). Returns null when it is valid, else why not (for the relay's log, never for the response).
 */
export async function verifyRelayRequest(
  secrets: readonly string[],
  headers: { timestamp: string | null | undefined; signature: string | null | undefined },
  method: string,
  pathWithQuery: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<RelayAuthFailure | null> {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature) return 'missing';
  const mac = fromHex(signature);
  if (!/^\d{1,12}$/.test(timestamp) || !mac) return 'malformed';
  if (Math.abs(nowSeconds - Number(timestamp)) > MAX_CLOCK_SKEW_SECONDS) return 'skew';
  let ok = false;
  for (const secret of secrets) {
    const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret, 'verify'), mac, canonical(timestamp, method, pathWithQuery));
    ok = ok || valid;
  }
  return ok ? null : 'signature';
}

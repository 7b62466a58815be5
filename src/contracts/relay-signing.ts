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

/**
 * The relay accepts each signature once (a replay within the window is refused), and the signing string
 * holds only the second, the method and the path: two requests for the same path in the same second
 * would carry the same signature. The Worker therefore signs each attempt with a timestamp no earlier
 * than one past the last it used for that method and path (well inside the ±300 s window).
 */
export class UniqueSigningClock {
  private readonly last = new Map<string, number>();

  /** The timestamp to sign `method pathWithQuery` with now: `nowSeconds`, or one past the last one used for it. */
  next(method: string, pathWithQuery: string, nowSeconds = Math.floor(Date.now() / 1000)): number {
    const key = `${method.toUpperCase()} ${pathWithQuery}`;
    const at = Math.max(nowSeconds, (this.last.get(key) ?? -Infinity) + 1);
    this.last.set(key, at);
    // Bounded: forget what can no longer collide (older than the window).
    if (this.last.size > 1000) for (const [k, t] of this.last) if (t < nowSeconds - MAX_CLOCK_SKEW_SECONDS) this.last.delete(k);
    return at;
  }
}

/** The one clock of this process (or isolate): signRelayRequest's default, and the collector's. */
export const relaySigningClock = new UniqueSigningClock();

/**
 * Headers for a signed request; `nowSeconds` is injectable for clock-skew tests. Without it, the
 * timestamp is unique for this method and path in this process (UniqueSigningClock), so a signature is
 * never produced twice.
 */
export async function signRelayRequest(
  secret: string,
  method: string,
  pathWithQuery: string,
  nowSeconds = relaySigningClock.next(method, pathWithQuery),
): Promise<Record<string, string>> {
  const timestamp = String(nowSeconds);
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), canonical(timestamp, method, pathWithQuery));
  return { [RELAY_TIMESTAMP_HEADER]: timestamp, [RELAY_SIGNATURE_HEADER]: toHex(mac) };
}

/**
 * Signatures a relay has accepted, each remembered until its timestamp leaves the ±300 s window, so a
 * second use is refused. Bounded: at `capacity` live entries new requests are refused (only a holder of
 * a secret can fill it, and only within 300 s).
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly capacity = 100_000) {}

  /** Records a verified signature; 'replay' if it was used before, 'full' if there is no room. */
  accept(signature: string, timestamp: number, nowSeconds = Math.floor(Date.now() / 1000)): 'ok' | 'replay' | 'full' {
    const key = signature.toLowerCase();
    const until = this.seen.get(key);
    if (until !== undefined && until >= nowSeconds) return 'replay';
    for (const [k, t] of this.seen) {
      if (t >= nowSeconds) break;
      this.seen.delete(k);
    }
    if (this.seen.size >= this.capacity) {
      for (const [k, t] of this.seen) if (t < nowSeconds) this.seen.delete(k);
      if (this.seen.size >= this.capacity) return 'full';
    }
    this.seen.delete(key);
    this.seen.set(key, timestamp + MAX_CLOCK_SKEW_SECONDS);
    return 'ok';
  }

  get size(): number {
    return this.seen.size;
  }
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

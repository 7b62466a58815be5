import type { OpenStackConfig } from './config.ts';
import { expectShape, requestJson, UpstreamError } from './http.ts';

/**
 * A Keystone v3 session: a token from `POST {auth}/auth/tokens` (application credential or password),
 * the endpoints of its catalog for the configured interface and region, and a new token before the
 * old one expires. The token and the credentials never leave this module except in the
 * `X-Auth-Token` header of a request.
 */

interface CatalogEndpoint {
  interface?: string;
  region?: string | null;
  region_id?: string | null;
  url?: string;
}
interface CatalogEntry {
  type?: string;
  endpoints?: CatalogEndpoint[];
}
interface TokenBody {
  token?: { expires_at?: string; issued_at?: string; catalog?: CatalogEntry[] };
}

interface Token {
  value: string;
  /** Renew at this time (ms): before it expires, by at most 10 minutes or half its life. */
  renewAt: number;
  catalog: CatalogEntry[];
}

export type ServiceType = 'compute' | 'identity';

export class KeystoneSession {
  private token: Token | undefined;
  private pending: Promise<Token> | undefined;

  constructor(
    private readonly config: Pick<OpenStackConfig, 'authUrl' | 'auth' | 'interface' | 'region' | 'timeoutMs'>,
    private readonly now: () => number = Date.now,
  ) {}

  private body(): unknown {
    const auth = this.config.auth;
    if (auth.method === 'application_credential') {
      return {
        auth: { identity: { methods: ['application_credential'], application_credential: { id: auth.id, secret: auth.secret } } },
      };
    }
    return {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: auth.username, domain: { name: auth.userDomainName }, password: auth.password } },
        },
        scope: { project: { name: auth.projectName, domain: { name: auth.projectDomainName } } },
      },
    };
  }

  private async authenticate(signal: AbortSignal): Promise<Token> {
    const res = await requestJson<TokenBody>({
      service: 'keystone',
      url: `${this.config.authUrl}/auth/tokens`,
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(this.body()),
      signal,
      timeoutMs: this.config.timeoutMs,
      what: `(${this.config.auth.method === 'password' ? 'password' : 'application credential'})`,
    }).catch((err: unknown) => {
      if (err instanceof UpstreamError && err.status === 401) {
        throw new UpstreamError('keystone', 'http', `${err.message.replace(/^keystone: /, '')} (the credentials were refused)`, 401);
      }
      throw err;
    });
    const value = res.header('x-subject-token');
    const token = res.body?.token;
    const expires = Date.parse(token?.expires_at ?? '');
    expectShape(
      !!value && !!token && Array.isArray(token.catalog) && Number.isFinite(expires),
      'keystone',
      'the token answer lacks X-Subject-Token, expires_at or catalog',
    );
    const issued = Date.parse(token.issued_at ?? '') || this.now();
    const margin = Math.min(600_000, Math.max(0, expires - issued) / 2);
    return { value, renewAt: expires - margin, catalog: token.catalog ?? [] };
  }

  /** A token valid for a while yet (one authentication at a time, shared by concurrent callers). */
  private async current(signal: AbortSignal): Promise<Token> {
    if (this.token && this.now() < this.token.renewAt) return this.token;
    this.pending ??= this.authenticate(signal).finally(() => {
      this.pending = undefined;
    });
    this.token = await this.pending;
    return this.token;
  }

  /** Headers that authenticate a request to a service of the catalog. */
  async headers(signal: AbortSignal): Promise<Record<string, string>> {
    return { 'X-Auth-Token': (await this.current(signal)).value };
  }

  /** Forget the token (after a 401: the next request authenticates again). */
  invalidate(): void {
    this.token = undefined;
  }

  /** The catalog's URL of a service for the configured interface (and region), without a trailing slash. */
  async endpoint(type: ServiceType, signal: AbortSignal): Promise<string> {
    const { catalog } = await this.current(signal);
    const iface = this.config.interface;
    const region = this.config.region;
    const candidates = catalog.filter((c) => c.type === type).flatMap((c) => c.endpoints ?? []);
    const found = candidates.find(
      (e) => e.interface === iface && (!region || e.region_id === region || e.region === region) && typeof e.url === 'string',
    );
    if (!found?.url) {
      const offered = candidates.map((e) => `${e.interface}/${e.region_id ?? e.region ?? '-'}`).join(', ') || 'none';
      throw new UpstreamError(
        'keystone',
        'parse',
        `the token's catalog has no ${type} endpoint for interface ${iface}${region ? ` in region ${region}` : ''} (offered: ${offered}); check RELAY_OPENSTACK_INTERFACE and RELAY_OPENSTACK_REGION`,
      );
    }
    return found.url.replace(/\/+$/, '');
  }
}

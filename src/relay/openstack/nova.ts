import { expectShape, requestJson, UpstreamError } from './http.ts';
import type { KeystoneSession } from './keystone.ts';

/**
 * Nova's compute API as the relay reads it (docs/architecture.md §5, docs/openstack.md): servers of every
 * project page by page, instance actions page by page, and flavors by id for a Nova too old to embed
 * them. The microversion is negotiated once per endpoint from Nova's version document.
 */

/** The microversion the relay asks for when Nova offers it: servers of unreachable cells show as UNKNOWN (2.69). */
export const PREFERRED_MICROVERSION = [2, 69] as const;
/** Below this, a deleted server's actions cannot be read (2.21, Mitaka). */
export const REQUIRED_MICROVERSION = [2, 21] as const;
/** From this on, a server embeds its flavor with extra specs (2.47, Pike). */
export const EMBEDDED_FLAVOR_MICROVERSION = [2, 47] as const;
/** From this on, instance actions are paged (`limit`, `marker`, `links`). */
export const PAGED_ACTIONS_MICROVERSION = [2, 58] as const;
/**
 * Servers (and instance actions) asked for a page. Nova answers at most its `max_limit` (1000 by
 * default) whatever is asked; a page's parsed objects are most of what the relay holds at once, and
 * 200 (cASO's page size too) keeps a window's peak under 100 MiB resident for 20,000 to 60,000 servers.
 */
export const PAGE_LIMIT = 200;

type Version = readonly [number, number];
const atLeast = (v: Version, min: Version) => v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);
const text = (v: Version) => `${v[0]}.${v[1]}`;

export interface NovaLink {
  rel?: string;
  href?: string;
}

/** The fields of a server the relay reads (Nova's `GET /servers/detail`). */
export interface NovaServer {
  id: string;
  name?: string | null;
  status: string;
  tenant_id: string;
  user_id?: string | null;
  created: string;
  updated: string;
  'OS-SRV-USG:launched_at'?: string | null;
  'OS-SRV-USG:terminated_at'?: string | null;
  /** From 2.47: the flavor itself; before: `{id, links}`. */
  flavor?: {
    id?: string;
    original_name?: string;
    vcpus?: number;
    ram?: number;
    disk?: number;
    ephemeral?: number;
    extra_specs?: Record<string, unknown>;
  };
}

export interface NovaAction {
  action: string;
  start_time: string;
  request_id?: string;
}

export interface NovaFlavor {
  name: string | null;
  vcpus: number;
  ram: number;
  disk: number;
  ephemeral: number;
  extra_specs: Record<string, unknown>;
}

export interface NovaCounters {
  pages: number;
  servers: number;
  actionPages: number;
}

export interface NovaOptions {
  timeoutMs: number;
}

const nextMarker = (links: NovaLink[] | undefined, fallback: string | undefined): string | undefined => {
  const next = links?.find((l) => l.rel === 'next');
  if (!next) return undefined;
  try {
    return new URL(next.href ?? '', 'http://nova.invalid').searchParams.get('marker') ?? fallback;
  } catch {
    return fallback;
  }
};

export class NovaClient {
  private negotiated: { endpoint: string; version: Version } | undefined;

  constructor(
    private readonly session: KeystoneSession,
    private readonly options: NovaOptions,
  ) {}

  /** The microversion in use, e.g. `2.69` (after the first request). */
  get microversion(): string {
    return this.negotiated ? text(this.negotiated.version) : 'unknown';
  }

  get embedsFlavors(): boolean {
    return !!this.negotiated && atLeast(this.negotiated.version, EMBEDDED_FLAVOR_MICROVERSION);
  }

  /**
   * Read the compute endpoint's version document (`GET …/v2.1/`) and settle on min(offered, 2.69).
   * A Nova without 2.21 cannot tell a deleted server's history: the window fails, saying so.
   */
  async negotiate(signal: AbortSignal): Promise<{ endpoint: string; version: Version }> {
    const endpoint = await this.session.endpoint('compute', signal);
    if (this.negotiated?.endpoint === endpoint) return this.negotiated;
    // The catalog's URL may carry the project id after /v2.1; the version document is at /v2.1/.
    const root = /^(.*\/v2(?:\.1)?)(?:\/.*)?$/.exec(endpoint)?.[1] ?? endpoint;
    const res = await this.call<{ version?: { version?: string } }>(`${root}/`, {}, signal, '(version document)');
    const offered = /^(\d+)\.(\d+)$/.exec(res.body?.version?.version ?? '');
    const max: Version = offered ? [Number(offered[1]), Number(offered[2])] : [2, 0];
    if (!atLeast(max, REQUIRED_MICROVERSION)) {
      throw new UpstreamError(
        'nova',
        'parse',
        `the compute API at ${root} offers microversions up to ${offered ? text(max) : 'none'}; the relay needs ${text(REQUIRED_MICROVERSION)} or later (Nova Mitaka) to read deleted servers' history`,
      );
    }
    const version = atLeast(max, PREFERRED_MICROVERSION) ? PREFERRED_MICROVERSION : max;
    this.negotiated = { endpoint, version };
    return this.negotiated;
  }

  /** One authenticated request; a 401 drops the token, so that the next window authenticates again. */
  private async call<T>(url: string, headers: Record<string, string>, signal: AbortSignal, what?: string, allow?: number[]) {
    try {
      return await requestJson<T>({
        service: 'nova',
        url,
        headers: { ...(await this.session.headers(signal)), ...headers },
        signal,
        timeoutMs: this.options.timeoutMs,
        ...(what ? { what } : {}),
        ...(allow ? { allow } : {}),
      });
    } catch (err) {
      if (err instanceof UpstreamError && err.status === 401) this.session.invalidate();
      throw err;
    }
  }

  private async get<T>(path: string, signal: AbortSignal, what?: string, allow?: number[]): Promise<{ status: number; body: T }> {
    const { endpoint, version } = await this.negotiate(signal);
    const microversion = { 'OpenStack-API-Version': `compute ${text(version)}`, 'X-OpenStack-Nova-API-Version': text(version) };
    return this.call<T>(`${endpoint}${path}`, microversion, signal, what, allow);
  }

  /**
   * Servers of every project (`all_tenants=1`) and `params`, page after page, until Nova links no next
   * page (it links one whenever a page is full, so the last page may be empty). A page that fails
   * fails the whole listing.
   */
  async *serverPages(params: Record<string, string>, counters: NovaCounters, signal: AbortSignal): AsyncGenerator<NovaServer[]> {
    let marker: string | undefined;
    for (let page = 1; ; page++) {
      const query = new URLSearchParams({ all_tenants: '1', ...params, limit: String(PAGE_LIMIT) });
      if (marker) query.set('marker', marker);
      const { body } = await this.get<{ servers?: NovaServer[]; servers_links?: NovaLink[] }>(`/servers/detail?${query}`, signal, `(page ${page})`);
      expectShape(Array.isArray(body?.servers), 'nova', `GET /servers/detail (page ${page}): the answer has no servers list`);
      counters.pages++;
      counters.servers += body.servers.length;
      yield body.servers;
      const next = body.servers.length > 0 ? nextMarker(body.servers_links, body.servers.at(-1)?.id) : undefined;
      if (!next) return;
      if (next === marker) throw new UpstreamError('nova', 'parse', `GET /servers/detail (page ${page}): Nova linked the same page again`);
      marker = next;
    }
  }

  /**
   * A server's instance actions, newest first as Nova lists them, every page; or null when Nova no
   * longer has the server (404). With `knownBefore`, reading stops after a page that holds a
   * state-changing action older than it: the state at that time is then known, and older history
   * changes nothing.
   */
  async actions(
    serverId: string,
    counters: NovaCounters,
    signal: AbortSignal,
    knownBefore?: (action: NovaAction) => boolean,
  ): Promise<NovaAction[] | null> {
    const { version } = await this.negotiate(signal);
    const paged = atLeast(version, PAGED_ACTIONS_MICROVERSION);
    const all: NovaAction[] = [];
    let marker: string | undefined;
    for (let page = 1; ; page++) {
      const query = new URLSearchParams(paged ? { limit: String(PAGE_LIMIT), ...(marker ? { marker } : {}) } : {});
      const path = `/servers/${encodeURIComponent(serverId)}/os-instance-actions${paged ? `?${query}` : ''}`;
      const { status, body } = await this.get<{ instanceActions?: NovaAction[]; links?: NovaLink[] }>(path, signal, `(page ${page})`, [404]);
      counters.actionPages++;
      if (status === 404) return null;
      expectShape(Array.isArray(body?.instanceActions), 'nova', `GET ${path}: the answer has no instanceActions list`);
      all.push(...body.instanceActions);
      if (!paged || body.instanceActions.length === 0) return all;
      if (knownBefore && body.instanceActions.some(knownBefore)) return all;
      const next = nextMarker(body.links, body.instanceActions.at(-1)?.request_id);
      if (!next) return all;
      if (next === marker) throw new UpstreamError('nova', 'parse', `GET ${path}: Nova linked the same page again`);
      marker = next;
    }
  }

  /** A flavor by id, with its extra specs (for a Nova older than 2.47); null when it no longer exists. */
  async flavor(id: string, signal: AbortSignal): Promise<NovaFlavor | null> {
    const path = `/flavors/${encodeURIComponent(id)}`;
    const { status, body } = await this.get<{ flavor?: Record<string, unknown> }>(path, signal, undefined, [404]);
    if (status === 404) return null;
    const f = body?.flavor;
    expectShape(!!f && typeof f.vcpus === 'number' && typeof f.ram === 'number', 'nova', `GET ${path}: the answer has no flavor`);
    const specs = await this.get<{ extra_specs?: Record<string, unknown> }>(`${path}/os-extra-specs`, signal, undefined, [404]);
    return {
      name: typeof f.name === 'string' ? f.name : null,
      vcpus: f.vcpus as number,
      ram: f.ram as number,
      disk: typeof f.disk === 'number' ? f.disk : 0,
      ephemeral: typeof f['OS-FLV-EXT-DATA:ephemeral'] === 'number' ? (f['OS-FLV-EXT-DATA:ephemeral'] as number) : 0,
      extra_specs: specs.status === 404 ? {} : (specs.body?.extra_specs ?? {}),
    };
  }
}

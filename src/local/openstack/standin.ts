/**
 * A local Keystone v3 + Nova (+ Prometheus) stand-in over real HTTP, for `npm run dev`'s demo cloud,
 * the tests and the benchmark: the relay talks to it exactly as it talks to a cloud. It answers in the
 * shapes of the OpenStack API reference samples and the openstack-exporter fixtures
 * (test/fixtures/openstack): tokens with a catalog and an expiry, `servers/detail` paged the way Nova
 * pages (`limit` capped at `max_limit`, a next link whenever a page is full), `changes-since` with
 * deleted servers, instance actions (paged from 2.58, deleted servers from 2.21), flavors, project
 * names, microversion negotiation. Faults can be switched on to test what the relay does with them.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudModel, type CloudServer, novaNaive } from './model.ts';
import { atLeast, flavorView, type Microversion, serverView, tenantUsageView } from './nova-views.ts';
import { answerPrometheus, type PrometheusFaults } from './standin-prometheus.ts';

export interface StandinFaults {
  /** Answer this status for one page of a server listing (page numbers from 1). */
  serverPage?: { listing: 'changes-since' | 'live'; page: number; status: number };
  /** Cut the connection half-way through that page's body instead. */
  cutServerPage?: { listing: 'changes-since' | 'live'; page: number };
  /** Called as a page of a server listing is asked for, before it is answered (to change the cloud meanwhile). */
  beforeServerPage?: (listing: 'changes-since' | 'live', page: number) => void;
  /** Answer this status for the instance actions of these servers. */
  actions?: { serverIds: string[]; status: number };
  /** Hold every Nova answer this long (timeouts). */
  delayMs?: number;
  /** Refuse every token (as after a revocation): 401 on every request but authentication. */
  revokeTokens?: boolean;
  prometheus?: PrometheusFaults;
}

export interface StandinOptions {
  cloud: CloudModel;
  /** Nova's `max_limit` (default 1000). */
  maxLimit?: number;
  /** The highest compute microversion offered (default 2.96). */
  maxMicroversion?: string;
  /** How long a token lives (default one hour). */
  tokenLifetimeMs?: number;
  /** Keystone's `list_limit`: GET /v3/projects answers this many and says `truncated`. */
  keystoneListLimit?: number;
  faults?: StandinFaults;
  port?: number;
  /**
   * The cloud does not change while it is served (the benchmark): its listings are sorted once and
   * its servers found by id, instead of on every request (what tests that change the cloud need).
   */
  frozen?: boolean;
}

export interface StandinRequest {
  method: string;
  path: string;
  query: string;
  microversion: string | null;
  /** The status answered (0 until it is). */
  status: number;
}

export interface Standin {
  /** http://127.0.0.1:PORT */
  url: string;
  /** RELAY_OPENSTACK_AUTH_URL */
  authUrl: string;
  /** RELAY_PROMETHEUS_URL */
  prometheusUrl: string;
  cloud: CloudModel;
  faults: StandinFaults;
  /** Every request but authentication, in order. */
  requests: StandinRequest[];
  /** Tokens issued so far. */
  tokensIssued(): number;
  close(): Promise<void>;
}

const REGION = 'RegionOne';

/** The part of a Keystone `POST /v3/auth/tokens` body the stand-in checks. */
interface AuthRequest {
  identity?: {
    methods?: string[];
    application_credential?: { id?: string; secret?: string };
    password?: { user?: { name?: string; password?: string; domain?: { name?: string } } };
  };
  scope?: { project?: { name?: string; domain?: { name?: string } } };
}
const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
};
const unauthorized = (res: ServerResponse) =>
  json(res, 401, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
const notFound = (res: ServerResponse, message: string) => json(res, 404, { itemNotFound: { code: 404, message } });
const badRequest = (res: ServerResponse, message: string) => json(res, 400, { badRequest: { code: 400, message } });

function parseVersion(text: string): Microversion | null {
  const m = /^(\d+)\.(\d+)$/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** The microversion a request asks for (OpenStack-API-Version, else the legacy header; none: 2.1). */
function requestedVersion(req: IncomingMessage, max: Microversion): Microversion | 'unsupported' {
  const modern = /compute\s+(\S+)/.exec(String(req.headers['openstack-api-version'] ?? ''))?.[1];
  const asked = modern ?? (req.headers['x-openstack-nova-api-version'] as string | undefined);
  if (!asked) return [2, 1];
  if (asked === 'latest') return max;
  const v = parseVersion(asked);
  if (!v || !atLeast(v, 2, 1) || !atLeast(max, v[0], v[1])) return 'unsupported';
  return v;
}

export async function startStandin(options: StandinOptions): Promise<Standin> {
  const cloud = options.cloud;
  const faults: StandinFaults = options.faults ?? {};
  const maxLimit = options.maxLimit ?? 1000;
  const maxText = options.maxMicroversion ?? '2.96';
  const max = parseVersion(maxText)!;
  const lifetime = options.tokenLifetimeMs ?? 3_600_000;
  const tokens = new Map<string, number>();
  const requests: StandinRequest[] = [];
  let issued = 0;
  let base = '';

  const catalog = () => [
    {
      type: 'compute',
      name: 'nova',
      id: 'c0e1',
      endpoints: [
        ...(['public', 'internal', 'admin'] as const).map((iface) => ({
          id: `compute-${iface}`,
          interface: iface,
          region: REGION,
          region_id: REGION,
          url: `${base}/compute-${iface}/v2.1`,
        })),
        // Another region's endpoint, which answers nothing useful: picking the wrong one shows.
        { id: 'compute-other', interface: 'public', region: 'RegionTwo', region_id: 'RegionTwo', url: `${base}/other-region/v2.1` },
      ],
    },
    {
      type: 'identity',
      name: 'keystone',
      id: 'k0e1',
      endpoints: (['public', 'internal', 'admin'] as const).map((iface) => ({
        id: `identity-${iface}`,
        interface: iface,
        region: REGION,
        region_id: REGION,
        url: `${base}/identity`,
      })),
    },
  ];

  function authenticate(res: ServerResponse, body: string) {
    let auth: AuthRequest | undefined;
    try {
      auth = (JSON.parse(body) as { auth?: typeof auth }).auth;
    } catch {
      return badRequest(res, 'Expecting to find valid JSON in request body.');
    }
    const identity = auth?.identity ?? {};
    const methods = identity.methods ?? [];
    const { applicationCredential: ac, password: pw } = cloud.credentials;
    let ok = false;
    if (methods.includes('application_credential')) {
      const given = identity.application_credential ?? {};
      ok = !!ac && given.id === ac.id && given.secret === ac.secret;
    } else if (methods.includes('password')) {
      const user = identity.password?.user ?? {};
      const scope = auth?.scope?.project ?? {};
      ok =
        !!pw &&
        user.name === pw.username &&
        user.password === pw.password &&
        user.domain?.name === pw.userDomainName &&
        scope.name === pw.projectName &&
        scope.domain?.name === pw.projectDomainName;
    }
    if (!ok) return unauthorized(res);
    const token = randomUUID().replaceAll('-', '');
    const now = Date.now();
    tokens.set(token, now + lifetime);
    issued++;
    json(
      res,
      201,
      {
        token: {
          ...(methods.includes('application_credential') ? { application_credential: { id: ac!.id, name: 'usage-relay', restricted: true } } : {}),
          audit_ids: [randomUUID().slice(0, 22)],
          catalog: catalog(),
          expires_at: new Date(now + lifetime).toISOString().replace('Z', '000Z'),
          is_domain: false,
          issued_at: new Date(now).toISOString().replace('Z', '000Z'),
          methods,
          project: { domain: { id: 'default', name: 'Default' }, id: 'a0d9c1e5b0f24b8e9b1c2d3e4f5a6b7c', name: 'service' },
          roles: [{ id: '51cc68287d524c759f47c811e6463340', name: 'admin' }],
          user: {
            domain: { id: 'default', name: 'Default' },
            id: 'ee4dfb6e5540447cb3741905149d9b6e',
            name: 'usage-relay',
            password_expires_at: null,
          },
        },
      },
      { 'X-Subject-Token': token },
    );
  }

  const validToken = (req: IncomingMessage) => {
    const expires = tokens.get(String(req.headers['x-auth-token'] ?? ''));
    return !faults.revokeTokens && expires !== undefined && Date.now() < expires;
  };

  function keystone(res: ServerResponse, path: string) {
    const one = /^\/v3\/projects\/([^/]+)$/.exec(path);
    if (one) {
      const p = cloud.projects.find((x) => x.id === decodeURIComponent(one[1]!));
      if (!p) return json(res, 404, { error: { code: 404, title: 'Not Found', message: `Could not find project: ${one[1]}.` } });
      return json(res, 200, { project: projectView(p) });
    }
    if (path !== '/v3/projects') return json(res, 404, { error: { code: 404, title: 'Not Found', message: 'The resource could not be found.' } });
    const limit = options.keystoneListLimit;
    const listed = limit === undefined ? cloud.projects : cloud.projects.slice(0, limit);
    json(res, 200, {
      links: { next: null, previous: null, self: `${base}/identity/v3/projects` },
      projects: listed.map(projectView),
      ...(limit !== undefined && cloud.projects.length > limit ? { truncated: true } : {}),
    });
  }
  const projectView = (p: { id: string; name: string }) => ({
    is_domain: false,
    description: null,
    domain_id: 'default',
    enabled: true,
    id: p.id,
    links: { self: `${base}/identity/v3/projects/${p.id}` },
    name: p.name,
    parent_id: null,
    tags: [],
  });

  /** Servers of a listing, Nova's default order (newest created first, then id). */
  const listings = new Map<string, CloudServer[]>();
  function listing(params: URLSearchParams): CloudServer[] {
    const since = params.get('changes-since');
    const cached = options.frozen ? listings.get(String(since)) : undefined;
    if (cached) return cached;
    const sinceMs = since === null ? NaN : Date.parse(since);
    const chosen = cloud.servers.filter((s) => (since === null ? s.status !== 'DELETED' : Date.parse(s.updated) >= sinceMs));
    chosen.sort((a, b) => (a.created === b.created ? (a.id < b.id ? 1 : -1) : a.created < b.created ? 1 : -1));
    if (options.frozen) listings.set(String(since), chosen);
    return chosen;
  }
  const byId = options.frozen ? new Map(cloud.servers.map((s) => [s.id, s])) : undefined;
  const findServer = (id: string) => (byId ? byId.get(id) : cloud.servers.find((s) => s.id === id));

  async function nova(res: ServerResponse, path: string, params: URLSearchParams, v: Microversion) {
    const novaBase = `${base}/compute-public`;
    if (path === '/' || path === '') {
      return json(res, 200, {
        version: {
          id: 'v2.1',
          links: [
            { href: `${novaBase}/v2.1/`, rel: 'self' },
            { href: 'http://docs.openstack.org/', rel: 'describedby', type: 'text/html' },
          ],
          'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
          status: 'CURRENT',
          version: maxText,
          min_version: '2.1',
          updated: '2013-07-23T11:33:21Z',
        },
      });
    }
    if (path === '/servers/detail') {
      if (!params.has('all_tenants')) return json(res, 200, { servers: [] }); // the token's own project has none
      const which = params.has('changes-since') ? 'changes-since' : 'live';
      const limit = Math.min(Number(params.get('limit') ?? maxLimit) || maxLimit, maxLimit);
      const marker = params.get('marker');
      if (!marker) faults.beforeServerPage?.(which, 1);
      const all = listing(params);
      let start = 0;
      if (marker) {
        start = (byId ? all.indexOf(byId.get(marker)!) : all.findIndex((s) => s.id === marker)) + 1;
        if (start === 0) return badRequest(res, `marker [${marker}] not found`);
      }
      const page = Math.floor(start / limit) + 1;
      if (marker) faults.beforeServerPage?.(which, page);
      const fault = faults.serverPage;
      if (fault && fault.listing === which && fault.page === page) {
        return json(res, fault.status, { computeFault: { code: fault.status, message: 'Unexpected API Error.' } });
      }
      const slice = all.slice(start, start + limit).filter((s) => !s.downCell || atLeast(v, 2, 69));
      const body: Record<string, unknown> = { servers: slice.map((s) => serverView(s, v, novaBase)) };
      if (slice.length === limit) {
        const next = new URLSearchParams(params);
        next.set('limit', String(limit));
        next.set('marker', all[start + limit - 1]!.id);
        body.servers_links = [{ href: `${novaBase}/v2.1/servers/detail?${next}`, rel: 'next' }];
      }
      const cut = faults.cutServerPage;
      if (cut && cut.listing === which && cut.page === page) {
        const text = JSON.stringify(body);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        res.socket?.destroy();
        return;
      }
      return json(res, 200, body);
    }
    const actions = /^\/servers\/([^/]+)\/os-instance-actions$/.exec(path);
    if (actions) {
      const server = findServer(decodeURIComponent(actions[1]!));
      if (!server || (server.status === 'DELETED' && !atLeast(v, 2, 21))) return notFound(res, `Instance ${actions[1]} could not be found.`);
      if (faults.actions?.serverIds.includes(server.id)) {
        return json(res, faults.actions.status, { computeFault: { code: faults.actions.status, message: 'Unexpected API Error.' } });
      }
      const sorted = [...server.actions].sort((a, b) => (a.start_time < b.start_time ? 1 : a.start_time > b.start_time ? -1 : 0));
      const view = (a: (typeof sorted)[number]) => ({
        action: a.action,
        instance_uuid: server.id,
        message: null,
        project_id: server.tenant_id,
        request_id: a.request_id,
        start_time: a.start_time,
        user_id: server.user_id,
        ...(atLeast(v, 2, 58) ? { updated_at: a.start_time } : {}),
      });
      if (!atLeast(v, 2, 58)) return json(res, 200, { instanceActions: sorted.map(view) });
      const marker = params.get('marker');
      const start = marker ? sorted.findIndex((a) => a.request_id === marker) + 1 : 0;
      if (marker && start === 0) return badRequest(res, `Marker ${marker} could not be found.`);
      const limit = Math.min(Number(params.get('limit') ?? maxLimit) || maxLimit, maxLimit);
      const slice = sorted.slice(start, start + limit);
      const body: Record<string, unknown> = { instanceActions: slice.map(view) };
      if (slice.length === limit) {
        body.links = [
          { href: `${novaBase}/v2.1/servers/${server.id}/os-instance-actions?limit=${limit}&marker=${slice.at(-1)!.request_id}`, rel: 'next' },
        ];
      }
      return json(res, 200, body);
    }
    const flavor = /^\/flavors\/([^/]+)(\/os-extra-specs)?$/.exec(path);
    if (flavor) {
      const f = cloud.flavors.find((x) => x.id === decodeURIComponent(flavor[1]!));
      if (!f) return notFound(res, `Flavor ${flavor[1]} could not be found.`);
      return json(res, 200, flavor[2] ? { extra_specs: f.extra_specs } : { flavor: flavorView(f, v, novaBase) });
    }
    if (path === '/os-simple-tenant-usage') {
      const start = Date.parse(`${(params.get('start') ?? '').replace(' ', 'T').slice(0, 23)}Z`);
      const end = Date.parse(`${(params.get('end') ?? '').replace(' ', 'T').slice(0, 23)}Z`);
      if (!Number.isFinite(start) || !Number.isFinite(end)) return badRequest(res, 'Invalid start or end time.');
      return json(
        res,
        200,
        tenantUsageView(cloud.servers, start, end, (ms) => novaNaive(ms)),
      );
    }
    return notFound(res, 'The resource could not be found.');
  }

  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://standin');
        const path = url.pathname;
        if (req.method === 'POST' && path === '/identity/v3/auth/tokens') return authenticate(res, body);
        const v = requestedVersion(req, max);
        const entry: StandinRequest = {
          method: req.method ?? 'GET',
          path,
          query: url.search,
          microversion: v === 'unsupported' || path.startsWith('/prometheus/') ? null : `${v[0]}.${v[1]}`,
          status: 0,
        };
        requests.push(entry);
        res.once('finish', () => (entry.status = res.statusCode));
        if (path.startsWith('/prometheus/')) {
          return answerPrometheus(res, path.slice('/prometheus'.length), url.searchParams, cloud, faults.prometheus ?? {});
        }
        const novaPath = /^\/(compute-(?:public|internal|admin)|other-region)\/v2\.1(\/.*)?$/.exec(path);
        if (!validToken(req)) return unauthorized(res);
        if (path.startsWith('/identity/')) return keystone(res, path.slice('/identity'.length));
        if (!novaPath) return json(res, 404, { error: 'no such path' });
        if (novaPath[1] === 'other-region') return json(res, 503, { computeFault: { code: 503, message: 'wrong region' } });
        if (v === 'unsupported') {
          return json(res, 406, {
            computeFault: { code: 406, message: `Version is not supported by the API. Minimum is 2.1 and maximum is ${maxText}.` },
          });
        }
        if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
        return nova(res, novaPath[2] ?? '/', url.searchParams, v);
      })().catch((err: Error) => {
        if (!res.headersSent) json(res, 500, { computeFault: { code: 500, message: err.message } });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    authUrl: `${base}/identity/v3`,
    prometheusUrl: `${base}/prometheus`,
    cloud,
    faults,
    requests,
    tokensIssued: () => issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

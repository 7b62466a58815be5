/**
 * What no one here wrote: the OpenStack API reference samples, the openstack-exporter fixtures and
 * Prometheus' documented envelopes (test/fixtures/openstack). (1) The stand-in answers in exactly
 * their shapes: same keys, at every depth, for each microversion. (2) The relay's OpenStack source
 * reads the samples themselves, served as they are over HTTP.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../../src/contracts/instance-record.ts';
import { serverView } from '../../../src/local/openstack/nova-views.ts';
import { type Standin, startStandin } from '../../../src/local/openstack/standin.ts';
import { OpenStackSource } from '../../../src/relay/openstack/instances.ts';
import type { NdjsonOut } from '../../../src/relay/source.ts';
import { at, CREDENTIALS, makeServer, ruleCases, rulesCloud } from '../../support/openstack-cloud.ts';

const text = (path: string) => readFileSync(new URL(`../../fixtures/openstack/${path}`, import.meta.url), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: fixture JSON, compared by shape and read field by field
type Json = Record<string, any>;
const fixture = (path: string) => JSON.parse(text(path)) as Json;

/** Every key path of a JSON value (`servers[].flavor.vcpus`), arrays by their first element. */
function shape(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.length ? shape(value[0], `${prefix}[]`) : [`${prefix}[]`];
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => {
      const path = prefix ? `${prefix}.${k}` : k;
      // Free-form maps (their keys are data, not shape).
      if (['extra_specs', 'metadata', 'addresses', 'os-extended-volumes:volumes_attached'].includes(k)) return [path];
      return [path, ...shape(v, path)];
    });
  }
  return [];
}
const same = (ours: unknown, theirs: unknown) => expect(shape(ours).sort()).toEqual(shape(theirs).sort());

describe('the stand-in answers in the shapes of the reference samples', () => {
  let standin: Standin;
  let token = '';
  beforeAll(async () => {
    standin = await startStandin({ cloud: rulesCloud(), maxLimit: 1 });
    const res = await fetch(`${standin.authUrl}/auth/tokens`, {
      method: 'POST',
      body: text('keystone/admin_auth-application-credential-id-request.json').replace('rEaqvJka48mpv', CREDENTIALS.applicationCredential.secret),
    });
    expect(res.status).toBe(201);
    token = res.headers.get('x-subject-token')!;
    same(await res.json(), fixture('keystone/admin_auth-application-credential-response.json'));
  });
  afterAll(() => standin?.close());

  const nova = async (path: string, version: string) => {
    const res = await fetch(`${standin.url}/compute-public/v2.1${path}`, {
      headers: { 'X-Auth-Token': token, 'OpenStack-API-Version': `compute ${version}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Json;
  };

  it('Keystone: a password token request as the API reference writes it (by name), and the projects list', async () => {
    const request = fixture('keystone/auth_requests_project-name-password.json');
    const { username, password, userDomainName, projectName } = CREDENTIALS.password;
    request.auth.identity.password.user = { name: username, domain: { name: userDomainName }, password };
    request.auth.scope.project = { name: projectName, domain: { name: 'Default' } };
    const res = await fetch(`${standin.authUrl}/auth/tokens`, { method: 'POST', body: JSON.stringify(request) });
    expect(res.status).toBe(201);
    const projects = await fetch(`${standin.authUrl}/projects`, { headers: { 'X-Auth-Token': token } });
    same(await projects.json(), fixture('openstack-exporter/identity_projects.json'));
    // The catalog's entries and endpoints are shaped like a real token's.
    const body = (await res.json()) as { token: { catalog: unknown[] } };
    same(body.token.catalog[0], fixture('openstack-exporter/tokens.json').token.catalog[0]);
  });

  it('Nova: the version document', async () => {
    const doc = await nova('/', '2.1');
    same(doc, fixture('nova/versions_v21-version-get-resp.json'));
    same(doc, fixture('openstack-exporter/nova_api_v2.1.json'));
  });

  it('Nova: servers/detail at 2.1, 2.47 and 2.69 (paged, next link with limit and marker); a down-cell server at 2.69', async () => {
    same(await nova('/servers/detail?all_tenants=1', '2.1'), fixture('nova/servers_servers-details-resp.json'));
    same(await nova('/servers/detail?all_tenants=1', '2.47'), fixture('nova/servers_v2.47_servers-details-resp.json'));
    const page = await nova('/servers/detail?all_tenants=1', '2.69');
    same(page, fixture('nova/servers_v2.63_servers-details-resp.json'));
    expect(new URL(page.servers_links[0].href).searchParams.get('marker')).toBe(page.servers[0].id);
    const down = makeServer('down', { status: 'ACTIVE', created: at(-1), downCell: true });
    same({ servers: [serverView(down, [2, 69], standin.url)] }, fixture('nova/servers_v2.69_servers-details-resp.json'));
  });

  it('Nova: instance actions at 2.21 and 2.58 (paged like the limit sample)', async () => {
    const id = ruleCases().find((c) => c.rule.startsWith('every state change'))!.server.id;
    same(await nova(`/servers/${id}/os-instance-actions`, '2.21'), fixture('nova/os-instance-actions_v2.21_instance-actions-list-resp.json'));
    same(
      await nova(`/servers/${id}/os-instance-actions?limit=1`, '2.58'),
      fixture('nova/os-instance-actions_v2.58_instance-actions-list-with-limit-resp.json'),
    );
  });

  it('Nova: a flavor (2.61), its extra specs, and os-simple-tenant-usage (2.40)', async () => {
    same(await nova('/flavors/7', '2.61'), fixture('nova/flavors_v2.61_flavor-get-resp.json'));
    same(await nova('/flavors/7/os-extra-specs', '2.61'), fixture('nova/flavor-extra-specs_flavor-extra-specs-list-resp.json'));
    const usage = await nova('/os-simple-tenant-usage?detailed=1&start=2026-03-02T00:00:00&end=2026-03-03T00:00:00', '2.40');
    const { tenant_usages_links: _links, ...sample } = fixture('nova/os-simple-tenant-usage_v2.40_simple-tenant-usage-get-detail.json');
    same(usage, sample);
  });

  it('Prometheus: the matrix and error envelopes of its API documentation', async () => {
    const examples = fixture('prometheus/query-examples.json');
    const matrix = await fetch(
      `${standin.prometheusUrl}/api/v1/query?query=${encodeURIComponent('libvirt_domain_info_cpu_time_seconds_total[60000ms]')}&time=1`,
    );
    const { data, ...envelope } = (await matrix.json()) as Json;
    same(envelope, { status: examples.matrixResult.status });
    expect(data.resultType).toBe('matrix');
    const bad = await fetch(`${standin.prometheusUrl}/api/v1/query?query=up&time=1`);
    expect(bad.status).toBe(400);
    same(await bad.json(), examples.tsdbNotReady);
  });
});

describe('the relay reads the reference samples as they are', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, body: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(body);
      };
      if (req.method === 'POST' && url.pathname === '/identity/v3/auth/tokens') {
        return send(201, text('openstack-exporter/tokens.json').replaceAll('http://test.cloud', base).replaceAll('https://test.cloud', base), {
          'x-subject-token': 'gAAAAABfixture',
        });
      }
      if (req.headers['x-auth-token'] !== 'gAAAAABfixture') return send(401, '{}');
      if (url.pathname === '/compute/') return send(200, text('openstack-exporter/nova_api_v2.1.json'));
      if (url.pathname === '/compute/servers/detail') {
        // Changed since the day began: the exporter's server; the live ones: the 2.47 sample, which links a (last, empty) next page.
        if (url.searchParams.has('changes-since')) return send(200, text('openstack-exporter/nova_os_servers.json'));
        if (url.searchParams.get('marker') === '764e369e-a874-4401-b7ce-43e4760888da') return send(200, '{"servers": []}');
        return send(200, text('nova/servers_v2.47_servers-details-resp.json'));
      }
      if (url.pathname === '/compute/servers/2ce4c5b3-2866-4972-93ce-77a2ea46a7f9/os-instance-actions') {
        return send(200, text('nova/os-instance-actions_v2.58_instance-actions-list-resp.json'));
      }
      if (url.pathname === '/identity/v3/projects') return send(200, text('openstack-exporter/identity_projects.json'));
      if (url.pathname.startsWith('/identity/v3/projects/')) return send(404, '{"error": {"code": 404, "message": "Could not find project."}}');
      return send(404, '{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('token and catalog, version document, both listings and their pages, actions, unknown projects', async () => {
    const source = new OpenStackSource({
      authUrl: `${base}/identity/v3`,
      auth: { method: 'application_credential', ...CREDENTIALS.applicationCredential },
      interface: 'public',
      region: 'RegionOne',
      concurrency: 2,
      timeoutMs: 5000,
    });
    const records: InstanceRecord[] = [];
    const out: NdjsonOut = { source: '', record: async (r) => void records.push(r as InstanceRecord), block: async () => {} };
    const window = { from: new Date('2018-04-25T00:00:00Z'), to: new Date('2018-04-26T00:00:00Z') };
    const summary = await source.stream(window, out, new AbortController().signal);
    expect(summary).toMatchObject({ servers: 2, pages: 3, action_pages: 1, skipped: 0, malformed: 0, nova_microversion: '2.69' });
    expect(records).toEqual([
      {
        server_id: '2ce4c5b3-2866-4972-93ce-77a2ea46a7f9',
        project_id: '6f70656e737461636b20342065766572',
        project_name: null,
        user_id: 'fake',
        name: 'new-server-test',
        flavor: { name: 'm1.tiny', vcpus: 1, ram_mb: 512, disk_gb: 0, ephemeral_gb: 0, gpus: 0 },
        intervals: [
          { start: '2018-04-25T01:26:25.527Z', end: '2018-04-25T01:26:28.793Z', state: 'ACTIVE' },
          { start: '2018-04-25T01:26:28.793Z', end: '2018-04-26T00:00:00.000Z', state: 'SHUTOFF' },
        ],
        cpu_time_seconds: null,
        origin: { source: 'openstack', listing: 'changes-since', actions: 2 },
      },
      {
        server_id: '764e369e-a874-4401-b7ce-43e4760888da',
        project_id: '6f70656e737461636b20342065766572',
        project_name: null,
        user_id: 'admin',
        name: 'new-server-test',
        flavor: { name: 'm1.tiny.specs', vcpus: 1, ram_mb: 512, disk_gb: 1, ephemeral_gb: 0, gpus: 0 },
        intervals: [{ start: '2018-04-25T00:00:00.000Z', end: '2018-04-26T00:00:00.000Z', state: 'ACTIVE' }],
        cpu_time_seconds: null,
        origin: { source: 'openstack', listing: 'live', actions: 0 },
      },
    ]);
  });
});

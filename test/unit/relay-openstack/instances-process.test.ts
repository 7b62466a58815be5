/**
 * A REAL relay process (OpenStack only) reading a local Keystone + Nova stand-in over HTTP: every state
 * rule on one day, paging of servers and of instance actions (Nova's max_limit set to 3), deleted and
 * never-launched servers, GPUs, project names, and the stream's framing; then what the relay does
 * when a page fails, is cut off, when the token is revoked or a cell is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InstanceRecord, InstanceRecordSchema, InstanceStreamSummarySchema } from '../../../src/contracts/instance-record.ts';
import { novaStamp } from '../../../src/local/openstack/model.ts';
import {
  at,
  CREDENTIALS,
  FLAVORS,
  instancesPath,
  iso,
  makeServer,
  type OpenStackRelay,
  PROJECTS,
  ruleCases,
  rulesCloud,
  startOpenStackRelay,
} from '../../support/openstack-cloud.ts';
import { splitRelayStream } from '../../support/relay-process.ts';

let a: OpenStackRelay;
let b: OpenStackRelay;

beforeAll(async () => {
  [a, b] = await Promise.all([
    startOpenStackRelay({ cloud: rulesCloud(), maxLimit: 3 }),
    // The same cloud through the internal interface, with a password, and only `a100` as a GPU alias.
    startOpenStackRelay(
      { cloud: rulesCloud(), maxLimit: 3 },
      {
        RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: '',
        RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: '',
        RELAY_OPENSTACK_USERNAME: CREDENTIALS.password.username,
        RELAY_OPENSTACK_PASSWORD: CREDENTIALS.password.password,
        RELAY_OPENSTACK_PROJECT_NAME: CREDENTIALS.password.projectName,
        RELAY_OPENSTACK_INTERFACE: 'internal',
        RELAY_OPENSTACK_REGION: 'RegionOne',
        RELAY_OPENSTACK_GPU_ALIASES: 'a100',
      },
    ),
  ]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  // Never a credential, a token or a signature in the relay's log.
  for (const r of [a, b]) {
    const log = r?.relay.output() ?? '';
    for (const secret of [CREDENTIALS.applicationCredential.secret, CREDENTIALS.password.password]) expect(log).not.toContain(secret);
    expect(log).not.toMatch(/[0-9a-f]{32}(?![0-9a-f-])/); // a Keystone token (32 hex) — ids are logged nowhere either
  }
});

async function read(r: OpenStackRelay, path = instancesPath()) {
  const res = await r.relay.fetch(path);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  const stream = splitRelayStream(await res.text());
  return {
    records: stream.values.map((v) => InstanceRecordSchema.parse(v)),
    summary: stream.summary ? InstanceStreamSummarySchema.parse(stream.summary).summary : null,
    error: stream.error,
  };
}

const hours = (r: InstanceRecord) => r.intervals.map((i) => [(Date.parse(i.start) - at(0)) / 3.6e6, (Date.parse(i.end) - at(0)) / 3.6e6, i.state]);

describe('GET /v1/instances from a stand-in cloud (real relay process)', () => {
  it('gives each server that held resources its intervals by the state rules, and skips the others', async () => {
    const { records, summary, error } = await read(a);
    expect(error).toBeNull();
    const byId = new Map(records.map((r) => [r.server_id, r]));
    const cases = ruleCases();
    for (const c of cases) {
      const record = byId.get(c.server.id);
      if (c.expected === 'skipped') {
        expect(record, c.rule).toBeUndefined();
        continue;
      }
      expect(record, c.rule).toBeDefined();
      expect(hours(record!), c.rule).toEqual(c.expected.intervals);
      expect(record!.origin.listing, c.rule).toBe(c.expected.listing);
    }
    // Each server once, and nothing else.
    expect(records).toHaveLength(cases.filter((c) => c.expected !== 'skipped').length);
    expect(summary).toMatchObject({
      count: records.length,
      skipped: cases.filter((c) => c.expected === 'skipped').length,
      malformed: 0,
      nova_microversion: '2.69',
      cpu_time: { status: 'off' },
    });
  });

  it('names projects from Keystone (null for one it no longer has), and reads flavors and GPUs', async () => {
    const { records } = await read(a);
    const of = (rule: string) => records.find((r) => r.server_id === ruleCases().find((c) => c.rule === rule)!.server.id)!;
    expect(of('unchanged ACTIVE: its status throughout')).toMatchObject({
      project_id: PROJECTS.demo.id,
      project_name: 'demo',
      name: 'unchanged ACTIVE: its status throughout',
      flavor: { name: 'm1.small', vcpus: 1, ram_mb: 2048, disk_gb: 20, ephemeral_gb: 0, gpus: 0 },
      cpu_time_seconds: null,
    });
    expect(of('in a project Keystone no longer has')).toMatchObject({ project_id: PROJECTS.gone.id, project_name: null });
    expect(of('PCI passthrough GPUs')).toMatchObject({
      project_name: 'alt_demo',
      flavor: { vcpus: 16, ram_mb: 131072, disk_gb: 200, ephemeral_gb: 100, gpus: 3 },
    });
    expect(of('vGPU and MIG GPUs through placement, stopped half the day').flavor.gpus).toBe(3);
  });

  it('follows every page of servers and of instance actions, with all_tenants and microversion 2.69', async () => {
    const before = a.standin.requests.length;
    const { summary } = await read(a);
    const requests = a.standin.requests.slice(before);
    const listings = requests.filter((q) => q.path.endsWith('/servers/detail'));
    expect(listings.every((q) => q.query.includes('all_tenants=1') && q.microversion === '2.69' && q.status === 200)).toBe(true);
    expect(listings.every((q) => q.path.startsWith('/compute-public/'))).toBe(true);
    const since = listings.filter((q) => q.query.includes('changes-since=2026-03-02T00%3A00%3A00Z'));
    const live = listings.filter((q) => !q.query.includes('changes-since'));
    const cloud = a.standin.cloud.servers;
    const changed = cloud.filter((s) => Date.parse(s.updated) >= at(0)).length;
    const alive = cloud.filter((s) => s.status !== 'DELETED').length;
    // Three a page; Nova links a next page whenever a page is full, so a listing of 3n ends with an empty page.
    expect(since).toHaveLength(Math.floor(changed / 3) + 1);
    expect(live).toHaveLength(Math.floor(alive / 3) + 1);
    expect(summary).toMatchObject({ pages: since.length + live.length, servers: changed + alive });
    // Each page after the first names the last server of the page before as its marker.
    expect(since.slice(1).every((q) => /marker=[0-9a-f-]{36}/.test(q.query))).toBe(true);

    const actionsOf = (rule: string) =>
      requests.filter((q) => q.path.endsWith(`/servers/${ruleCases().find((c) => c.rule === rule)!.server.id}/os-instance-actions`));
    // 10 actions, 3 a page: 4 pages, the last one short.
    expect(actionsOf('every state change of the day, from the actions').map((q) => q.query.includes('marker='))).toEqual([false, true, true, true]);
    // 9 actions, but the first page already shows the state at the day's start.
    expect(actionsOf('long history: reading stops once the state at the day start is known')).toHaveLength(1);
    // A deleted server's actions are read too (2.21+); an unchanged server's never.
    expect(actionsOf('deleted in the day: ends at the delete action')).toHaveLength(1);
    expect(actionsOf('unchanged ACTIVE: its status throughout')).toHaveLength(0);
    expect(summary!.action_pages).toBe(requests.filter((q) => q.path.endsWith('/os-instance-actions')).length);
  });

  it('uses the configured interface, region, password and GPU aliases', async () => {
    const before = b.standin.requests.length;
    const { records, error } = await read(b);
    expect(error).toBeNull();
    const nova = b.standin.requests.slice(before).filter((q) => q.path.includes('/v2.1'));
    expect(nova.length).toBeGreaterThan(0);
    expect(nova.every((q) => q.path.startsWith('/compute-internal/'))).toBe(true);
    const gpus = (rule: string) => records.find((r) => r.server_id === ruleCases().find((c) => c.rule === rule)!.server.id)!.flavor.gpus;
    expect(gpus('PCI passthrough GPUs')).toBe(2); // a100:2 counts, t4:1 is not named
    expect(gpus('vGPU and MIG GPUs through placement, stopped half the day')).toBe(3); // placement resources count whatever the aliases
  });

  it('answers its health with the openstack source, and refuses /v1/jobs (it has no PBS source)', async () => {
    const health = await a.relay.fetch('/v1/health');
    expect(await health.json()).toMatchObject({ status: 'ok', sources: ['openstack'] });
    const jobs = await a.relay.fetch('/v1/jobs?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z');
    expect(jobs.status).toBe(404);
    expect(await jobs.json()).toMatchObject({ code: 'not_found', detail: expect.stringMatching(/no PBS source/) });
  });

  it('checks the window as /v1/jobs does, and the signature', async () => {
    const bad = await a.relay.fetch('/v1/instances?from=2026-03-02T00:00:00Z&to=2026-05-02T00:00:00Z');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errors: [{ path: 'to', message: 'the window is longer than 31 days' }] });
    const unknown = await a.relay.fetch('/v1/instances?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&source=qstat');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ errors: [{ path: 'source' }] });
    const unsigned = await fetch(`${a.relay.url}${instancesPath()}`);
    expect(unsigned.status).toBe(401);
  });
});

describe('upstream failures fail the window: an error line, never a summary', () => {
  it('a page that answers 503 half-way through the live listing', async () => {
    a.standin.faults.serverPage = { listing: 'live', page: 2, status: 503 };
    try {
      const { records, summary, error } = await read(a);
      expect(summary).toBeNull();
      expect(records.length).toBeGreaterThan(0); // what was read went out, and cannot be taken as complete
      expect(error).toEqual({
        source: 'openstack',
        message: expect.stringMatching(
          /^nova: GET \/compute-public\/v2\.1\/servers\/detail\?all_tenants=1&limit=200&marker=[0-9a-f-]+ \(page 2\) answered 503 Service Unavailable: Unexpected API Error\.$/,
        ),
      });
      const log = await a.relay.waitForLog((l) => l.msg === 'request' && l.path === '/v1/instances' && l.complete === false);
      expect(log).toMatchObject({ level: 'error', status: 200, error: { source: 'openstack' } });
    } finally {
      delete a.standin.faults.serverPage;
    }
  });

  it('a page cut off half-way through its body', async () => {
    a.standin.faults.cutServerPage = { listing: 'changes-since', page: 1 };
    try {
      const { records, summary, error } = await read(a);
      expect(summary).toBeNull();
      expect(records).toEqual([]);
      expect(error?.message).toMatch(/^nova: GET \/compute-public\/v2\.1\/servers\/detail\?.*\(page 1\)/);
    } finally {
      delete a.standin.faults.cutServerPage;
    }
  });

  it('a server whose instance actions fail', async () => {
    const victim = ruleCases().find((c) => c.rule.startsWith('deleted in the day'))!.server.id;
    a.standin.faults.actions = { serverIds: [victim], status: 500 };
    try {
      const { summary, error } = await read(a);
      expect(summary).toBeNull();
      expect(error?.message).toContain(`/servers/${victim}/os-instance-actions`);
      expect(error?.message).toMatch(/answered 500/);
    } finally {
      delete a.standin.faults.actions;
    }
  });

  it('a revoked token (401): the window fails, the next one authenticates again', async () => {
    const issued = a.standin.tokensIssued();
    a.standin.faults.revokeTokens = true;
    let failed: Awaited<ReturnType<typeof read>>;
    try {
      failed = await read(a);
    } finally {
      a.standin.faults.revokeTokens = false;
    }
    expect(failed.summary).toBeNull();
    expect(failed.error?.message).toMatch(/answered 401 Unauthorized: The request you have made requires authentication\./);
    const again = await read(a);
    expect(again.summary).not.toBeNull();
    expect(a.standin.tokensIssued()).toBe(issued + 1);
  });

  it('a server in a cell Nova cannot reach (UNKNOWN from 2.69) makes the day incomplete', async () => {
    const down = makeServer('in a down cell', { status: 'ACTIVE', created: at(-24), updated: at(-20), downCell: true });
    a.standin.cloud.servers.push(down);
    try {
      const { summary, error } = await read(a);
      expect(summary).toBeNull();
      expect(error?.message).toBe(`nova: server ${down.id} is in a cell Nova cannot reach (status UNKNOWN): the window would be incomplete`);
    } finally {
      a.standin.cloud.servers.pop();
    }
  });

  it('a server changed while the window is read, after its listing passed, is still read from its actions', async () => {
    // Unchanged (updated before the day) while the changes-since listing runs; changed just now when the live listing starts.
    const late = makeServer('changed during the reading', {
      status: 'SHUTOFF',
      created: at(-100),
      updated: at(-50),
      flavor: FLAVORS.tiny,
      actions: [
        ['create', at(-100)],
        ['stop', at(6)],
      ],
    });
    a.standin.cloud.servers.push(late);
    a.standin.faults.beforeServerPage = (listing, page) => {
      if (listing === 'live' && page === 1) late.updated = novaStamp(Date.now());
    };
    try {
      const { records, summary } = await read(a);
      expect(summary).not.toBeNull();
      const record = records.filter((r) => r.server_id === late.id);
      expect(record).toHaveLength(1);
      expect(record[0]!.origin).toMatchObject({ listing: 'changes-since', actions: 2 });
      expect(hours(record[0]!)).toEqual([
        [0, 6, 'ACTIVE'],
        [6, 24, 'SHUTOFF'],
      ]);
    } finally {
      delete a.standin.faults.beforeServerPage;
      a.standin.cloud.servers.pop();
    }
  });
});

describe('cross-check with os-simple-tenant-usage (2.40), and why it is only that', () => {
  it('agrees for a server that ran all day; charges stopped and shelved time the relay does not', async () => {
    const res = await fetch(
      `${a.standin.url}/compute-public/v2.1/os-simple-tenant-usage?detailed=1&start=${iso(at(0)).slice(0, 19)}&end=${iso(at(24)).slice(0, 19)}`,
      { headers: { 'X-Auth-Token': await token(a), 'OpenStack-API-Version': 'compute 2.40' } },
    );
    expect(res.status).toBe(200);
    const usage = (await res.json()) as { tenant_usages: { server_usages: { instance_id: string; hours: number }[] }[] };
    const novaHours = new Map(usage.tenant_usages.flatMap((t) => t.server_usages).map((u) => [u.instance_id, u.hours]));
    const { records } = await read(a);
    const held = (r: InstanceRecord) =>
      r.intervals.reduce((s, i) => s + (i.state === 'SHELVED' ? 0 : Date.parse(i.end) - Date.parse(i.start)), 0) / 3.6e6;
    const of = (rule: string) => records.find((r) => r.server_id === ruleCases().find((c) => c.rule === rule)!.server.id)!;
    const allDay = of('unchanged ACTIVE: its status throughout');
    expect(held(allDay)).toBe(24);
    expect(novaHours.get(allDay.server_id)).toBeCloseTo(24, 6);
    // Shelved from 20:00: the relay charges 20 hours; Nova's report, which ignores shelving, all 24.
    const shelved = of('every state change of the day, from the actions');
    expect(held(shelved)).toBe(20);
    expect(novaHours.get(shelved.server_id)).toBeCloseTo(24, 6);
  });
});

async function token(r: OpenStackRelay): Promise<string> {
  const res = await fetch(`${r.standin.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: CREDENTIALS.applicationCredential } } }),
  });
  return res.headers.get('x-subject-token')!;
}

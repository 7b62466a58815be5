/**
 * Real relay processes against stand-in clouds that differ in what the relay cannot choose: tokens
 * that expire within a window, a cloud slower than the relay waits, refused credentials, a region the
 * catalog does not have, and older Novas (no embedded flavors before 2.47, no paged actions before
 * 2.58, no deleted servers' actions before 2.21).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { InstanceRecordSchema, InstanceStreamSummarySchema } from '../../../src/contracts/instance-record.ts';
import {
  ALL_FLAVORS,
  at,
  FLAVORS,
  instancesPath,
  makeServer,
  type OpenStackRelay,
  ruleCases,
  rulesCloud,
  startOpenStackRelay,
} from '../../support/openstack-cloud.ts';
import { splitRelayStream } from '../../support/relay-process.ts';

const running: OpenStackRelay[] = [];
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
});

async function start(...args: Parameters<typeof startOpenStackRelay>) {
  const r = await startOpenStackRelay(...args);
  running.push(r);
  return r;
}

async function read(r: OpenStackRelay) {
  const res = await r.relay.fetch(instancesPath());
  expect(res.status).toBe(200);
  const stream = splitRelayStream(await res.text());
  return {
    records: stream.values.map((v) => InstanceRecordSchema.parse(v)),
    summary: stream.summary ? InstanceStreamSummarySchema.parse(stream.summary).summary : null,
    error: stream.error,
  };
}

const expectedRecords = ruleCases().filter((c) => c.expected !== 'skipped').length;

describe('Keystone tokens', () => {
  it('renews a token before it expires, also in the middle of a window: no request is refused', async () => {
    // Tokens live 1.2 s (renewed after 0.6 s); every Nova answer takes 40 ms: the window needs several tokens.
    const r = await start({ cloud: rulesCloud(), maxLimit: 3, tokenLifetimeMs: 1200, faults: { delayMs: 40 } });
    const first = await read(r);
    expect(first.error).toBeNull();
    expect(first.records).toHaveLength(expectedRecords);
    expect(r.standin.tokensIssued()).toBeGreaterThanOrEqual(2);
    expect(r.standin.requests.filter((q) => q.status === 401)).toEqual([]);
    // Between windows too.
    await new Promise((done) => setTimeout(done, 1300));
    const issued = r.standin.tokensIssued();
    expect((await read(r)).summary?.count).toBe(expectedRecords);
    expect(r.standin.tokensIssued()).toBeGreaterThan(issued);
    expect(r.standin.requests.filter((q) => q.status === 401)).toEqual([]);
  });

  it('refused credentials fail the window, saying Keystone refused them (and never what they were)', async () => {
    const r = await start({ cloud: rulesCloud() }, { RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: 'not-the-secret' });
    const { summary, error } = await read(r);
    expect(summary).toBeNull();
    expect(error?.message).toBe(
      'keystone: POST /identity/v3/auth/tokens (application credential) answered 401 Unauthorized: The request you have made requires authentication. (the credentials were refused)',
    );
    expect(r.relay.output()).not.toContain('not-the-secret');
  });

  it("a region the catalog lacks fails the window, naming what the catalog offers; another region's endpoint is never used", async () => {
    const missing = await start({ cloud: rulesCloud() }, { RELAY_OPENSTACK_REGION: 'RegionThree' });
    expect((await read(missing)).error?.message).toBe(
      "keystone: the token's catalog has no compute endpoint for interface public in region RegionThree (offered: public/RegionOne, internal/RegionOne, admin/RegionOne, public/RegionTwo); check RELAY_OPENSTACK_INTERFACE and RELAY_OPENSTACK_REGION",
    );
    const other = await start({ cloud: rulesCloud() }, { RELAY_OPENSTACK_REGION: 'RegionTwo' });
    const { error } = await read(other);
    expect(error?.message).toMatch(/^nova: GET \/other-region\/v2\.1\/ \(version document\) answered 503/);
  });
});

describe('a cloud slower than the relay waits', () => {
  it('fails the window with a timeout, never a partial day', async () => {
    const r = await start({ cloud: rulesCloud(), faults: { delayMs: 1500 } }, { RELAY_OPENSTACK_TIMEOUT_SECONDS: '1' });
    const { summary, error, records } = await read(r);
    expect(summary).toBeNull();
    expect(records).toEqual([]);
    expect(error?.message).toBe('nova: GET /compute-public/v2.1/ (version document): no answer within 1 s');
  });
});

describe('older Novas', () => {
  it('2.40: flavors read by id with their extra specs, actions unpaged; a deleted flavor makes its server malformed', async () => {
    const gone = makeServer('its flavor was deleted', {
      status: 'ACTIVE',
      created: at(-30),
      updated: at(-29),
      flavor: { ...FLAVORS.tiny, id: 'deleted-flavor' },
    });
    const cloud = rulesCloud([gone]);
    const r = await start({ cloud, maxLimit: 3, maxMicroversion: '2.40' });
    const { records, summary, error } = await read(r);
    expect(error).toBeNull();
    expect(summary).toMatchObject({ nova_microversion: '2.40', malformed: 1, count: expectedRecords });
    expect(summary!.malformed_examples).toEqual([
      `server ${gone.id}: flavor deleted-flavor no longer exists, and Nova 2.40 does not embed flavors (2.47+)`,
    ]);
    // The same intervals as with 2.69; the flavors (and their GPUs) through /flavors/{id} and os-extra-specs.
    for (const c of ruleCases()) {
      if (c.expected === 'skipped') continue;
      const record = records.find((x) => x.server_id === c.server.id)!;
      expect(record.intervals.length, c.rule).toBe(c.expected.intervals.length);
      const flavor = ALL_FLAVORS.find((f) => f.id === c.server.flavor.id)!;
      expect(record.flavor, c.rule).toMatchObject({ name: flavor.name, vcpus: flavor.vcpus, ram_mb: flavor.ram, disk_gb: flavor.disk });
    }
    expect(records.find((x) => x.flavor.name === 'g1.pci')!.flavor.gpus).toBe(3);
    const paths = r.standin.requests.map((q) => q.path);
    expect(paths.filter((p) => /\/flavors\/g-pci$/.test(p))).toHaveLength(1); // once per window, whatever the servers
    expect(paths.some((p) => p.endsWith('/flavors/g-pci/os-extra-specs'))).toBe(true);
    // Before 2.58 instance actions are one list: never a limit or marker.
    const actions = r.standin.requests.filter((q) => q.path.endsWith('/os-instance-actions'));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.every((q) => q.query === '' && q.microversion === '2.40')).toBe(true);
  });

  it('2.20: cannot read deleted servers, so the window fails saying 2.21 is needed', async () => {
    const r = await start({ cloud: rulesCloud(), maxMicroversion: '2.20' });
    const { summary, error } = await read(r);
    expect(summary).toBeNull();
    expect(error?.message).toMatch(
      /^nova: the compute API at http:\/\/127\.0\.0\.1:\d+\/compute-public\/v2\.1 offers microversions up to 2\.20; the relay needs 2\.21 or later \(Nova Mitaka\) to read deleted servers' history$/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { UsageEventSchema } from '../../../src/contracts/usage-event.ts';
import { naturalKeyText } from '../../../src/ingest/natural-key.ts';
import { makeEvent } from '../../support/events.ts';

const key = (e: unknown) => naturalKeyText(UsageEventSchema.parse(e));

describe('natural key', () => {
  const base = makeEvent({ project: 'p1' });

  it('ignores metrics, collected_at, extra and unknown context keys', () => {
    expect(key({ ...base, metrics: { cpu_time_seconds: 5 }, collected_at: '2026-06-01T00:00:00Z', extra: { a: 1 } })).toBe(key(base));
    expect(key({ ...base, context: { ...base.context, job_count: 99, rack: 'x' } })).toBe(key(base));
  });

  it('is the same instant whatever the offset', () => {
    expect(key({ ...base, time_window_start: '2026-01-01T01:00:00+01:00' })).toBe(key(base));
  });

  it('treats identities as a set; perun_user = perun_username; emails case-insensitive', () => {
    const a = {
      ...base,
      identities: [
        { scheme: 'perun_user', value: 'u' },
        { scheme: 'user_email', value: 'A@B.org' },
      ],
    };
    const b = {
      ...base,
      identities: [
        { scheme: 'user_email', value: 'a@b.org' },
        { scheme: 'perun_username', value: 'u' },
        { scheme: 'perun_user', value: 'u' },
      ],
    };
    expect(key(a)).toBe(key(b));
  });

  it('differs on each part of the key', () => {
    const variants = [
      { ...base, source: 'openstack' },
      { ...base, time_window_end: '2026-01-03T00:00:00Z' },
      { ...base, context: { ...base.context, cluster: 'other' } },
      { ...base, context: { ...base.context, project: 'p2' } },
      { ...base, context: { ...base.context, jobname: 'other' } },
      { ...base, identities: [] },
      { ...base, identities: [{ scheme: 'perun_username', value: 'alice', authority: 'elsewhere' }] },
    ];
    const keys = new Set([key(base), ...variants.map(key)]);
    expect(keys.size).toBe(variants.length + 1);
  });

  it('keys an OpenStack event by its Keystone project id, whatever its name says', () => {
    const os = { ...base, source: 'openstack', identities: [], context: { cluster: 'cloud', openstack_project_id: 'a1b2', project: 'old-name' } };
    // A renamed project, or one Keystone no longer knows, is the same event: re-collection updates it.
    expect(key({ ...os, context: { ...os.context, project: 'new-name' } })).toBe(key(os));
    expect(key({ ...os, context: { cluster: 'cloud', openstack_project_id: 'a1b2' } })).toBe(key(os));
    // Two projects of one name (in two domains) are two events; so are two clouds.
    expect(key({ ...os, context: { ...os.context, openstack_project_id: 'c3d4' } })).not.toBe(key(os));
    expect(key({ ...os, context: { ...os.context, cluster: 'other-cloud' } })).not.toBe(key(os));
    // A PBS event keeps its project name in the key, openstack_project_id or not.
    const pbs = { ...base, context: { ...base.context, openstack_project_id: 'a1b2' } };
    expect(key(pbs)).toBe(key(base));
  });
});

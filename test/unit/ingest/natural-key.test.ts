import { describe, expect, it } from 'vitest';
import { UsageEventSchema } from '../../../src/contracts/usage-event.ts';
import { naturalKeyText } from '../../../src/ingest/natural-key.ts';
import { makeEvent } from '../../support/events.ts';

const key = (e: unknown) => naturalKeyText(UsageEventSchema.parse(e));

describe('natural key', () => {
  const base = makeEvent({ project: 'p1' });

  it('ignores metrics, collected_at, extra and unknown context keys', () => {
    expect(key({ ...base, metrics: { cpu_time_seconds: 5 }, collected_at: '2030-01-01T00:00:00Z', extra: { a: 1 } })).toBe(key(base));
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
});

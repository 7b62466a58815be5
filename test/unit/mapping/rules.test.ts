import { describe, expect, it } from 'vitest';
import { MappingMessageSchema } from '../../../src/contracts/mapping-message.ts';
import { mergeRanges, retryDelaySeconds, splitByUtcDay } from '../../../src/mapping/rules.ts';

describe('mergeRanges', () => {
  it('merges overlapping and touching ranges, sorts them, normalises to UTC, drops empty ones', () => {
    expect(
      mergeRanges([
        { from: '2026-01-05T00:00:00Z', to: '2026-01-06T00:00:00Z' },
        { from: '2026-01-01T01:00:00+01:00', to: '2026-01-02T00:00:00Z' },
        { from: '2026-01-02T00:00:00Z', to: '2026-01-03T00:00:00Z' },
        { from: '2026-01-05T12:00:00Z', to: '2026-01-05T13:00:00Z' },
        { from: '2026-02-01T00:00:00Z', to: '2026-02-01T00:00:00Z' },
      ]),
    ).toEqual([
      { from: '2026-01-01T00:00:00.000Z', to: '2026-01-03T00:00:00.000Z' },
      { from: '2026-01-05T00:00:00.000Z', to: '2026-01-06T00:00:00.000Z' },
    ]);
    expect(mergeRanges([])).toEqual([]);
  });
});

describe('splitByUtcDay', () => {
  it('cuts at UTC midnights, keeping the ends as given', () => {
    expect(splitByUtcDay({ from: '2026-01-01T12:00:00Z', to: '2026-01-03T06:00:00Z' })).toEqual([
      { from: '2026-01-01T12:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
      { from: '2026-01-02T00:00:00.000Z', to: '2026-01-03T00:00:00.000Z' },
      { from: '2026-01-03T00:00:00.000Z', to: '2026-01-03T06:00:00.000Z' },
    ]);
    expect(splitByUtcDay({ from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' })).toHaveLength(1);
    expect(splitByUtcDay({ from: '2025-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' })).toHaveLength(365);
  });
});

describe('retryDelaySeconds', () => {
  it('doubles from 10 s and stops at 15 minutes', () => {
    expect([1, 2, 3, 4, 7, 8, 20].map(retryDelaySeconds)).toEqual([10, 20, 40, 80, 640, 900, 900]);
  });
});

describe('MappingMessageSchema', () => {
  it('accepts what ingest and the re-run send, and nothing else', () => {
    const id = crypto.randomUUID();
    expect(MappingMessageSchema.safeParse({ kind: 'events', event_ids: [id] }).success).toBe(true);
    expect(MappingMessageSchema.safeParse({ kind: 'range', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }).success).toBe(true);
    for (const bad of [
      { kind: 'events', event_ids: [] },
      { kind: 'events', event_ids: ['x'] },
      { kind: 'range', from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' },
      { kind: 'range', from: '2026-01-01', to: '2026-01-02' },
      { kind: 'other' },
      'events',
      null,
    ]) {
      expect(MappingMessageSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

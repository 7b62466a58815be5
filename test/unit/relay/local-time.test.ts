import { describe, expect, it } from 'vitest';
import { accountingDaysForWindow, assertTimeZone, dayFileName, localDayOf, localToUtcMs } from '../../../src/relay/pbs/local-time.ts';

const PRAGUE = 'Europe/Prague';
const wall = (s: string) => {
  const [d, t] = s.split(' ') as [string, string];
  const [year, month, day] = d.split('-').map(Number) as [number, number, number];
  const [hour, minute, second] = t.split(':').map(Number) as [number, number, number];
  return { year, month, day, hour, minute, second };
};
const utc = (s: string, tz = PRAGUE) => new Date(localToUtcMs(wall(s), tz)).toISOString();
const days = (from: string, to: string, tz = PRAGUE) => accountingDaysForWindow({ from: new Date(from), to: new Date(to) }, tz).map(dayFileName);

describe('server local time → UTC (Europe/Prague)', () => {
  it('winter and summer offsets', () => {
    expect(utc('2024-01-15 12:00:00')).toBe('2024-01-15T11:00:00.000Z');
    expect(utc('2024-07-15 12:00:00')).toBe('2024-07-15T10:00:00.000Z');
  });

  it('DST start (31 March 2024): the skipped hour moves forward', () => {
    expect(utc('2024-03-31 01:59:59')).toBe('2024-03-31T00:59:59.000Z');
    expect(utc('2024-03-31 02:30:00')).toBe('2024-03-31T01:30:00.000Z'); // = 03:30 CEST
    expect(utc('2024-03-31 03:00:00')).toBe('2024-03-31T01:00:00.000Z');
  });

  it('DST end (27 October 2024): the repeated hour takes its first occurrence', () => {
    expect(utc('2024-10-27 01:59:59')).toBe('2024-10-26T23:59:59.000Z');
    expect(utc('2024-10-27 02:30:00')).toBe('2024-10-27T00:30:00.000Z');
    expect(utc('2024-10-27 03:00:00')).toBe('2024-10-27T02:00:00.000Z');
  });

  it('other zones, and UTC itself', () => {
    expect(utc('2024-03-10 02:30:00', 'America/New_York')).toBe('2024-03-10T07:30:00.000Z');
    expect(utc('2022-10-11 08:13:45', 'UTC')).toBe('2022-10-11T08:13:45.000Z');
    expect(utc('2024-04-07 02:30:00', 'Australia/Sydney')).toBe('2024-04-06T15:30:00.000Z');
  });

  it('rejects an unknown zone', () => {
    expect(() => assertTimeZone('Mars/Olympus')).toThrow(/unknown time zone/);
  });
});

describe('local days of a window', () => {
  it('local day of an instant', () => {
    expect(localDayOf(Date.parse('2024-01-15T23:30:00Z'), PRAGUE)).toEqual({ year: 2024, month: 1, day: 16 });
    expect(localDayOf(Date.parse('2024-01-15T22:59:59Z'), PRAGUE)).toEqual({ year: 2024, month: 1, day: 15 });
  });

  it('a UTC day touches two Prague days, plus one on each side', () => {
    expect(days('2024-01-15T00:00:00Z', '2024-01-16T00:00:00Z')).toEqual(['20240114', '20240115', '20240116', '20240117']);
  });

  it('a window that is exactly one local day (DST start, 23 hours) reads that day and its neighbours', () => {
    expect(days('2024-03-30T23:00:00Z', '2024-03-31T22:00:00Z')).toEqual(['20240330', '20240331', '20240401']);
  });

  it('across a year end, and nothing for an empty window', () => {
    expect(days('2024-12-31T22:00:00Z', '2025-01-01T02:00:00Z')).toEqual(['20241230', '20241231', '20250101', '20250102']);
    expect(days('2024-01-15T00:00:00Z', '2024-01-15T00:00:00Z')).toEqual([]);
  });
});

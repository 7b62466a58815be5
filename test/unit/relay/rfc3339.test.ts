import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isRfc3339WithOffset } from '../../../src/contracts/relay-api.ts';
import { mulberry32 } from '../../../src/local/demo-accounting.ts';
import { epochToRfc3339, MAX_EPOCH, putRfc3339Json } from '../../../src/relay/pbs/values.ts';

/** The relay checks `from`/`to` without zod (it keeps zod out of its memory); it must accept exactly what zod does. */
describe('isRfc3339WithOffset', () => {
  const zod = z.iso.datetime({ offset: true });
  const agree = (value: string) => expect([value, isRfc3339WithOffset(value)]).toEqual([value, zod.safeParse(value).success]);

  it('agrees with z.iso.datetime({ offset: true }) on chosen cases', () => {
    for (const v of [
      '2025-11-19T00:00:00Z',
      '2025-11-19T00:00:00.123456Z',
      '2025-11-19T01:00:00+01:00',
      '2025-11-19T01:00:00-23:59',
      '2024-02-29T12:00:00Z',
      '2023-02-29T12:00:00Z',
      '2000-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2025-04-31T00:00:00Z',
      '2025-11-19T24:00:00Z',
      '2025-11-19T23:60:00Z',
      '2025-11-19T23:59:60Z',
      '2025-11-19T00:00Z',
      '2025-11-19T00:00:00',
      '2025-11-19T00:00:00+0100',
      '2025-11-19T00:00:00+01',
      '2025-11-19T00:00:00+24:00',
      '2025-11-19 00:00:00Z',
      '2025-11-19t00:00:00z',
      '2025-13-01T00:00:00Z',
      '2025-00-10T00:00:00Z',
      '2025-11-00T00:00:00Z',
      '2025-11-19T00:00:00.Z',
      '',
      '2025-11-19',
      ' 2025-11-19T00:00:00Z',
      '2025-11-19T00:00:00Z\n',
      '+2025-11-19T00:00:00Z',
    ])
      agree(v);
  });

  it('agrees on 20,000 random near-misses', () => {
    const random = mulberry32(7);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
    const two = () => String(Math.floor(random() * 100)).padStart(2, '0');
    for (let i = 0; i < 20_000; i++) {
      const v =
        `${pick(['2025', '2024', '1900', '2000', '0000', '9999'])}-${two()}-${two()}${pick(['T', 'T', 't', ' '])}` +
        `${two()}:${two()}${pick([`:${two()}`, `:${two()}.${two()}`, ''])}${pick(['Z', `+${two()}:${two()}`, `-${two()}:${two()}`, `+${two()}${two()}`, ''])}`;
      agree(v);
    }
  });
});

describe('putRfc3339Json', () => {
  it('writes what JSON.stringify writes of epochToRfc3339, time after time across days', () => {
    const random = mulberry32(11);
    const out = new Uint8Array(64);
    const view = new DataView(out.buffer);
    let seconds = 1;
    for (let i = 0; i < 20_000; i++) {
      // Mostly near the time before (the same day, the next), sometimes anywhere up to 9999-12-31.
      seconds = random() < 0.9 ? Math.max(1, seconds + Math.floor((random() - 0.3) * 200_000)) : 1 + Math.floor(random() * MAX_EPOCH);
      const at = Math.floor(random() * 8);
      const end = putRfc3339Json(view, at, seconds);
      const expected = JSON.stringify(new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'));
      expect([seconds, Buffer.from(out.subarray(at, end)).toString('latin1')]).toEqual([seconds, expected]);
      expect(epochToRfc3339(seconds)).toBe(JSON.parse(expected));
    }
  });
});

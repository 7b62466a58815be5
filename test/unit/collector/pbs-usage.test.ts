/**
 * The PBS fold (contracts/pbs-usage.ts) that the relay runs for /v1/usage and the Worker for /v1/jobs:
 * its lines, its totals, and that merging partial folds (the relay's parse threads) gives the same
 * lines as folding everything in one place.
 */
import { describe, expect, it } from 'vitest';
import { type PackedUsage, PbsUsageFold } from '../../../src/contracts/pbs-usage.ts';
import { parseUsageLine, UsageLineSchema } from '../../../src/contracts/usage-line.ts';
import { PbsEventBuilder, usageEvent } from '../../../src/collector/transform/pbs-events.ts';
import { makeJob } from '../../support/jobs.ts';

function jobs(n: number) {
  return Array.from({ length: n }, (_, i) =>
    makeJob({
      job_id: `${i}.pbs`,
      user: i % 7 === 0 ? null : `u${i % 5}`,
      project: i % 11 === 0 ? null : `p${i % 3}`,
      end: `2026-03-0${1 + (i % 2)}T${String(i % 24).padStart(2, '0')}:00:00Z`,
      ncpus: 1 + (i % 8),
      ngpus: i % 4 === 0 ? 1 : 0,
      walltime_used_seconds: 60 * (i % 90),
      walltime_requested_seconds: 3600,
      cpu_time_seconds: 30 * (i % 90),
      mem_requested_bytes: 1024 * i,
      origin: { source: 'accounting', record: i % 13 === 0 ? 'R' : 'E', file: 'f', line: i + 1 },
    }),
  );
}

describe('PbsUsageFold', () => {
  it('one line per (project, user, UTC day), in order, valid on the wire, conserving every total', () => {
    const all = jobs(500);
    const fold = new PbsUsageFold();
    for (const j of all) fold.add(j);
    const lines = fold.lines();
    for (const line of lines) expect(() => UsageLineSchema.parse(line)).not.toThrow();
    const keys = lines.map((l) => `${l.day}|${l.project}|${l.user}`);
    expect(new Set(keys).size).toBe(lines.length);
    expect(lines.map((l) => l.day + l.project + l.user)).toEqual([...lines.map((l) => l.day + l.project + l.user)].sort());
    const e = all.filter((j) => j.origin.record === 'E');
    expect(fold.totals).toEqual({ jobs: e.length, records: 500, withoutEnd: 0 });
    const sum = (f: (l: (typeof lines)[number]) => number) => lines.reduce((s, l) => s + f(l), 0);
    expect(sum((l) => l.jobs)).toBe(e.length);
    expect(sum((l) => l.metrics.cpu_time_seconds)).toBe(all.reduce((s, j) => s + j.cpu_time_seconds!, 0));
    expect(sum((l) => l.metrics.cpu_core_seconds)).toBe(all.reduce((s, j) => s + j.ncpus! * j.walltime_used_seconds!, 0));
    // What was allocated counts once per job, with its E record.
    expect(sum((l) => l.metrics.vcpus_allocated)).toBe(e.reduce((s, j) => s + j.ncpus!, 0));
    expect(sum((l) => l.metrics.ram_bytes_allocated)).toBe(e.reduce((s, j) => s + j.mem_requested_bytes!, 0));
  });

  it('merging the folds of parts (the parse threads) gives the lines of folding the whole', () => {
    const all = jobs(900);
    const whole = new PbsUsageFold();
    for (const j of all) whole.add(j);
    const merged = new PbsUsageFold();
    for (let at = 0; at < all.length; at += 128) {
      const part = new PbsUsageFold();
      for (const j of all.slice(at, at + 128)) part.add(j);
      merged.merge(part.sums(), part.totals);
    }
    expect(merged.lines()).toEqual(whole.lines());
    expect(merged.totals).toEqual(whole.totals);
  });

  it('a record without an end is counted, never grouped', () => {
    const fold = new PbsUsageFold();
    fold.add(makeJob({ end: null }));
    expect(fold.totals).toEqual({ jobs: 0, records: 1, withoutEnd: 1 });
    expect(fold.lines()).toEqual([]);
  });

  it('the Worker makes the same events from the lines (usage mode) as from the jobs (jobs mode)', () => {
    const all = jobs(400);
    const builder = new PbsEventBuilder({ cluster: 'c1', authority: 'perun.test' });
    const fold = new PbsUsageFold();
    for (const j of all) {
      builder.add(j);
      fold.add(j);
    }
    // Through the wire: JSON out and back in, as the relay sends and the Worker reads.
    const wire = fold.lines().map((l) => {
      const parsed = parseUsageLine(JSON.parse(JSON.stringify(l)));
      if (!parsed.success) throw parsed.error;
      return parsed.data;
    });
    const at = '2026-03-03T02:00:00.000Z';
    expect(wire.map((l) => usageEvent(l, { cluster: 'c1', authority: 'perun.test' }, at))).toEqual(builder.events(at));
  });
});

describe('PbsUsageFold packed (how parse threads hand back their groups)', () => {
  it('merging packed folds of parts gives the lines of folding the whole', () => {
    const all = jobs(700);
    const whole = new PbsUsageFold();
    for (const j of all) whole.add(j);
    const merged = new PbsUsageFold();
    for (let at = 0; at < all.length; at += 100) {
      const part = new PbsUsageFold();
      for (const j of all.slice(at, at + 100)) part.add(j);
      merged.mergePacked(structuredClone(part.packed()));
    }
    expect(merged.lines()).toEqual(whole.lines());
    expect(merged.totals).toEqual(whole.totals);
  });
});

describe('PbsUsageFold packed block after block (a parse thread keeps one fold per request)', () => {
  it('sends each group key once, the sums of each block once, and refuses packs merged out of order', () => {
    const all = jobs(700);
    const thread = new PbsUsageFold('thread 1');
    const packs: PackedUsage[] = [];
    for (let at = 0; at < all.length; at += 100) {
      for (const j of all.slice(at, at + 100)) thread.add(j);
      packs.push(structuredClone(thread.packed(new Uint8Array(new SharedArrayBuffer(64 * 1024)))));
    }
    const keys = packs.flatMap((p) => p.keys);
    expect(new Set(keys).size).toBe(keys.length);
    const whole = new PbsUsageFold();
    for (const j of all) whole.add(j);
    expect(keys.length).toBe(whole.size);
    const merged = new PbsUsageFold();
    for (const p of packs) merged.mergePacked(p);
    expect(merged.lines()).toEqual(whole.lines());
    expect(merged.totals).toEqual(whole.totals);
    const wrongOrder = new PbsUsageFold();
    expect(() => wrongOrder.mergePacked(packs[1]!)).toThrow(/out of order/);
  });
});

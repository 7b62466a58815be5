import { once } from 'node:events';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobRecord, JobRecordSchema } from '../../../src/contracts/job-record.ts';
import { ParsePool } from '../../../src/relay/parse-pool.ts';
import { type AccountingLogOptions, accountingLogSource } from '../../../src/relay/sources/accounting-log.ts';
import { type JobSource, newStats, type SourceStats, type Window } from '../../../src/relay/source.ts';
import { buildRelayBundle, RELAY_WORKER_SCRIPT } from '../../support/relay-process.ts';

/** A full garbage collection (V8's `gc`, exposed for this file). */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const PRAGUE = 'Europe/Prague';
let root: string;
/** The threads the built relay parses with (`ndjson`); every test below runs on both paths. */
let pool: ParsePool;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'relay-acct-'));
  await buildRelayBundle();
  pool = new ParsePool({ script: RELAY_WORKER_SCRIPT, size: 2 });
}, 60_000);
afterAll(async () => {
  await pool?.close();
  await rm(root, { recursive: true, force: true });
});

const MODES = ['main thread', 'parse threads'] as const;
/** The large files of the memory test, written once for both paths. */
let large: Promise<string> | undefined;
type Mode = (typeof MODES)[number];

async function folder(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(root, 'acct-'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

const window = (from: string, to: string): Window => ({ from: new Date(from), to: new Date(to) });
const epoch = (iso: string) => Date.parse(iso) / 1000;

/** A PBS Pro E record for a job that ran 10 minutes and ended at `end`, stamped with the local `stamp`. */
function eLine(id: string, end: string, stamp: string, extra = ''): string {
  const e = epoch(end);
  return (
    `${stamp};E;${id};user=alice group=physics account="P-1" project=proj jobname=run queue=workq ` +
    `ctime=${e - 900} qtime=${e - 900} etime=${e - 900} start=${e - 600} exec_host=n1/0*4 ` +
    `exec_vnode=(n1:ncpus=4:mem=4194304kb) Resource_List.mem=4gb Resource_List.ncpus=4 Resource_List.walltime=01:00:00 ` +
    `session=123 end=${e} Exit_status=0 resources_used.cpupercent=390 resources_used.cput=00:39:00 resources_used.mem=1024kb ` +
    `resources_used.ncpus=4 resources_used.vmem=2048kb resources_used.walltime=00:10:00 run_count=1${extra}\n`
  );
}

/**
 * The records a source serves, one at a time: from `jobs`, or from the NDJSON blocks of `ndjson`
 * (parse threads), decoded here as the Worker decodes the relay's stream.
 */
async function* records(source: JobSource, w: Window, stats: SourceStats, signal: AbortSignal): AsyncGenerator<JobRecord> {
  if (!source.ndjson) {
    yield* source.jobs(w, stats, signal);
    return;
  }
  const decoder = new TextDecoder();
  for await (const block of source.ndjson(w, stats, signal)) {
    const lines = decoder.decode(block.bytes).split('\n');
    block.release?.(); // decoded: the block's memory goes back to the pool
    // Whole lines only, as many as the block says.
    if (lines.pop() !== '' || lines.length !== block.count) throw new Error(`a block of ${block.count} records held ${lines.length} lines`);
    for (const line of lines) yield JSON.parse(line) as JobRecord;
  }
}

async function collect(source: JobSource, w: Window, signal = new AbortController().signal) {
  const stats = newStats();
  const list: JobRecord[] = [];
  for await (const record of records(source, w, stats, signal)) list.push(record);
  return { records: list, stats, ids: list.map((r) => r.job_id) };
}

describe.each(MODES)('%s', (mode: Mode) => {
  const sourceOf = (options: AccountingLogOptions) => accountingLogSource(mode === 'parse threads' ? { ...options, pool } : options);

  describe(`accounting log source (${mode}): which days, which records`, () => {
    it('a UTC day across local midnight: neighbour files are read, only end ∈ [from, to) is yielded', async () => {
      const dir = await folder({
        // Outside the days the window needs: never opened, even though it holds an in-window end.
        '20240113': eLine('0.srv', '2024-01-15T12:00:00Z', '01/13/2024 10:00:00'),
        '20240115':
          eLine('1.srv', '2024-01-14T23:30:00Z', '01/15/2024 00:30:00') + // before the window
          eLine('2.srv', '2024-01-15T00:30:00Z', '01/15/2024 01:30:00') +
          '01/15/2024 02:00:00;S;9.srv;user=alice start=1705280000\n',
        '20240116':
          // Ended at 23:59:59 local on the 15th, written a second later into the next day's file.
          eLine('3.srv', '2024-01-15T22:59:59Z', '01/16/2024 00:00:00') +
          eLine('4.srv', '2024-01-15T23:30:00Z', '01/16/2024 00:30:00') +
          eLine('5.srv', '2024-01-16T00:00:00Z', '01/16/2024 01:00:00') + // `to` is excluded
          'this line is not PBS\n',
        '20240117.gz': gzipSync(eLine('6.srv', '2024-01-16T23:30:00Z', '01/17/2024 00:30:00')),
      });
      const { records, stats, ids } = await collect(sourceOf({ dir, timeZone: PRAGUE }), window('2024-01-15T00:00:00Z', '2024-01-16T00:00:00Z'));
      expect(ids).toEqual(['2.srv', '3.srv', '4.srv']);
      for (const r of records) JobRecordSchema.parse(r);
      expect(records[0]!.origin).toEqual({ source: 'accounting', record: 'E', file: '20240115', line: 2 });
      expect(records[1]!.origin).toEqual({ source: 'accounting', record: 'E', file: '20240116', line: 1 });
      expect(stats.inputs).toEqual([
        { name: '20240114 (no file)' },
        { name: '20240115', lines: 3 },
        { name: '20240116', lines: 4 },
        { name: '20240117.gz', lines: 1 },
      ]);
      expect(stats.skipped).toBe(4); // 1.srv, the S record, 5.srv, 6.srv
      expect(stats.malformed).toBe(1);
      expect(stats.malformed_examples).toEqual(['20240116:4: not a PBS accounting line (no DATE;TYPE;ID header)']);
    });

    it('across the DST change (Prague, 31 March 2024: a 23-hour local day)', async () => {
      const dir = await folder({
        '20240330': eLine('a.srv', '2024-03-30T22:59:59Z', '03/30/2024 23:59:59'),
        '20240331':
          eLine('b.srv', '2024-03-31T00:59:59Z', '03/31/2024 01:59:59') +
          eLine('c.srv', '2024-03-31T01:00:00Z', '03/31/2024 03:00:00') +
          eLine('d.srv', '2024-03-31T21:59:58Z', '03/31/2024 23:59:58'),
        '20240401': eLine('e.srv', '2024-03-31T21:59:59Z', '04/01/2024 00:00:01') + eLine('f.srv', '2024-03-31T22:00:00Z', '04/01/2024 00:00:02'),
      });
      const source = sourceOf({ dir, timeZone: PRAGUE });
      const day = await collect(source, window('2024-03-30T23:00:00Z', '2024-03-31T22:00:00Z'));
      expect(day.ids).toEqual(['b.srv', 'c.srv', 'd.srv', 'e.srv']);
      expect(day.stats.inputs.map((i) => i.name)).toEqual(['20240330', '20240331', '20240401']);
      // The hour that does not exist locally is still one hour of jobs, attributed by epoch.
      const hour = await collect(source, window('2024-03-31T00:30:00Z', '2024-03-31T01:30:00Z'));
      expect(hour.ids).toEqual(['b.srv', 'c.srv']);
    });

    it('across the DST end: the repeated local hour is told apart by the epochs', async () => {
      const dir = await folder({
        '20241027':
          eLine('first.srv', '2024-10-27T00:30:00Z', '10/27/2024 02:30:00') + eLine('second.srv', '2024-10-27T01:30:00Z', '10/27/2024 02:30:00'),
      });
      const source = sourceOf({ dir, timeZone: PRAGUE });
      expect((await collect(source, window('2024-10-27T01:00:00Z', '2024-10-27T02:00:00Z'))).ids).toEqual(['second.srv']);
      expect((await collect(source, window('2024-10-27T00:00:00Z', '2024-10-27T01:00:00Z'))).ids).toEqual(['first.srv']);
    });

    it('R records, quoted accounts with ";" and spaces, long lines, and array parents', async () => {
      const hosts = Array.from({ length: 30_000 }, (_, i) => `node${i}/0*2`).join('+');
      const long = eLine('long.srv', '2024-05-01T10:00:00Z', '05/01/2024 12:00:00').replace('exec_host=n1/0*4', `exec_host=${hosts}`);
      expect(long.length).toBeGreaterThan(300 * 1024);
      const dir = await folder({
        '20240501':
          eLine('r.srv', '2024-05-01T09:00:00Z', '05/01/2024 11:00:00').replace(';E;', ';R;') +
          eLine('q.srv', '2024-05-01T09:30:00Z', '05/01/2024 11:30:00').replace('account="P-1"', 'account="grant; phase 2 (x=y)"') +
          long +
          eLine('77[].srv', '2024-05-01T10:30:00Z', '05/01/2024 12:30:00') +
          eLine('77[3].srv', '2024-05-01T10:30:00Z', '05/01/2024 12:30:00'),
      });
      const { records, stats } = await collect(sourceOf({ dir, timeZone: PRAGUE }), window('2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z'));
      expect(records.map((r) => [r.job_id, r.origin.record])).toEqual([
        ['r.srv', 'R'],
        ['q.srv', 'E'],
        ['long.srv', 'E'],
        ['77[3].srv', 'E'],
      ]);
      expect(records[1]!.account).toBe('grant; phase 2 (x=y)');
      expect(records[1]!.queue).toBe('workq');
      expect(records[2]!.nodes).toBe(30_000);
      expect(stats.skipped).toBe(1);
    });
  });

  describe(`accounting log source (${mode}): files`, () => {
    const w = window('2024-06-10T00:00:00Z', '2024-06-11T00:00:00Z');

    it('a missing folder throws; a day without any file does not', async () => {
      await expect(collect(sourceOf({ dir: join(root, 'nope'), timeZone: PRAGUE }), w)).rejects.toThrow(/accounting folder/);
      const { records, stats } = await collect(sourceOf({ dir: await folder({}), timeZone: PRAGUE }), w);
      expect(records).toEqual([]);
      expect(stats.inputs.every((i) => i.name.endsWith('(no file)'))).toBe(true);
    });

    it('an unknown time zone is refused up front', () => {
      expect(() => sourceOf({ dir: root, timeZone: 'Europe/Atlantis' })).toThrow(/unknown time zone/);
    });

    it('prefers YYYYMMDD over YYYYMMDD.gz while gzip is still compressing it', async () => {
      const dir = await folder({
        '20240610': eLine('plain.srv', '2024-06-10T10:00:00Z', '06/10/2024 12:00:00'),
        '20240610.gz': gzipSync(eLine('half.srv', '2024-06-10T10:00:00Z', '06/10/2024 12:00:00')).subarray(0, 20),
      });
      expect((await collect(sourceOf({ dir, timeZone: PRAGUE }), w)).ids).toEqual(['plain.srv']);
    });

    it('a corrupt gzip file throws, naming the file', async () => {
      const dir = await folder({ '20240610.gz': gzipSync(eLine('x.srv', '2024-06-10T10:00:00Z', '06/10/2024 12:00:00')).subarray(0, 30) });
      await expect(collect(sourceOf({ dir, timeZone: PRAGUE }), w)).rejects.toThrow(/accounting file 20240610.gz/);
    });

    it('a last line without its newline (PBS still writing) is left for the next read', async () => {
      const line = eLine('late.srv', '2024-06-10T10:00:00Z', '06/10/2024 12:00:00');
      const dir = await folder({ '20240610': eLine('early.srv', '2024-06-10T09:00:00Z', '06/10/2024 11:00:00') + line.slice(0, 200) });
      const source = sourceOf({ dir, timeZone: PRAGUE });
      const first = await collect(source, w);
      expect(first.ids).toEqual(['early.srv']);
      expect(first.stats.skipped).toBe(1);
      await appendFile(join(dir, '20240610'), line.slice(200));
      expect((await collect(source, w)).ids).toEqual(['early.srv', 'late.srv']);
    });

    it('a line over maxLineBytes is counted as malformed without being buffered; the next line is read', async () => {
      const dir = await folder({
        '20240610': `06/10/2024 11:00:00;E;big.srv;${'x'.repeat(5000)}\n${eLine('ok.srv', '2024-06-10T10:00:00Z', '06/10/2024 12:00:00')}`,
      });
      const { ids, stats } = await collect(sourceOf({ dir, timeZone: PRAGUE, maxLineBytes: 4096 }), w);
      expect(ids).toEqual(['ok.srv']);
      expect(stats.malformed_examples).toEqual(['20240610:1: line longer than 4096 bytes']);
    });

    it('reads CRLF lines and lines with other characters like the rest', async () => {
      const dir = await folder({
        '20240610':
          eLine('crlf.srv', '2024-06-10T09:00:00Z', '06/10/2024 11:00:00').replace('\n', '\r\n') +
          eLine('utf8.srv', '2024-06-10T09:30:00Z', '06/10/2024 11:30:00')
            .replace('jobname=run', 'jobname=výpočet')
            .replace('account="P-1"', 'account="Projekt Ü"'),
      });
      const { records, stats } = await collect(sourceOf({ dir, timeZone: PRAGUE }), w);
      expect(records.map((r) => [r.job_id, r.jobname, r.account, r.origin.line])).toEqual([
        ['crlf.srv', 'run', 'P-1', 1],
        ['utf8.srv', 'výpočet', 'Projekt Ü', 2],
      ]);
      expect(records[0]!.run_count).toBe(1); // the last attribute, before the \r
      expect(stats.malformed).toBe(0);
    });

    it.skipIf(!existsSync('/proc/self/fd'))('closes the file when the consumer stops early', async () => {
      const lines = Array.from({ length: 2000 }, (_, i) => eLine(`${i}.srv`, '2024-06-10T10:00:00Z', '06/10/2024 12:00:00')).join('');
      const dir = await folder({ '20240610': lines });
      const open = () => readdirSync('/proc/self/fd').length;
      const before = open();
      let seen = 0;
      for await (const _ of records(sourceOf({ dir, timeZone: PRAGUE }), w, newStats(), new AbortController().signal)) {
        if (++seen === 5) break;
      }
      expect(seen).toBe(5);
      // The descriptor is closed asynchronously.
      for (let wait = 0; open() > before && wait < 100; wait++) await new Promise((r) => setTimeout(r, 20));
      expect(open()).toBeLessThanOrEqual(before);
    });

    it('stops when the signal aborts, with the signal’s reason', async () => {
      const lines = Array.from({ length: 1000 }, (_, i) => eLine(`${i}.srv`, '2024-06-10T10:00:00Z', '06/10/2024 12:00:00')).join('');
      const dir = await folder({ '20240610': lines });
      const controller = new AbortController();
      const stats = newStats();
      let seen = 0;
      const run = async () => {
        for await (const _ of records(sourceOf({ dir, timeZone: PRAGUE }), w, stats, controller.signal)) {
          if (++seen === 10) controller.abort(new Error('client went away'));
        }
      };
      await expect(run()).rejects.toThrow('client went away');
      // One record at a time on the main thread; the parse threads' records come a block at a time.
      if (mode === 'main thread') expect(seen).toBe(10);
      else expect(seen).toBeLessThan(1000);
      const aborted = new AbortController();
      aborted.abort(new Error('already'));
      await expect(collect(sourceOf({ dir, timeZone: PRAGUE }), w, aborted.signal)).rejects.toThrow('already');
    });
  });

  describe(`accounting log source (${mode}): large files stream in bounded memory`, () => {
    const LINES = 200_000;
    // All of 15 March (Prague) and the first 100 s of each 1000 on the 16th: the gzip day is mostly a
    // neighbour file, as on a real one-day request, whose lines are tokenized but not built into records.
    const w = window('2024-03-14T23:00:00Z', '2024-03-16T08:01:40Z');
    let dir: string;
    let plainBytes = 0;
    let gzipBytes = 0;

    /** 200k lines, a block of 1000 written 200 times: 9 of 10 are E records (about 480 bytes each), the rest S. */
    async function writeDay(path: string, day: string, gzip: boolean): Promise<void> {
      const out = createWriteStream(path);
      const sink = gzip ? createGzip({ level: 1 }) : out;
      if (gzip) sink.pipe(out);
      const base = epoch(`${day}T08:00:00Z`);
      const [y, m, d] = day.split('-');
      let block = '';
      for (let j = 0; j < 1000; j++) {
        const end = new Date((base + j) * 1000).toISOString();
        block += j % 10 === 9 ? `${m}/${d}/${y} 09:00:00;S;${j}.srv;user=alice start=${base}\n` : eLine(`${j}.srv`, end, `${m}/${d}/${y} 09:00:00`);
      }
      for (let i = 0; i < LINES; i += 1000) if (!sink.write(block)) await once(sink, 'drain');
      sink.end();
      await once(out, 'close');
    }

    beforeAll(async () => {
      // Written once for both paths.
      large ??= (async () => {
        const path = join(root, 'large');
        await mkdir(path);
        await writeDay(join(path, '20240315'), '2024-03-15', false);
        await writeDay(join(path, '20240316.gz'), '2024-03-16', true);
        return path;
      })();
      dir = await large;
      plainBytes = (await stat(join(dir, '20240315'))).size;
      gzipBytes = (await stat(join(dir, '20240316.gz'))).size;
    }, 60_000);

    it('streams 2 × 200k lines (plain and gzip) with heap growth well below the file size', async () => {
      expect(plainBytes).toBeGreaterThan(80 * 1024 * 1024);
      const source = sourceOf({ dir, timeZone: PRAGUE });
      const stats = newStats();
      // What the heap holds, garbage collected first: garbage not yet collected depends on when the collector
      // happens to run (on a busy machine it grew past the limit with nothing retained).
      const retained = () => {
        collectGarbage();
        return process.memoryUsage().heapUsed;
      };
      const before = retained();
      let peak = before;
      let count = 0;
      let cpuSeconds = 0;
      for await (const record of records(source, w, stats, new AbortController().signal)) {
        count++;
        cpuSeconds += record.cpu_time_seconds ?? 0;
        if (count % 20_000 === 0) peak = Math.max(peak, retained());
      }
      const growth = peak - before;
      const fromGzip = (LINES / 1000) * 90; // j < 100 and not an S line, in each block of 1000
      expect(count).toBe(LINES * 0.9 + fromGzip);
      expect(cpuSeconds).toBe(count * 39 * 60);
      expect(stats.malformed).toBe(0);
      expect(stats.skipped).toBe(2 * LINES - count);
      expect(stats.inputs).toEqual([
        { name: '20240314 (no file)' },
        { name: '20240315', lines: LINES },
        { name: '20240316.gz', lines: LINES },
        { name: '20240317 (no file)' },
      ]);
      // The uncompressed day is > 80 MiB (the gzip one the same once inflated); what the heap keeps is a small fraction of it.
      expect(growth).toBeLessThan(plainBytes / 16);
      expect(gzipBytes).toBeLessThan(plainBytes);
    }, 60_000);
  });
});

/**
 * The relay's parse threads (src/relay/parse-pool.ts, sources/accounting-threads.ts) must serve exactly
 * what the one-thread reader serves: the same NDJSON lines in the same order, the same counts and the
 * same malformed examples, whatever the file looks like. (accounting-log-source.test.ts runs all its
 * cases on both paths; this file adds the byte-for-byte comparison and the pool's failure handling.)
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, writeDemoAccountingLog } from '../../../src/local/demo-accounting.ts';
import { type BlockSlot, ParsePool } from '../../../src/relay/parse-pool.ts';
import { readLineBatches } from '../../../src/relay/pbs/line-reader.ts';
import { newStats, type Window } from '../../../src/relay/source.ts';
import { accountingLogSource } from '../../../src/relay/sources/accounting-log.ts';
import { type ReadInto, readIntoFrom, splitIntoSlots } from '../../../src/relay/sources/accounting-threads.ts';
import { foldBlock, parseBlock } from '../../../src/relay/sources/accounting-lines.ts';
import { PbsUsageFold } from '../../../src/contracts/pbs-usage.ts';

import { buildRelayBundle, parseJobStream, RELAY_WORKER_SCRIPT } from '../../support/relay-process.ts';

const TZ = 'Europe/Prague';
const DAYS = ['2026-02-10', '2026-02-11'];
let root: string;
let pool: ParsePool;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'relay-threads-'));
  await buildRelayBundle();
  pool = new ParsePool({ script: RELAY_WORKER_SCRIPT, size: 2 });
}, 60_000);
afterAll(async () => {
  await pool?.close();
  await rm(root, { recursive: true, force: true });
});

const window = (from: string, to: string): Window => ({ from: new Date(from), to: new Date(to) });

describe('parse threads serve what the main thread serves', () => {
  it('the same NDJSON bytes, counts and malformed examples on a noisy generated log', async () => {
    const dir = join(root, 'noisy');
    await writeDemoAccountingLog({ dir, days: DAYS, jobsPerDay: 6000, timeZone: TZ, seed: 11 });
    // Noise the reader must settle identically on both paths: garbage, blank and CRLF lines, a line
    // longer than the limit inside one read and one spanning several reads, and a record PBS is still writing.
    const noise =
      'not a PBS line at all\n\n   \n' +
      `02/11/2026 10:00:00;E;crlf.srv;user=u end=${Date.parse('2026-02-11T09:00:00Z') / 1000} resources_used.walltime=00:01:00\r\n` +
      `02/11/2026 10:00:01;E;big.srv;${'x'.repeat(40_000)}\n` +
      `02/11/2026 10:00:02;E;huge.srv;${'y'.repeat(700_000)}\n` +
      '02/11/2026 10:00:03;Q;9.srv;queue=workq\n' +
      `02/11/2026 10:00:04;E;late.srv;user=u end=${Date.parse('2026-02-11T09:00:04Z') / 1000}`;
    await appendFile(join(dir, '20260211'), noise);
    const options = { dir, timeZone: TZ, maxLineBytes: 32 * 1024 };
    const w = window('2026-02-10T00:00:00Z', '2026-02-12T00:00:00Z');

    const mainStats = newStats();
    let mainText = '';
    for await (const r of accountingLogSource(options).jobs(w, mainStats, new AbortController().signal)) mainText += `${JSON.stringify(r)}\n`;

    const threadStats = newStats();
    const chunks: Buffer[] = [];
    let counted = 0;
    for await (const block of accountingLogSource({ ...options, pool }).ndjson!(w, threadStats, new AbortController().signal)) {
      chunks.push(Buffer.from(block.bytes)); // a copy: the block's memory goes back to the pool
      block.release?.();
      counted += block.count;
    }
    const threadText = Buffer.concat(chunks).toString('utf8');

    expect(mainText.length).toBeGreaterThan(1_000_000);
    expect(threadText).toBe(mainText);
    expect(counted).toBe(mainText.split('\n').length - 1);
    expect(threadStats).toEqual(mainStats);
    expect(threadStats.malformed_examples).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^20260211:\d+: not a PBS accounting line/),
        expect.stringMatching(/^20260211:\d+: line longer than 32768 bytes/),
      ]),
    );
    expect(threadStats.malformed_examples.filter((e) => e.includes('line longer than'))).toHaveLength(2);
  }, 60_000);

  it("a thread's fold, kept block after block and started afresh past its bound, hands back exactly each block's usage", async () => {
    const dir = join(root, 'many-groups');
    const users = Array.from({ length: 6000 }, (_, i) => `user${i}`);
    await writeDemoAccountingLog({ dir, days: ['2026-02-10'], jobsPerDay: 20_000, timeZone: TZ, users, seed: 12 });
    const { readFile } = await import('node:fs/promises');
    const bytes = new Uint8Array(await readFile(join(dir, '20260210')));
    const task = { file: '20260210', fromMs: Date.parse('2026-02-10T00:00:00Z'), toMs: Date.parse('2026-02-11T00:00:00Z'), maxLineBytes: 32 * 1024 };
    // Blocks of whole lines, as the splitter cuts them; two requests' blocks interleaved on one thread.
    const blocks: { bytes: Uint8Array; firstLine: number }[] = [];
    for (let at = 0, line = 1; at < bytes.length; ) {
      let end = bytes.indexOf(10, Math.min(at + 64 * 1024, bytes.length - 1)) + 1;
      if (end === 0) end = bytes.length;
      const block = bytes.subarray(at, end);
      blocks.push({ bytes: block, firstLine: line });
      for (const b of block) if (b === 10) line++;
      at = end;
    }
    const merged = [new PbsUsageFold(), new PbsUsageFold()];
    for (const block of blocks) {
      for (const request of [901, 902]) merged[request - 901]!.mergePacked(structuredClone(foldBlock({ ...task, ...block, fold: request }).usage!));
    }
    const whole = new PbsUsageFold();
    for (const block of blocks) {
      const ndjson = parseBlock({ ...task, ...block }).ndjson!;
      for (const r of parseJobStream(Buffer.from(ndjson).toString()).records) whole.add(r);
    }
    expect(whole.size).toBeGreaterThan(4096 * 2); // past the bound of a thread's fold, more than once
    for (const fold of merged) {
      expect(fold.lines()).toEqual(whole.lines());
      expect(fold.totals).toEqual(whole.totals);
    }
  });

  it('cuts lines the same way whatever the read sizes (random chunking, against the line reader)', async () => {
    const random = mulberry32(5);
    const lines = Array.from({ length: 400 }, (_, i) =>
      i % 37 === 0 ? 'z'.repeat(900 + Math.floor(random() * 400)) : `line ${i} ${'a'.repeat(Math.floor(random() * 200))}`,
    );
    const text = Buffer.from(`${lines.join('\n')}\nunfinished`);
    const max = 1000;
    const chunked = () => {
      const parts: Buffer[] = [];
      for (let at = 0; at < text.length; ) {
        const size = 1 + Math.floor(random() * 700);
        parts.push(text.subarray(at, at + size));
        at += size;
      }
      return parts;
    };
    // What the one-thread reader makes of the text: each line, `<oversized>` or `<unfinished>`.
    const expected: string[] = [];
    for await (const batch of readLineBatches(Readable.from(chunked()), max)) {
      for (const l of batch) expected.push(l.oversized ? '<oversized>' : !l.complete ? '<unfinished>' : l.bytes.toString('utf8', l.start, l.end));
    }
    // Slots of 700 bytes to read into after a headroom of 300 (a line carried over that is longer goes to
    // memory of its own), lent and given back: none may stay out, and none may be handed on twice.
    const blockBytes = 700;
    const lent = new Set<BlockSlot>();
    const lender = {
      acquire: async () => {
        const slot = { input: new Uint8Array(new SharedArrayBuffer(1000)), output: new Uint8Array(0) };
        lent.add(slot);
        return slot;
      },
      release: (slot: BlockSlot) => expect(lent.delete(slot)).toBe(true),
    };
    for (let round = 0; round < 40; round++) {
      // Half the rounds from a stream of chunks (a gzip file's), half by reads of random sizes (a plain file's).
      let at = 0;
      const shortReads: ReadInto = async (target) => {
        const n = Math.min(target.length, 1 + Math.floor(random() * 900), text.length - at);
        target.set(text.subarray(at, at + n));
        at += n;
        return n;
      };
      const read = round % 2 === 0 ? readIntoFrom(Readable.from(chunked())) : shortReads;
      const seen: string[] = [];
      for await (const piece of splitIntoSlots(read, lender, blockBytes, max)) {
        if (piece.kind !== 'lines') {
          seen.push(`<${piece.kind}>`);
          continue;
        }
        const parts = Buffer.from(piece.bytes).toString('utf8').split('\n');
        expect(parts.pop()).toBe('');
        expect(parts).toHaveLength(piece.lines);
        lender.release(piece.slot); // what the taker does once the block is parsed
        // A line over the limit inside a piece is the parse thread's to refuse (readAccountingLine).
        seen.push(...parts.map((p) => (Buffer.byteLength(p) > max ? '<oversized>' : p)));
      }
      expect(seen).toEqual(expected);
      expect(lent.size).toBe(0);
    }
    expect(expected.filter((e) => e === '<oversized>').length).toBeGreaterThanOrEqual(5); // of the 11 long lines, those over the limit
    expect(expected.at(-1)).toBe('<unfinished>');
  });
});

describe('parse pool', () => {
  it('a thread that dies fails its own task, and the pool goes on with a new thread', async () => {
    // A stand-in thread that dies on one file name and answers every other task with an empty block.
    const script = join(root, 'dying-worker.mjs');
    await writeFile(
      script,
      `import { parentPort } from 'node:worker_threads';
       parentPort.on('message', ({ id, task }) => {
         if (task.file === 'die') process.exit(3);
         parentPort.postMessage({ id, ok: true, result: { ndjson: new Uint8Array(0), count: 0, skipped: 1, malformed: 0, examples: [] } });
       });`,
    );
    const dying = new ParsePool({ script: new URL(`file://${script}`), size: 1 });
    const task = (file: string) => ({ file, bytes: new Uint8Array([10]), firstLine: 1, fromMs: 0, toMs: 1, maxLineBytes: 100 });
    try {
      await expect(dying.run(task('die'))).rejects.toThrow(/parse thread exited with code 3/);
      await expect(dying.run(task('ok'))).resolves.toMatchObject({ skipped: 1 });
    } finally {
      await dying.close();
    }
    await expect(dying.run(task('ok'))).rejects.toThrow(/closed/);
  });

  it('a block the real thread cannot parse comes back as an error naming the line, not a crash', async () => {
    const result = await pool.run({
      file: '20260210',
      bytes: new TextEncoder().encode('garbage\n02/10/2026 10:00:00;E;1.srv;end=notanumber\n'),
      firstLine: 41,
      fromMs: 0,
      toMs: Date.parse('2030-01-01'),
      maxLineBytes: 1000,
    });
    expect(result.count).toBe(0);
    expect(result.malformed).toBe(2);
    expect(result.examples[0]).toMatch(/^20260210:41: /);
    expect(result.examples[1]).toMatch(/^20260210:42: /);
  });
});

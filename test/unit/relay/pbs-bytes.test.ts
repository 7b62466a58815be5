/**
 * The quick paths of the accounting log parser must give exactly what the plain reading gives:
 * `parseAccountingBytes` (a line still in its bytes) = `parseAccountingLine` (the decoded line),
 * `PayloadReader` = `tokenizePayload`, the in-place value readers = the string ones, and the line
 * reader splits bytes as `split('\n')` would. Checked on every fixture line, on variants of them
 * (CRLF, noise, other characters, quotes and tabs in odd places, broken headers), and on values chosen
 * to sit on the edges of each quick path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { foldAccountingBytes, parseAccountingBytes, parseAccountingLine, writeAccountingBytes } from '../../../src/relay/pbs/accounting-line.ts';
import { PbsUsageFold } from '../../../src/contracts/pbs-usage.ts';
import { jsonRoomFor, putNumber } from '../../../src/relay/pbs/json-bytes.ts';
import { execHostCounts, parseExecHost, parseExecHostFull, parseExecVnode } from '../../../src/relay/pbs/exec-host.ts';
import { readLineBatches } from '../../../src/relay/pbs/line-reader.ts';
import { PayloadReader } from '../../../src/relay/pbs/line-tokenizer.ts';
import { splitAccountingHeader, tokenizePayload } from '../../support/pbs-reference.ts';
import { mulberry32 } from '../../../src/local/demo-accounting.ts';
import { epochToRfc3339, parseDuration, parseDurationBytes, parseInteger, parseSize, parseSizeBytes } from '../../../src/relay/pbs/values.ts';

const fixtureDir = new URL('../../fixtures/pbs/', import.meta.url);
const fixtureLines: string[] = readdirSync(fixtureDir)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => (JSON.parse(readFileSync(new URL(f, fixtureDir), 'utf8')).entries as Array<{ line: string }>).map((e) => e.line));

const BASE = 'user=u group=g jobname=j queue=q ctime=1744817013 qtime=1744817013 etime=1744817013 start=1744817058 end=1744820388';
const E = (payload: string, id = '1.srv', type = 'E') => `04/16/2025 10:19:48;${type};${id};${payload}`;

/** Lines on the edges of the quick paths: each must still read exactly as the decoded line does. */
const edgeLines: string[] = [
  E(BASE),
  `${E(BASE)}\r`,
  `${E(BASE)}\r\r`,
  `torque: ${E(BASE)}`,
  `/var/spool/pbs/server_priv/accounting/20250416:${E(BASE)}`,
  E(`${BASE} jobname=résumé account="Projekt Ü"`),
  E(`${BASE} account="a b" project='x "y" z' Resource_List.nodes=1:ppn=4 -L tasks=1 =odd b="unterminated`),
  E(`${BASE} account="tab\tinside"\tqueue=after_tab`),
  E(`${BASE} account="quote"then" end=1744820389`),
  E(`${BASE} account="q"\tuser=v`),
  E(`${BASE} account=" end=1 "`),
  E(`${BASE} end=1744820399`), // a repeated key keeps its last value
  E(`user= group= project="" account='' ${BASE.replace(/user=u group=g jobname=j queue=q /, '')} jobname= queue= exec_host=`), // empty values
  E(`${BASE} account="back\\slash" project=ctl\u0001char exec_host=a"b/0`), // values JSON must escape
  E(`${BASE} Exit_status=-11 exit_status=3 run_count=+2`),
  E(`${BASE} exit_status=3`),
  E(`${BASE} resources_used.mem=1kw resources_used.vmem=9999999999999999kb Resource_List.mem=10GB`),
  E(`${BASE} resources_used.mem=12.27M resources_used.vmem= 1kb Resource_List.mem=0012kb`),
  E(`${BASE} resources_used.walltime=1:02:03:04 resources_used.cput=19:23:4 Resource_List.walltime=-342359:-42:-21`),
  E(`${BASE} resources_used.walltime=1234:56:78.9012345 resources_used.cput=12722 Resource_List.walltime=5:`),
  E(`${BASE} resources_used.cpupercent=1966 resources_used.cpupercent=12.5`),
  E(`${BASE} resources_used.cpupercent=-0`),
  E(`${BASE} exec_host=c1/0*13+c2/0*13 exec_vnode=(c1:ncpus=13:ngpus=1)+(c2:ncpus=13)`),
  E(`${BASE} exec_host=b391/0-1,5,11+b392/3 Resource_List.ncpus=1`),
  E(`${BASE} exec_host=h/3-2 exec_vnode=([2]:ncpus=1+a:mem=1kb)`),
  E(`${BASE} exec_vnode=([2]:ncpus=1+a:mem=1kb)`),
  E(`${BASE} exec_vnode=(h[0]:ncpus=2:ngpus= 1)+(h[1]:ngpus=+1)`),
  E(BASE.replace('ctime=1744817013', 'ctime=253402300800')),
  E(BASE.replace('ctime=1744817013', 'ctime=253402300799')),
  E(BASE.replace('qtime=1744817013', 'qtime=1744817013start=1')),
  E(BASE.replace('start=1744817058', 'start=0')),
  E(BASE.replace('end=1744820388', 'end=0')),
  E(BASE.replace('end=1744820388', 'end=17448203881744820388')),
  E(BASE.replace(' end=1744820388', '')),
  E(BASE.replace(' end=1744820388', ''), '1.srv', 'R'),
  E(BASE, '123[]'),
  E(BASE, '123[].srv'),
  E(BASE, '123[4].srv'),
  E(BASE, '1\t2'),
  E(BASE, '1\u00a0'),
  E(BASE, ''),
  E(BASE, '1.srv', 'S'),
  E(BASE, '1.srv', '['),
  E(BASE, '1.srv', 'EE'),
  E(''),
  E(' '),
  E('\t'),
  E('\u00a0'),
  E('', '1.srv', 'R'),
  `${E(BASE).replace(';1.srv;', ';1.srv')}`,
  '04/16/2025 10:19:60;E;1.srv;end=1744820388',
  '04/16/2025 24:19:48;E;1.srv;end=1744820388',
  '4/16/2025 10:19:48;E;1.srv;end=1744820388',
  '04/16/2025 10:19:48;E;1.srv',
  '04/16/2025 10:19:48;E',
  'garbage',
  '',
];

/** Deterministic variants: characters that matter to the quick paths, put anywhere. */
function variants(lines: string[], count: number): string[] {
  const rand = mulberry32(7);
  const bits = [' ', '\t', '"', "'", '=', ':', '+', '/', '*', ',', '-', '[', ']', '(', ')', ';', '\r', '0', '9', 'é', '\u00a0', 'kb', 'end='];
  return Array.from({ length: count }, () => {
    let line = lines[Math.floor(rand() * lines.length)]!;
    for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
      const at = Math.floor(rand() * (line.length + 1));
      const bit = bits[Math.floor(rand() * bits.length)]!;
      line = rand() < 0.5 ? line.slice(0, at) + bit + line.slice(at) : line.slice(0, at) + bit + line.slice(at + 1);
    }
    return line;
  });
}

const allLines = [...fixtureLines, ...edgeLines, ...variants([...fixtureLines, ...edgeLines], 3000)];

describe('a line read in its bytes', () => {
  it('has fixture lines to compare on', () => {
    expect(fixtureLines.length).toBeGreaterThan(50);
  });

  it('gives exactly what the decoded line gives: records, skips and malformed lines alike', () => {
    const keepEven = (end: number | null) => end !== null && end % 2 === 0;
    let records = 0;
    for (const line of allLines) {
      // In the middle of a larger buffer, as a line of a chunk is.
      const bytes = Buffer.from(`xx\n${line}\nyy`, 'utf8');
      const start = 3;
      const end = bytes.length - 3;
      const decoded = bytes.toString('utf8', start, end);
      const expected = parseAccountingLine(decoded, { file: 'f', line: 7 });
      if (expected.kind === 'job') records++;
      expect(parseAccountingBytes(bytes, start, end, { file: 'f', line: 7 }), line).toEqual(expected);
      const kept = parseAccountingLine(decoded, {}, { keepEnd: keepEven });
      expect(parseAccountingBytes(bytes, start, end, {}, { keepEnd: keepEven }), line).toEqual(kept);
    }
    expect(records).toBeGreaterThan(500);
  });

  it('writes a record as JSON byte for byte as JSON.stringify does, in exactly the room it asks for', () => {
    const keepEven = (end: number | null) => end !== null && end % 2 === 0;
    let written = 0;
    for (const file of ['20250416', 'dir "x"/é\\20250416.gz']) {
      for (const [i, line] of allLines.entries()) {
        const bytes = Buffer.from(`xx\n${line}\nyy`, 'utf8');
        const start = 3;
        const end = bytes.length - 3;
        for (const options of [{}, { keepEnd: keepEven }]) {
          const origin = { file, line: i + 1 };
          const expected = parseAccountingBytes(bytes, start, end, origin, options);
          // Exactly the room promised, after 5 bytes already written: a byte past it would be lost.
          const out = new Uint8Array(5 + jsonRoomFor(end - start, Buffer.byteLength(JSON.stringify(file))));
          const result = writeAccountingBytes(bytes, start, end, origin, options, out, 5);
          if (typeof result === 'number') {
            written++;
            expect(expected.kind, line).toBe('job');
            const json = Buffer.from(out.subarray(5, result)).toString('utf8');
            if (expected.kind === 'job' && json !== JSON.stringify(expected.record)) expect(json, line).toBe(JSON.stringify(expected.record));
          } else {
            expect(result, line).toEqual(expected);
          }
        }
      }
    }
    expect(written).toBeGreaterThan(1000);
  });

  it('folds a line from its values as PbsUsageFold folds its record, and the same block after block', () => {
    const keepEven = (end: number | null) => end !== null && end % 2 === 0;
    for (const options of [{}, { keepEnd: keepEven }]) {
      const fromValues = new PbsUsageFold();
      const fromRecords = new PbsUsageFold();
      const merged = new PbsUsageFold();
      let folded = 0;
      for (const [i, line] of allLines.entries()) {
        const bytes = Buffer.from(`xx\n${line}\nyy`, 'utf8');
        const origin = { file: 'f', line: i + 1 };
        const expected = parseAccountingBytes(bytes, 3, bytes.length - 3, origin, options);
        if (expected.kind === 'job') fromRecords.add(expected.record);
        const result = foldAccountingBytes(bytes, 3, bytes.length - 3, origin, options, fromValues);
        if (result === true) folded++;
        else {
          expect(result, line).toEqual(expected);
          if (result.kind === 'job') fromValues.add(result.record);
        }
        // One fold taking block after block, as a parse thread's does: packed() hands back each block's sums once.
        if (i % 97 === 96) merged.mergePacked(structuredClone(fromValues.packed()));
      }
      merged.mergePacked(structuredClone(fromValues.packed()));
      expect(folded).toBeGreaterThan(300);
      expect(merged.lines()).toEqual(fromRecords.lines());
      expect(merged.totals).toEqual(fromRecords.totals);
      expect(fromValues.size).toBe(0); // everything was packed
    }
  });

  it('writes numbers as JSON.stringify does', () => {
    const out = new Uint8Array(64);
    for (const n of [
      0,
      -0,
      7,
      10,
      99,
      100,
      -11,
      999_999_999,
      1_000_000_000,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 31 + 1,
      2 ** 32,
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      2 ** 53,
      1e21,
      12.5,
      0.1,
      1e-7,
      null,
    ]) {
      const end = putNumber(out, 0, n);
      expect(Buffer.from(out.subarray(0, end)).toString('latin1'), String(n)).toBe(JSON.stringify(n));
    }
    // Every length of digit, and the eight low digits of large ones with zeros among them (a memory size in bytes).
    const random = mulberry32(5);
    for (let i = 0; i < 20_000; i++) {
      const digits = 1 + (i % 16);
      let n = Math.floor(random() * 10 ** digits);
      if (i % 3 === 0) n = Math.floor(n / 1e8) * 1e8 + Math.floor(random() * 10 ** (i % 9));
      if (i % 7 === 0) n = -n;
      if (!Number.isSafeInteger(n)) continue;
      const end = putNumber(out, 3, n);
      if (Buffer.from(out.subarray(3, end)).toString('latin1') !== JSON.stringify(n)) {
        expect(Buffer.from(out.subarray(3, end)).toString('latin1')).toBe(JSON.stringify(n));
      }
    }
  });

  it('keeps other characters as UTF-8 decoding gives them, invalid bytes included', () => {
    // `jobname=résumé_\xff a=\xc3`: a stray byte, then a sequence cut short at the end.
    const line = Buffer.concat([Buffer.from(E(`${BASE} jobname=résumé_`), 'utf8'), Buffer.from([0xff, 0x20, 0x61, 0x3d, 0xc3])]);
    const result = parseAccountingBytes(line, 0, line.length);
    expect(result).toEqual(parseAccountingLine(line.toString('utf8')));
    expect(result.kind === 'job' && result.record.jobname).toBe('résumé_\ufffd');
  });
});

describe('PayloadReader', () => {
  it('reads the same values as tokenizePayload, from a string and from bytes', () => {
    const payloadOf = (line: string) => {
      const head = splitAccountingHeader(line);
      return head.ok ? head.header.payload : line;
    };
    const keys = new Set<string>(['end', 'user', 'account', 'a', 'b', 'tasks', 'Resource_List.nodes']);
    for (const line of [...fixtureLines, ...edgeLines]) {
      for (const key of tokenizePayload(payloadOf(line)).attrs.keys()) if (/^[\x21-\x7e]+$/.test(key) && !key.includes('=')) keys.add(key);
    }
    const reader = new PayloadReader(keys);
    let bytesRead = 0;
    for (const line of allLines) {
      const p = payloadOf(line);
      const { attrs } = tokenizePayload(p);
      const expected = [...keys].map((key) => attrs.get(key));
      reader.read(`;;${p}`, 2);
      const fromString = [...keys].map((key) => reader.get(key));
      const bytes = Buffer.from(`;;${p}`, 'utf8');
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the test asks whether the payload is all ASCII, control characters included
      const ascii = /^[\x00-\x7f]*$/.test(p);
      const readAll = reader.readBytes(bytes, 2, bytes.length);
      const fromBytes = ascii ? [...keys].map((key) => reader.get(key)) : expected;
      // The same values again, through the table of recent values (which every line here shares).
      if (ascii) expect([...keys].map((key) => reader.interned(key))).toEqual(fromBytes);
      if (readAll !== ascii || !isDeepStrictEqual(fromString, expected) || !isDeepStrictEqual(fromBytes, expected)) {
        expect({ p, readAll, fromString, fromBytes }).toEqual({ p, readAll: ascii, fromString: expected, fromBytes: expected });
      }
      if (ascii) bytesRead++;
    }
    expect(bytesRead).toBeGreaterThan(1000);
  });

  it('reads a key that differs from the one the line before had at its place as tokenizePayload does', () => {
    // readBytes compares each token with the key the previous line had there: every way a key can differ
    // from that guess must read as the reference reads it, line after line on one reader.
    const long = `Resource_List.${'x'.repeat(40)}`; // longer than a kept guess
    const keys = ['user', 'users', 'use', 'queue', 'Resource_List.walltime', 'Resource_List.wallclock', long, 'end'];
    const reader = new PayloadReader(keys);
    const base = ['user=alice', 'queue=workq', 'Resource_List.walltime=01:00:00', `${long}=7`, 'end=100'];
    const variants = (token: string): string[] => {
      const [key = '', value = ''] = token.split('=');
      return [
        token,
        `${key}s=${value}`, // longer, the guess a prefix of it
        `${key.slice(0, -1)}=${value}`, // shorter
        `${key.slice(0, -1)}X=${value}`, // one byte differs (the last)
        `X${key.slice(1)}=${value}`, // one byte differs (the first)
        `${key}`, // no `=`: a stray token
        `${key} =${value}`, // the key, then a stray token
        `${key}==${value}`, // the value starts with `=`
        `${key}="${value} x"`, // a quoted value
        `\t${key}=${value}`,
        `${key}=`, // empty
      ];
    };
    const rand = mulberry32(13);
    let lines = 0;
    for (let n = 0; n < 3000; n++) {
      const tokens = base.map((t) => (rand() < 0.3 ? variants(t)[Math.floor(rand() * 11)]! : t));
      if (rand() < 0.1) tokens.splice(Math.floor(rand() * tokens.length), 1); // a token missing shifts the rest
      const p = tokens.join(' ');
      const { attrs } = tokenizePayload(p);
      const bytes = Buffer.from(`;;${p}`, 'latin1');
      expect(reader.readBytes(bytes, 2, bytes.length)).toBe(true);
      const got = keys.map((k) => reader.get(k));
      const expected = keys.map((k) => attrs.get(k));
      if (!isDeepStrictEqual(got, expected)) expect({ p, got }).toEqual({ p, got: expected });
      lines++;
    }
    expect(lines).toBe(3000);
  });

  it('refuses keys it cannot recognise, and a key it was not given', () => {
    expect(() => new PayloadReader(['a=b'])).toThrow(/cannot declare/);
    expect(() => new PayloadReader(['a b'])).toThrow(/cannot declare/);
    expect(() => new PayloadReader([''])).toThrow(/cannot declare/);
    const reader = new PayloadReader(['user']);
    reader.read('user=u queue=q');
    expect(reader.get('user')).toBe('u');
    expect(() => reader.get('queue')).toThrow(/not declared/);
  });
});

describe('values read in place', () => {
  const sizes = [
    ...['0b', '516b', '1024', '10k', '1245kb', '4000mb', '1GB', '20gb', '2tb', '1pb', '1w', '3kw', '143425316860b', '0012Kb', '8PW'],
    ...['12.27M', '-1kb', 'kb', '', '10 kb', ' 10kb', '10kb ', '10xb', '1e3', '9999999pb', '999999999999999', '9999999999999999', '1kbb', '1bw'],
  ];
  it.each(sizes)('size %j', (text) => {
    const bytes = Buffer.from(`=${text};`, 'latin1');
    const quick = parseSizeBytes(bytes, 1, bytes.length - 1);
    if (quick !== undefined) expect(quick).toBe(parseSize(text));
  });

  const durations = [
    ...['00:00:00', '19:23:4', '2:00:00', '800:00:00', '05:30', '12722', '1:02:03:04', '1234:56:78.9012345', '999999999999999:00'],
    ...['-342359:-42:-21', '-5', '', '1::2', ':5', '5:', 'a:b:c', '1:2:3:4:5', '12.5:00', ' 1:00', '9999999999999999'],
  ];
  it.each(durations)('duration %j', (text) => {
    const bytes = Buffer.from(`=${text};`, 'latin1');
    const quick = parseDurationBytes(bytes, 1, bytes.length - 1);
    if (quick !== undefined) expect(quick).toBe(parseDuration(text));
    expect(parseDuration(text)).toBe(referenceDuration(text));
  });

  it('integers: the quick path agrees with the full grammar', () => {
    const texts = ['0', '-0', '-11', '271', '+3', ' 3', '3 ', '1.0', '"-29"', '-', '', '999999999999999', '-999999999999999', '9007199254740993'];
    for (const text of texts) {
      expect(Object.is(parseInteger(text), referenceInteger(text)), text).toBe(true);
    }
  });

  it('RFC 3339 times match Date#toISOString, one after another and a day cache apart', () => {
    const rand = mulberry32(3);
    const epochs = [0, 59, 86399, 86400, 951782400, 951868800, 1317509945, 253402300799];
    for (let i = 0; i < 2000; i++) epochs.push(Math.floor(rand() * 253402300800));
    for (let i = 0; i < 200; i++) epochs.push(1744817013 + Math.floor(i / 3) * 86400 * 8); // same slot of the day cache, other days
    for (const e of epochs) {
      expect(epochToRfc3339(e)).toBe(new Date(e * 1000).toISOString().replace('.000Z', 'Z'));
      expect(epochToRfc3339(e)).toBe(new Date(e * 1000).toISOString().replace('.000Z', 'Z')); // the same second again
    }
  });
});

/** The full duration grammar, as parseDuration documents it (what its quick path must agree with). */
function referenceDuration(value: string): number | null {
  const m = /^\s*(?:(?:(?:(\d+):)?(\d+):)?(\d+):)?(\d+(?:\.\d+)?)\s*$/.exec(value);
  if (!m) return null;
  const [, d, h, mi, s] = m;
  const total =
    (d === undefined ? 0 : Number(d) * 86400) + (h === undefined ? 0 : Number(h) * 3600) + (mi === undefined ? 0 : Number(mi) * 60) + Number(s);
  return Number.isFinite(total) ? total : null;
}

function referenceInteger(value: string): number | null {
  if (!/^\s*[-+]?\d+\s*$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

describe('placement parsers', () => {
  it('exec_vnode: a vnode whose host is empty (`[2]`) still counts as a host', () => {
    expect(parseExecVnode('([2]:ncpus=1+a:ncpus=1)')).toEqual({ hosts: ['', 'a'], ncpus: 2, ngpus: null, memBytes: null });
    expect(parseExecVnode('(a:ncpus=1)+([2]:ncpus=1)+(a[1]:ncpus=1)')).toMatchObject({ hosts: ['a', ''] });
  });

  it('exec_host: the quick scan agrees with the full grammar wherever it answers, from a string and from bytes', () => {
    const rand = mulberry32(5);
    const pieces = ['n1', 'n2', 'node-3.a', 'x', '/', '/0', '/1', '*', '*4', '*0', '+', ',', '-', '-3', '0', '7', '15', ' ', 'é', ''];
    let scanned = 0;
    for (let k = 0; k < 20_000; k++) {
      let value = '';
      for (let n = 1 + Math.floor(rand() * 8); n > 0; n--) value += pieces[Math.floor(rand() * pieces.length)]!;
      if (rand() < 0.3) value = Array.from({ length: 1 + Math.floor(rand() * 30) }, (_, i) => `h${Math.floor(rand() * 20)}/${i}`).join('+');
      const full = parseExecHostFull(value);
      expect(parseExecHost(value), value).toEqual(full);
      if (/^[\x21-\x7e]+$/.test(value)) {
        scanned++;
        const bytes = Buffer.from(`a=${value} b`, 'latin1');
        const counts = execHostCounts(bytes, 2, 2 + value.length);
        expect(counts && { ...counts }, value).toEqual(full && { hosts: full.hosts.length, cores: full.cores });
      }
    }
    expect(scanned).toBeGreaterThan(5000);
  });

  it('exec_host: many parts, many hosts, hosts repeated out of order', () => {
    const parts = Array.from({ length: 40 }, (_, i) => `n${i % 20}/${i}`);
    expect(parseExecHost(parts.join('+'))).toEqual({ hosts: Array.from({ length: 20 }, (_, i) => `n${i}`), cores: 40 });
    expect(parseExecHost(' a/0 ')).toEqual({ hosts: ['a'], cores: 1 });
    expect(parseExecHost('a/0+')).toBeNull();
    expect(parseExecHost('a/0*1*2')).toBeNull();
  });
});

describe('line reader', () => {
  async function* chunked(data: Buffer, sizes: number[]) {
    let at = 0;
    for (let k = 0; at < data.length; k++) {
      const size = sizes[k % sizes.length]!;
      yield data.subarray(at, at + size);
      at += size;
    }
  }

  it('splits bytes as split("\\n") does, whatever the chunks, and marks the unfinished last line', async () => {
    const text = ['a', '', 'bb;é;cc', 'x'.repeat(300), '', 'last'].join('\n');
    const data = Buffer.from(text, 'utf8');
    for (const sizes of [[1], [2, 3], [7], [64], [1000]]) {
      const lines: string[] = [];
      const complete: boolean[] = [];
      for await (const batch of readLineBatches(chunked(data, sizes))) {
        for (const l of batch) {
          lines.push(l.bytes.toString('utf8', l.start, l.end));
          complete.push(l.complete);
          expect(l.oversized).toBe(false);
        }
      }
      expect(lines, String(sizes)).toEqual(text.split('\n'));
      expect(complete).toEqual([true, true, true, true, true, false]);
    }
  });

  it('drops lines longer than maxLineBytes, across chunks too', async () => {
    const data = Buffer.from(`ok\n${'x'.repeat(50)}\nfine\n${'y'.repeat(50)}`, 'latin1');
    for (const sizes of [[3], [16], [1000]]) {
      const seen: Array<[string, boolean, boolean]> = [];
      for await (const batch of readLineBatches(chunked(data, sizes), 20)) {
        for (const l of batch) seen.push([l.bytes.toString('latin1', l.start, l.end), l.complete, l.oversized]);
      }
      expect(seen, String(sizes)).toEqual([
        ['ok', true, false],
        ['', true, true],
        ['fine', true, false],
        ['', false, true],
      ]);
    }
  });
});

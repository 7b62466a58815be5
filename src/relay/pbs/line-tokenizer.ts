/**
 * The accounting line tokenizer (docs/relay.md, "PBS input formats": accounting log files, quoting):
 * `MM/DD/YYYY HH:MM:SS;T;JOBID;payload`, the header split with maxsplit 3 on `;` (values such as
 * `account="…"` may contain `;`), then the payload read as `key=value` pairs by name.
 */

import { putAsciiString, putBytes } from './json-bytes.ts';
import { parseCount, parseDuration, parseDurationBytes, parseInteger, parseSize, parseSizeBytes } from './values.ts';

const JSON_NULL = Uint8Array.of(110, 117, 108, 108);

/** The server-local wall-clock time of the line prefix (no time zone is written). */
export interface LocalStamp {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * Noise seen in front of real records: a `torque: ` syslog tag (hnormalise vectors) and a grep
 * file-name prefix `20150327:` (APEL vectors), possibly with the file's path.
 */
const NOISE_PREFIX = /^(?:torque: ?|(?:[^\s;]*\/)?\d{8}(?:\.gz)?:)/;

/** Two digits at `at`, or -1. */
function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** `MM/DD/YYYY HH:MM:SS` (all of `text` up to `end`), read digit by digit: a regex here was a visible share of the parse time. */
function parseStamp(text: string, end: number): LocalStamp | null {
  if (end !== 19) return null;
  if (text.charCodeAt(2) !== 47 || text.charCodeAt(5) !== 47 || text.charCodeAt(10) !== 32) return null;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return null;
  const month = twoDigits(text, 0);
  const day = twoDigits(text, 3);
  const century = twoDigits(text, 6);
  const yy = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1 || day > 31) return null;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return null;
  return { year: century * 100 + yy, month, day, hour, minute, second };
}

/** `dd/dd/dddd ` at the start: a real record, which the noise pattern can never match. */
function startsWithDate(line: string): boolean {
  return (
    line.charCodeAt(2) === 47 &&
    line.charCodeAt(5) === 47 &&
    line.charCodeAt(10) === 32 &&
    twoDigits(line, 0) >= 0 &&
    twoDigits(line, 3) >= 0 &&
    twoDigits(line, 6) >= 0 &&
    twoDigits(line, 8) >= 0
  );
}

/** A header, with the payload left in place: `line.slice(payloadStart)` (`line` may be cut: noise, `\r`). */
export interface HeaderPositions {
  stamp: LocalStamp;
  type: string;
  id: string;
  line: string;
  payloadStart: number;
}

export type HeaderPositionsResult = { ok: true; header: HeaderPositions } | { ok: false; reason: string };

/** Where one physical line's header ends and its payload starts; never throws. */
export function locateAccountingHeader(rawLine: string): HeaderPositionsResult {
  let line = rawLine.charCodeAt(rawLine.length - 1) === 13 ? rawLine.slice(0, -1) : rawLine;
  if (!startsWithDate(line)) {
    const noise = NOISE_PREFIX.exec(line);
    if (noise) line = line.slice(noise[0].length);
  }
  const a = line.indexOf(';');
  const b = a < 0 ? -1 : line.indexOf(';', a + 1);
  if (b < 0) return { ok: false, reason: 'not a PBS accounting line (no DATE;TYPE;ID header)' };
  const c = line.indexOf(';', b + 1);
  const stamp = parseStamp(line, a);
  if (!stamp) return { ok: false, reason: 'bad timestamp' };
  const t = b - a === 2 ? line.charCodeAt(a + 1) | 0x20 : 0;
  if (t < 97 || t > 122) return { ok: false, reason: 'bad record type' };
  const type = line[a + 1]!;
  // A record always ends its header with `;` (an empty payload is `ID;`); be lenient if it does not.
  const id = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  if (id === '' || /\s/.test(id)) return { ok: false, reason: 'bad job id' };
  return { ok: true, header: { stamp, type, id, line, payloadStart: c < 0 ? line.length : c + 1 } };
}

/** Two digits at `at`, or -1. */
function twoDigitBytes(bytes: Uint8Array, at: number): number {
  const a = bytes[at]! - 48;
  const b = bytes[at + 1]! - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** ASCII white space as `/\s/` sees it: tab, line feed, vertical tab, form feed, carriage return, space. */
const isAsciiSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/**
 * The header of a line still in its bytes, when it is a plain one: `MM/DD/YYYY HH:MM:SS;T;ID;…` from
 * `start` (no noise before it; a `\r` at the end already cut off by the caller), a letter for the
 * type, an ID of ASCII without white space. Returns where the ID ends (at `;` or `end`; the type is at
 * `start + 20`, the ID from `start + 22`), or -1 for anything else: {@link locateAccountingHeader} on
 * the decoded line then decides (and names what is wrong).
 */
export function locatePlainHeader(bytes: Uint8Array, start: number, end: number): number {
  if (end - start < 22) return -1;
  if (bytes[start + 2] !== 47 || bytes[start + 5] !== 47 || bytes[start + 10] !== 32 || bytes[start + 13] !== 58) return -1;
  if (bytes[start + 16] !== 58 || bytes[start + 19] !== 59 || bytes[start + 21] !== 59) return -1;
  const month = twoDigitBytes(bytes, start);
  const day = twoDigitBytes(bytes, start + 3);
  const hour = twoDigitBytes(bytes, start + 11);
  const minute = twoDigitBytes(bytes, start + 14);
  const second = twoDigitBytes(bytes, start + 17);
  if (twoDigitBytes(bytes, start + 6) < 0 || twoDigitBytes(bytes, start + 8) < 0 || month < 1 || month > 12 || day < 1 || day > 31) return -1;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return -1;
  const type = bytes[start + 20]! | 0x20;
  if (type < 97 || type > 122) return -1;
  let i = start + 22;
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c === 59) break;
    if (c >= 128 || isAsciiSpace(c)) return -1;
  }
  return i === start + 22 ? -1 : i;
}

/**
 * Whether the four bytes of `word` hold a space, a tab, a byte outside ASCII or (with `eq`) an `=`: a
 * byte equal to b makes `(x ^ b…) - 0x01…` borrow into its top bit (the classic test for a zero byte;
 * it may also flag a byte above a true match, never one when there is none).
 */
function wordStops(word: number, eq: boolean): boolean {
  const space = word ^ 0x20202020;
  const tab = word ^ 0x09090909;
  let hits = ((space - 0x01010101) & ~space) | ((tab - 0x01010101) & ~tab) | word;
  if (eq) {
    const equals = word ^ 0x3d3d3d3d;
    hits |= (equals - 0x01010101) & ~equals;
  }
  return (hits & 0x80808080) !== 0;
}

/** Recent values PayloadReader.interned keeps (a power of two). */
const INTERNED = 1024;

/** The tokens of a line whose keys readBytes guesses from the line before. */
const MAX_GUESSES = 64;

/** Room for a guessed key (readBytes): a longer key is found again each line. */
const GUESSED_KEY_BYTES = 32;

/**
 * Keep the key `bytes[from, to)` at `into[at…]` when it fits and every byte is printable ASCII (what
 * {@link sameKey} needs of it); false when it is not kept.
 */
function keepGuess(bytes: Uint8Array, from: number, to: number, into: Uint8Array, at: number): boolean {
  if (to - from > GUESSED_KEY_BYTES) return false;
  for (let k = from; k < to; k++) {
    const c = bytes[k]!;
    if (c < 33 || c > 126) return false;
    into[at + k - from] = c;
  }
  return true;
}

/**
 * `a[from, from + length)` = the key of printable ASCII at `b[at…]` (a declared key, or one kept by
 * {@link keepGuess}), eight bytes at a time as doubles: eight bytes of printable ASCII read as a double are a
 * finite, non-zero number, which equals only a double of the same bits (a NaN read from `a` equals nothing: no
 * match, and the token is scanned instead).
 */
function sameKey(a: DataView, from: number, b: DataView, at: number, length: number): boolean {
  let m = 0;
  for (; m + 8 <= length; m += 8) if (a.getFloat64(from + m, true) !== b.getFloat64(at + m, true)) return false;
  if (m + 4 <= length) {
    if (a.getUint32(from + m, true) !== b.getUint32(at + m, true)) return false;
    m += 4;
  }
  for (; m < length; m++) if (a.getUint8(from + m) !== b.getUint8(at + m)) return false;
  return true;
}

/** A declared key, by name or by its {@link PayloadReader.slot}. */
type Key = string | number;

interface Candidate {
  key: string;
  slot: number;
  /** Where the key's bytes are in `keyBytes`. */
  at: number;
}

/**
 * The payload read for a declared set of keys only: what a parser reading millions of lines needs.
 * Tokens are delimited exactly as the tests' reference tokenizer does (test/support/pbs-reference.ts), but a
 * declared key is recognised in place, other keys and stray tokens are passed over, and values are
 * cut out only when read. It reads a string, or (quicker: a string is slow to scan character by
 * character) a line still in its bytes, as long as they are ASCII. One instance is reused line after
 * line (each read forgets the previous line), so it is not reentrant. Reading a key that was not
 * declared throws: it would otherwise read as missing.
 */
export class PayloadReader {
  private readonly slots = new Map<string, number>();
  /** Declared keys by the code of their first character (ASCII), and by their length. */
  private readonly byFirst: Array<Candidate[] | undefined> = new Array(128).fill(undefined);
  private readonly byLength: Array<Candidate[] | undefined> = [];
  /** The declared keys' bytes, one after another. */
  private readonly keyBytes: DataView;
  /**
   * The k-th `key=value` token of the last lines read in their bytes: its key's slot (-1: not declared), its
   * key's length (0: none kept) and bytes (at k × GUESSED_KEY_BYTES), for readBytes to compare the next line's
   * k-th token with.
   */
  private readonly guesses = new Int32Array(MAX_GUESSES).fill(-1);
  private readonly guessLengths = new Int32Array(MAX_GUESSES);
  private readonly guessBytes = new Uint8Array(MAX_GUESSES * GUESSED_KEY_BYTES);
  private readonly guessKeys = new DataView(this.guessBytes.buffer);
  /** `bytes`, as a DataView (made once per buffer: a chunk holds hundreds of lines). */
  private view: DataView | null = null;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  /** The payload read as a string (null when read in its bytes: values are decoded one at a time). */
  private text: string | null = '';
  private bytes: Buffer = Buffer.alloc(0);
  private inBytes = false;

  constructor(keys: Iterable<string>) {
    const all = [...new Set(keys)];
    const keyBytes = Buffer.from(all.join(''), 'latin1');
    this.keyBytes = new DataView(keyBytes.buffer, keyBytes.byteOffset, keyBytes.byteLength);
    let at = 0;
    for (const key of all) {
      if (!/^[\x21-\x7e]+$/.test(key) || key.includes('=')) throw new Error(`PayloadReader: cannot declare ${JSON.stringify(key)}`);
      const slot = this.slots.size;
      this.slots.set(key, slot);
      const candidate = { key, slot, at };
      (this.byFirst[key.charCodeAt(0)] ??= []).push(candidate);
      (this.byLength[key.length] ??= []).push(candidate);
      at += key.length;
    }
    this.starts = new Int32Array(this.slots.size).fill(-1);
    this.ends = new Int32Array(this.slots.size);
  }

  /** Read the payload `text.slice(from)`. */
  read(text: string, from = 0): void {
    this.text = text;
    this.inBytes = false;
    const starts = this.starts;
    const ends = this.ends;
    starts.fill(-1);
    const n = text.length;
    // Positions of the next tab and of the next `=` (for tokens not recognised), searched again only
    // once passed: linear even for a long run of stray tokens.
    let nextTab = text.indexOf('\t', from);
    let nextEq = -1;
    let i = from;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9) {
        i++;
        continue;
      }
      // The next separator: a space or a tab.
      let end = text.indexOf(' ', i);
      if (end < 0) end = n;
      if (nextTab >= 0) {
        if (nextTab < i) nextTab = text.indexOf('\t', i);
        if (nextTab >= 0 && nextTab < end) end = nextTab;
      }
      // A declared key followed by `=` (a key holds no `=`, space or tab: that `=` is the token's first).
      let eq = -1;
      let slot = -1;
      const candidates = c < 128 ? this.byFirst[c] : undefined;
      if (candidates !== undefined) {
        for (let k = 0; k < candidates.length; k++) {
          const candidate = candidates[k]!;
          const at = i + candidate.key.length;
          if (text.charCodeAt(at) === 61 && text.startsWith(candidate.key, i)) {
            eq = at;
            slot = candidate.slot;
            break;
          }
        }
      }
      if (eq < 0) {
        if (nextEq < i) {
          nextEq = text.indexOf('=', i);
          if (nextEq < 0) nextEq = n;
        }
        eq = nextEq;
        if (eq >= end || eq === i) {
          i = end; // a stray token
          continue;
        }
      }
      let valueStart = eq + 1;
      let valueEnd = end;
      const q = text.charCodeAt(eq + 1);
      if (q === 34 || q === 39) {
        const quote = q === 34 ? '"' : "'";
        let j = eq + 2;
        while ((j = text.indexOf(quote, j)) !== -1) {
          const after = text.charCodeAt(j + 1);
          if (j + 1 >= n || after === 32 || after === 9) break;
          j++;
        }
        if (j !== -1) {
          valueStart = eq + 2;
          valueEnd = j;
          end = j + 1;
        }
      }
      if (slot >= 0) {
        starts[slot] = valueStart; // a repeated key keeps its last value
        ends[slot] = valueEnd;
      }
      i = end;
    }
  }

  /**
   * Read the payload `bytes[from, end)`, the same way (positions are then positions in `bytes`). False (and
   * nothing to get) when the payload is not all ASCII: decode the line and {@link read} it instead.
   */
  readBytes(bytes: Buffer, from: number, end: number): boolean {
    if (bytes !== this.bytes || this.view === null) this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const view = this.view;
    const { guesses, guessLengths, guessKeys, guessBytes } = this;
    let token = 0;
    this.bytes = bytes;
    this.text = null;
    this.inBytes = true;
    const starts = this.starts;
    const ends = this.ends;
    starts.fill(-1);
    let seen = 0; // every byte looked at, or-ed: ≥ 128 when one was not ASCII
    let i = from;
    while (i < end) {
      let c = bytes[i]!;
      if (c === 32 || c === 9) {
        i++;
        continue;
      }
      let stop = i;
      let slot = -1;
      // The key the previous line had at this place, followed by `=`: a log writes its keys in one order,
      // so the key is compared, not scanned for its end and then looked up (keys are most of a payload's bytes).
      const length = token < MAX_GUESSES ? guessLengths[token]! : 0;
      if (length > 0 && i + length < end && bytes[i + length] === 61 && sameKey(view, i, guessKeys, token * GUESSED_KEY_BYTES, length)) {
        stop = i + length;
        slot = guesses[token]!;
      } else {
        // The token runs to the next space or tab; its first `=` splits the key off. Four bytes at a time
        // while none of them is one of those or outside ASCII (wordStops), then byte by byte.
        while (stop + 4 <= end && !wordStops(view.getUint32(stop, true), true)) stop += 4;
        for (; stop < end; stop++) {
          c = bytes[stop]!;
          if (c === 61 || (c <= 32 && (c === 32 || c === 9))) break;
          seen |= c;
        }
        if (c !== 61 || stop === end || stop === i) {
          for (; stop < end; stop++) {
            c = bytes[stop]!;
            if (c <= 32 && (c === 32 || c === 9)) break;
            seen |= c;
          }
          i = stop; // a stray token (no `=`, or nothing before it)
          continue;
        }
        // The declared keys of this length; the key is kept as this place's guess for the next line.
        const candidates = this.byLength[stop - i];
        if (candidates !== undefined) {
          for (let k = 0; k < candidates.length; k++) {
            const candidate = candidates[k]!;
            if (sameKey(view, i, this.keyBytes, candidate.at, stop - i)) {
              slot = candidate.slot;
              break;
            }
          }
        }
        if (token < MAX_GUESSES) {
          guesses[token] = slot;
          guessLengths[token] = keepGuess(bytes, i, stop, guessBytes, token * GUESSED_KEY_BYTES) ? stop - i : 0;
        }
      }
      token++;
      const eq = stop;
      stop++;
      while (stop + 4 <= end && !wordStops(view.getUint32(stop, true), false)) stop += 4;
      for (; stop < end; stop++) {
        c = bytes[stop]!;
        if (c <= 32 && (c === 32 || c === 9)) break;
        seen |= c;
      }
      let valueStart = eq + 1;
      let valueEnd = stop;
      const q = eq + 1 < end ? bytes[eq + 1]! : 0;
      if (q === 34 || q === 39) {
        // A quoted value runs to the same quote followed by a space, a tab or the end.
        for (let j = eq + 2; j < end; j++) {
          const b = bytes[j]!;
          seen |= b;
          if (b === q && (j + 1 === end || bytes[j + 1] === 32 || bytes[j + 1] === 9)) {
            valueStart = eq + 2;
            valueEnd = j;
            stop = j + 1;
            break;
          }
        }
      }
      if (slot >= 0) {
        starts[slot] = valueStart; // a repeated key keeps its last value
        ends[slot] = valueEnd;
      }
      i = stop;
    }
    return seen < 128;
  }

  /** The value of `key` in the last payload read (quotes removed); undefined when absent. */
  get(key: Key): string | undefined {
    const slot = this.slotOf(key);
    const start = this.starts[slot]!;
    return start < 0 ? undefined : this.slice(start, this.ends[slot]!);
  }

  /**
   * The value of `key` when it is 1 to 15 ASCII digits (always a safe integer); -1 when it is
   * something else (read it with {@link get}), -2 when it is absent.
   */
  digits(key: Key): number {
    const slot = this.slotOf(key);
    const start = this.starts[slot]!;
    if (start < 0) return -2;
    const end = this.ends[slot]!;
    if (end === start || end - start > 15) return -1;
    let v = 0;
    if (this.inBytes) {
      const bytes = this.bytes;
      for (let i = start; i < end; i++) {
        const d = bytes[i]! - 48;
        if (d < 0 || d > 9) return -1;
        v = v * 10 + d;
      }
    } else {
      const text = this.text!;
      for (let i = start; i < end; i++) {
        const d = text.charCodeAt(i) - 48;
        if (d < 0 || d > 9) return -1;
        v = v * 10 + d;
      }
    }
    return v;
  }

  /**
   * `get(key)` for a value that comes back line after line (a user, a project): the same string each
   * time, from a table of recent values found by a hash of the bytes, rather than a new one decoded per
   * line (decoding was a tenth of folding a line, and a map keyed by a string it has seen before is quicker).
   */
  interned(key: Key): string | undefined {
    const slot = this.slotOf(key);
    const start = this.starts[slot]!;
    if (start < 0) return undefined;
    const end = this.ends[slot]!;
    if (!this.inBytes || end - start > 64) return this.slice(start, end);
    const bytes = this.bytes;
    let hash = end - start;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 16777619);
    const entry = hash & (INTERNED - 1);
    const cached = this.internedText[entry];
    if (cached !== undefined && this.internedHash[entry] === hash && cached.length === end - start) {
      let same = true;
      for (let i = start; i < end && same; i++) same = cached.charCodeAt(i - start) === bytes[i];
      if (same) return cached;
    }
    const text = bytes.toString('latin1', start, end);
    this.internedText[entry] = text;
    this.internedHash[entry] = hash;
    return text;
  }

  private readonly internedText: (string | undefined)[] = new Array(INTERNED).fill(undefined);
  private readonly internedHash = new Int32Array(INTERNED);

  /**
   * `inBytes` over the value of `key` in the payload's bytes when it was read in its bytes (no string
   * is made), else `inText` over `get(key)`; undefined when the key is absent.
   */
  value<T>(key: Key, inBytes: (bytes: Buffer, start: number, end: number) => T, inText: (value: string) => T): T | undefined {
    const slot = this.slotOf(key);
    const start = this.starts[slot]!;
    if (start < 0) return undefined;
    return this.inBytes ? inBytes(this.bytes, start, this.ends[slot]!) : inText(this.text!.slice(start, this.ends[slot]!));
  }

  /** `get(key)?.includes(needle)` for an ASCII needle, without making the string. */
  includes(key: Key, needle: string): boolean {
    const slot = this.slotOf(key);
    const start = this.starts[slot]!;
    if (start < 0) return false;
    const end = this.ends[slot]!;
    if (!this.inBytes) return this.text!.slice(start, end).includes(needle);
    const bytes = this.bytes;
    const first = needle.charCodeAt(0);
    for (let i = start; i + needle.length <= end; i++) {
      if (bytes[i] !== first) continue;
      let k = 1;
      while (k < needle.length && bytes[i + k] === needle.charCodeAt(k)) k++;
      if (k === needle.length) return true;
    }
    return false;
  }

  /** `parseCount(get(key))`, read in place when the value is plain digits. */
  count(key: Key): number | null {
    const digits = this.digits(key);
    return digits >= 0 ? digits : digits === -2 ? null : parseCount(this.get(key));
  }

  /** `parseInteger(get(key))`, likewise. */
  integer(key: Key): number | null {
    const digits = this.digits(key);
    return digits >= 0 ? digits : digits === -2 ? null : parseInteger(this.get(key));
  }

  /** `parseSize(get(key))`, read in place when it can be. */
  size(key: Key): number | null {
    const slot = this.slotOf(key);
    const start = this.starts[slot]!;
    if (start < 0) return null;
    const end = this.ends[slot]!;
    const size = this.inBytes ? parseSizeBytes(this.bytes, start, end) : undefined;
    return size !== undefined ? size : parseSize(this.slice(start, end));
  }

  /** `parseDuration(get(key))`, read in place when it can be. */
  duration(key: Key): number | null {
    const slot = this.slotOf(key);
    const start = this.starts[slot]!;
    if (start < 0) return null;
    const end = this.ends[slot]!;
    const seconds = this.inBytes ? parseDurationBytes(this.bytes, start, end) : undefined;
    return seconds !== undefined ? seconds : parseDuration(this.slice(start, end));
  }

  /**
   * The value of `key` in a payload read in its bytes ({@link readBytes} answered true) as JSON, what
   * `JSON.stringify` gives for `get(key)`, written into `out` at `at`; `null` when it is absent, and
   * with `emptyIsNull` when it is empty too. Returns the position after it.
   */
  putJson(key: Key, out: Uint8Array, at: number, emptyIsNull: boolean): number {
    if (!this.inBytes) throw new Error('PayloadReader: putJson needs a payload read in its bytes');
    const slot = this.slotOf(key);
    const start = this.starts[slot]!;
    const end = this.ends[slot]!;
    if (start < 0 || (emptyIsNull && start === end)) return putBytes(out, at, JSON_NULL);
    return putAsciiString(out, at, this.bytes, start, end);
  }

  /** Part of the line last read, by position (for a line read as bytes, positions in those bytes). */
  slice(from: number, to: number): string {
    // ASCII: latin1 decodes it as UTF-8 would, only quicker. Only the part asked for: decoding the whole
    // line (hundreds of bytes) for a value of a few was most of what a parse thread allocated.
    return this.inBytes ? this.bytes.toString('latin1', from, to) : this.text!.slice(from, to);
  }

  /** The slots of `keys` (each declared), looked up once for the same array: a caller reading by name line after line asks for them per line. */
  slotsOf(keys: readonly string[]): Int32Array {
    if (keys !== this.slotsFor) {
      this.slotTable = Int32Array.from(keys, (key) => this.slot(key));
      this.slotsFor = keys;
    }
    return this.slotTable;
  }

  private slotsFor: readonly string[] | null = null;
  private slotTable = new Int32Array(0);

  /** A declared key's slot: it names the key to the other methods, without looking it up again. */
  slot(key: string): number {
    const slot = this.slots.get(key);
    if (slot === undefined) throw new Error(`PayloadReader: ${key} was not declared`);
    return slot;
  }

  private slotOf(key: Key): number {
    return typeof key === 'number' ? key : this.slot(key);
  }
}

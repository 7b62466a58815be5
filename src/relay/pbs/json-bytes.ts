/**
 * JSON written straight into bytes, exactly as `JSON.stringify` writes the same values, for the parse
 * threads: building a job record, then its string, then encoding that string cost more than reading
 * the line. Every writer takes the output and a position and returns the position after what it
 * wrote; the caller makes sure there is room (see {@link jsonRoomFor}).
 */

/** ASCII text as bytes, for the constant parts (keys and punctuation). */
export function asciiBytes(text: string): Uint8Array {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`asciiBytes: not printable ASCII: ${JSON.stringify(text)}`);
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/**
 * Room enough for a record built from a line of `lineBytes` bytes: its strings are parts of the line
 * (at most 6 bytes each once escaped: `\u0001`), plus keys, times and numbers (well under 1 KiB),
 * plus `extra` (the file name's JSON).
 */
export const jsonRoomFor = (lineBytes: number, extra: number) => lineBytes * 6 + 1024 + extra;

/**
 * A constant part of the JSON (a key with its punctuation), ready for {@link putConstant}: its bytes, the
 * doubles its whole eight-byte words read as, and the double its last eight bytes read as (they overlap the
 * last whole word when the length is not a multiple of eight).
 */
export interface JsonConstant {
  bytes: Uint8Array;
  words: Float64Array;
  last: number;
}

/**
 * {@link asciiBytes}, ready to be written eight bytes at a time: eight bytes of printable ASCII read as a
 * double are a finite number of the usual kind (not a NaN, not a zero or subnormal), which a double keeps
 * bit for bit when it is written back.
 */
export function jsonConstant(text: string): JsonConstant {
  const bytes = asciiBytes(text);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    bytes,
    words: Float64Array.from({ length: bytes.length >> 3 }, (_, k) => view.getFloat64(k * 8, true)),
    last: bytes.length >= 8 ? view.getFloat64(bytes.length - 8, true) : 0,
  };
}

/**
 * Write a constant at `out[at…]` (`view` is `out` as a DataView): a double per eight bytes, and the last
 * eight bytes as one more (writing again, with the same bytes, what the last whole word wrote); a constant
 * shorter than eight bytes byte by byte. Keys are most of a record's JSON: this is some three times quicker
 * than byte by byte.
 */
export function putConstant(view: DataView, out: Uint8Array, at: number, constant: JsonConstant): number {
  const { words, bytes } = constant;
  if (words.length === 0) return putBytes(out, at, bytes);
  for (let k = 0; k < words.length; k++) view.setFloat64(at + k * 8, words[k]!, true);
  const end = at + bytes.length;
  if ((bytes.length & 7) !== 0) view.setFloat64(end - 8, constant.last, true);
  return end;
}

export function putBytes(out: Uint8Array, at: number, chunk: Uint8Array): number {
  for (let k = 0; k < chunk.length; k++) out[at++] = chunk[k]!;
  return at;
}

const NULL = asciiBytes('null');

/** Two digits 00 … 99 as a 16-bit word: the tens' byte in the low half, the ones' in the high (little-endian order). */
export const DIGIT_PAIRS = Uint16Array.from({ length: 100 }, (_, n) => (48 + Math.floor(n / 10)) | ((48 + (n % 10)) << 8));

/** `v` (0 … 2^31 − 1) in decimal, two digits at a time. */
function putUint31(out: Uint8Array, at: number, v: number): number {
  let digits = 1;
  for (let p = 10; p <= v && digits < 10; p *= 10) digits++;
  const end = at + digits;
  let k = end;
  while (v >= 100) {
    const q = (v / 100) | 0;
    const pair = DIGIT_PAIRS[v - q * 100]!;
    out[--k] = pair >> 8;
    out[--k] = pair & 0xff;
    v = q;
  }
  if (v >= 10) {
    const pair = DIGIT_PAIRS[v]!;
    out[--k] = pair >> 8;
    out[--k] = pair & 0xff;
  } else out[--k] = 48 + v;
  return end;
}

/**
 * A number as JSON.stringify writes it, or `null`: safe integers two digits at a time (beyond 2^31, a memory
 * size in bytes, as the digits above the last eight and then those eight), anything else by JSON.stringify.
 */
export function putNumber(out: Uint8Array, at: number, value: number | null): number {
  if (value === null) return putBytes(out, at, NULL);
  if (value >= 0 && value < 2147483648 && (value | 0) === value) return putUint31(out, at, value | 0);
  if (!Number.isSafeInteger(value)) return putLatin1(out, at, JSON.stringify(value));
  let v = value;
  if (v < 0) {
    out[at++] = 45;
    v = -v;
  }
  if (v < 2147483648) return putUint31(out, at, v);
  const high = Math.floor(v / 1e8); // < 2^53 / 10^8 < 2^31
  at = putUint31(out, at, high);
  let low = v - high * 1e8;
  for (let k = at + 6; k >= at; k -= 2) {
    const q = (low / 100) | 0;
    const pair = DIGIT_PAIRS[low - q * 100]!;
    out[k + 1] = pair >> 8;
    out[k] = pair & 0xff;
    low = q;
  }
  return at + 8;
}

/** Text whose characters are all below 256 (JSON.stringify's output of ASCII text is). */
export function putLatin1(out: Uint8Array, at: number, text: string): number {
  for (let k = 0; k < text.length; k++) out[at++] = text.charCodeAt(k);
  return at;
}

/**
 * The JSON string of the ASCII bytes `src[from, to)`: copied as they are unless one must be escaped
 * (`"`, `\`, a control character), which is rare; that string then goes through JSON.stringify.
 */
export function putAsciiString(out: Uint8Array, at: number, src: Uint8Array, from: number, to: number): number {
  out[at] = 34;
  let o = at + 1;
  for (let k = from; k < to; k++) {
    const c = src[k]!;
    if (c < 32 || c === 34 || c === 92) {
      const text = Buffer.from(src.buffer, src.byteOffset, src.byteLength).toString('latin1', from, to);
      return putLatin1(out, at, JSON.stringify(text));
    }
    out[o++] = c;
  }
  out[o++] = 34;
  return o;
}

/**
 * The accounting line tokenizer (pbs-accounting-format.md §B.1, §B.5):
 * `MM/DD/YYYY HH:MM:SS;T;JOBID;payload`, the header split with maxsplit 3 on `;` (values such as
 * `account="…"` may contain `;`), then the payload read as `key=value` pairs by name.
 */

/** The server-local wall-clock time of the line prefix (no time zone is written). */
export interface LocalStamp {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export interface AccountingHeader {
  stamp: LocalStamp;
  /** One case-sensitive character: `E`, `R`, `S`, `Q`, `e`, … */
  type: string;
  id: string;
  payload: string;
}

export type HeaderResult = { ok: true; header: AccountingHeader } | { ok: false; reason: string };

/**
 * Noise seen in front of real records: a `torque: ` syslog tag (hnormalise vectors) and a grep
 * file-name prefix `20150327:` (APEL vectors), possibly with the file's path.
 */
const NOISE_PREFIX = /^(?:torque: ?|(?:[^\s;]*\/)?\d{8}(?:\.gz)?:)/;

/** `MM/DD/YYYY HH:MM:SS`, read digit by digit (a regex here was a visible share of the parse time). */
function parseStamp(text: string): LocalStamp | null {
  if (text.length !== 19 || text[2] !== '/' || text[5] !== '/' || text[10] !== ' ' || text[13] !== ':' || text[16] !== ':') return null;
  const num = (at: number, len: number): number => {
    let n = 0;
    for (let i = at; i < at + len; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return -1;
      n = n * 10 + d;
    }
    return n;
  };
  const month = num(0, 2);
  const day = num(3, 2);
  const year = num(6, 4);
  const hour = num(11, 2);
  const minute = num(14, 2);
  const second = num(17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31) return null;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return null;
  return { year, month, day, hour, minute, second };
}

/** Split one physical line into its header and payload; never throws. */
export function splitAccountingHeader(rawLine: string): HeaderResult {
  let line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
  const noise = NOISE_PREFIX.exec(line);
  if (noise) line = line.slice(noise[0].length);
  const a = line.indexOf(';');
  const b = a < 0 ? -1 : line.indexOf(';', a + 1);
  if (b < 0) return { ok: false, reason: 'not a PBS accounting line (no DATE;TYPE;ID header)' };
  const c = line.indexOf(';', b + 1);
  const stamp = parseStamp(line.slice(0, a));
  if (!stamp) return { ok: false, reason: 'bad timestamp' };
  const type = line.slice(a + 1, b);
  if (type.length !== 1 || !/[A-Za-z]/.test(type)) return { ok: false, reason: 'bad record type' };
  // A record always ends its header with `;` (an empty payload is `ID;`); be lenient if it does not.
  const id = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  if (id === '' || /\s/.test(id)) return { ok: false, reason: 'bad job id' };
  const payload = c < 0 ? '' : line.slice(c + 1);
  return { ok: true, header: { stamp, type, id, payload } };
}

export interface PayloadTokens {
  /** `key → value`, quotes removed, keys case-sensitive; a repeated key keeps its last value. */
  attrs: Map<string, string>;
  /** Tokens without `=` (Torque 6's `-L` in `Resource_Request_2.0=-L tasks=…`), kept apart. */
  stray: string[];
}

/**
 * Read `key=value` pairs. A value that starts with `"` or `'` runs to the matching quote that is
 * followed by whitespace or the end (PBS never escapes inside quotes, and Account_Name may contain
 * anything, quotes included); an unterminated quote is read as a bare value. Otherwise a value runs
 * to the next space or tab. The key is split on the first `=` only (`nodes=1:ppn=4` keeps `ppn=4`).
 */
export function tokenizePayload(payload: string): PayloadTokens {
  const attrs = new Map<string, string>();
  const stray: string[] = [];
  const n = payload.length;
  // Positions of the next tab and `=`, searched again only once passed: linear even for a long run
  // of stray tokens.
  let nextTab = payload.indexOf('\t');
  let nextEq = -1;
  let i = 0;
  while (i < n) {
    const c = payload.charCodeAt(i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    // The next separator: a space or a tab.
    let end = payload.indexOf(' ', i);
    if (end < 0) end = n;
    if (nextTab >= 0) {
      if (nextTab < i) nextTab = payload.indexOf('\t', i);
      if (nextTab >= 0 && nextTab < end) end = nextTab;
    }
    if (nextEq < i) {
      nextEq = payload.indexOf('=', i);
      if (nextEq < 0) nextEq = n;
    }
    const eq = nextEq;
    if (eq >= end || eq === i) {
      stray.push(payload.slice(i, end));
      i = end;
      continue;
    }
    const key = payload.slice(i, eq);
    const q = payload[eq + 1];
    if (q === '"' || q === "'") {
      let j = eq + 2;
      while ((j = payload.indexOf(q, j)) !== -1) {
        const after = payload.charCodeAt(j + 1);
        if (j + 1 >= n || after === 32 || after === 9) break;
        j++;
      }
      if (j !== -1) {
        attrs.set(key, payload.slice(eq + 2, j));
        i = j + 1;
        continue;
      }
    }
    attrs.set(key, payload.slice(eq + 1, end));
    i = end;
  }
  return { attrs, stray };
}

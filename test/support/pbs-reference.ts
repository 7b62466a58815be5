/**
 * Reference parsers the tests hold the relay's fast readers to (src/relay/pbs/): plain string
 * versions, kept out of the relay because only the tests use them.
 */
import { epochToRfc3339, parseEpochSeconds } from '../../src/relay/pbs/values.ts';
import { type LocalStamp, locateAccountingHeader } from '../../src/relay/pbs/line-tokenizer.ts';

export interface AccountingHeader {
  stamp: LocalStamp;
  /** One case-sensitive character: `E`, `R`, `S`, `Q`, `e`, … */
  type: string;
  id: string;
  payload: string;
}

export type HeaderResult = { ok: true; header: AccountingHeader } | { ok: false; reason: string };

/** Split one physical line into its header and payload; never throws. */
export function splitAccountingHeader(rawLine: string): HeaderResult {
  const head = locateAccountingHeader(rawLine);
  if (!head.ok) return head;
  const { stamp, type, id, line, payloadStart } = head.header;
  return { ok: true, header: { stamp, type, id, payload: line.slice(payloadStart) } };
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

/** {@link parseEpochSeconds}, as RFC 3339 UTC. */
export function parseEpochField(value: string): string | null | undefined {
  const n = parseEpochSeconds(value);
  return n == null ? n : epochToRfc3339(n);
}

/**
 * Repairs for the JSON that `qstat -f -F json` is known to emit (docs/relay.md, "PBS input formats": qstat):
 * unescaped `"` inside strings, invalid `\'` and `\,` escapes, bare values such as `005` or `True`,
 * raw control characters, trailing and doubled commas, and text mixed in around (or between) JSON objects.
 *
 * One heuristic is shared by the repair and the scanners: qstat writes one attribute per line and
 * never a raw newline inside a string, so a `"` ends a string only when the next non-blank character
 * is `,` `:` `}` `]` or a line break, and a line break always ends a string.
 */

const VALID_ESCAPE = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const STRUCTURAL = new Set(['{', '}', '[', ']', ',', ':']);

function nextNonBlank(text: string, from: number): string | undefined {
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c !== ' ' && c !== '\t' && c !== '\r') return c;
  }
  return undefined;
}

/** Does the `"` at `i` close the string it is in? */
function closesString(text: string, i: number): boolean {
  const next = nextNonBlank(text, i + 1);
  return next === undefined || next === '\n' || next === ',' || next === ':' || next === '}' || next === ']';
}

/**
 * Scan the string that starts at the opening quote `open`; returns the index just after it (after the
 * closing quote, or at the line break that ends an unterminated string) and its repaired JSON text.
 */
function scanString(text: string, open: number, wantRepair: boolean): { end: number; json: string } {
  let out = wantRepair ? '"' : '';
  let i = open + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') {
      const e = text[i + 1];
      if (e !== undefined && VALID_ESCAPE.has(e)) {
        if (wantRepair) out += c + e;
        i += 2;
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        if (wantRepair) out += text.slice(i, i + 6);
        i += 6;
      } else {
        if (wantRepair) out += '\\\\'; // keep the backslash as a character
        i += 1;
      }
      continue;
    }
    if (c === '"') {
      if (closesString(text, i)) return { end: i + 1, json: wantRepair ? `${out}"` : '' };
      if (wantRepair) out += '\\"';
      i++;
      continue;
    }
    if (c === '\n') return { end: i, json: wantRepair ? `${out}"` : '' };
    if (wantRepair) out += c < ' ' ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c;
    i++;
  }
  return { end: i, json: wantRepair ? `${out}"` : '' };
}

/** Rewrite qstat's JSON into something JSON.parse accepts, when the damage is local. */
export function repairJson(text: string): string {
  const out: string[] = [];
  let lastComma = -1; // index in `out` of a ',' not yet followed by a value
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const { end, json } = scanString(text, i, true);
      out.push(json);
      lastComma = -1;
      i = end;
    } else if (c === '}' || c === ']') {
      if (lastComma >= 0) out[lastComma] = ''; // trailing comma
      out.push(c);
      lastComma = -1;
      i++;
    } else if (c === ',') {
      if (lastComma < 0) lastComma = out.push(c) - 1; // `,,` is one comma
      i++;
    } else if (STRUCTURAL.has(c) || c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') lastComma = -1;
      out.push(c);
      i++;
    } else {
      let j = i;
      while (j < text.length && !STRUCTURAL.has(text[j]!) && text[j] !== '"' && !/\s/.test(text[j]!)) j++;
      const token = text.slice(i, j);
      out.push(token === 'true' || token === 'false' || token === 'null' || JSON_NUMBER.test(token) ? token : JSON.stringify(token));
      lastComma = -1;
      i = j;
    }
  }
  return out.join('');
}

/**
 * Find the end of the `{`/`[` value that opens at `open` (index after its closing bracket), skipping
 * strings with the heuristic above; `text.length` when it never closes.
 */
export function endOfValue(text: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      i = scanString(text, i, false).end;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return text.length;
}

/** Every top-level `{…}` in the text, skipping whatever else is around or between them. */
export function topLevelObjects(text: string): string[] {
  const objects: string[] = [];
  let i = text.indexOf('{');
  while (i >= 0 && i < text.length) {
    const end = endOfValue(text, i);
    objects.push(text.slice(i, end));
    i = text.indexOf('{', end);
  }
  return objects;
}

/** The whitespace before position `at` on its line, or null when something else precedes it there. */
function indentBefore(text: string, at: number): string | null {
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const indent = text.slice(lineStart, at);
  return /^[ \t]*$/.test(indent) ? indent : null;
}

/**
 * The members of the `"Jobs": {…}` object, each as its id and its raw `{…}` text, found by scanning
 * rather than parsing, so that one damaged job does not take the others with it. qstat writes each
 * job id on a line of its own at one indentation: when a job's brackets do not balance before the
 * next such line, that job's text is null (damaged) and the scan goes on from the next job; text
 * between two jobs is passed over the same way.
 */
export function jobChunks(text: string): Array<{ id: string; text: string | null }> {
  const jobsKey = /"Jobs"\s*:\s*\{/.exec(text);
  if (!jobsKey) return [];
  const chunks: Array<{ id: string; text: string | null }> = [];
  const member = /\s*,?\s*"([^"\n]*)"\s*:\s*\{/y;
  let nextMember: RegExp | null | undefined; // a job-id line at the first job's indentation
  let i = jobsKey.index + jobsKey[0].length;
  while (i < text.length) {
    member.lastIndex = i;
    const m = member.exec(text);
    if (!m) {
      // Something else between two jobs (a message line): go on at the next job-id line, if any.
      if (!nextMember) break;
      nextMember.lastIndex = i;
      const resume = nextMember.exec(text);
      if (!resume) break;
      i = resume.index;
      continue;
    }
    const open = member.lastIndex - 1;
    if (nextMember === undefined) {
      const indent = indentBefore(text, m.index + m[0].indexOf('"'));
      nextMember = indent === null ? null : new RegExp(`\\n${indent}"[^"\\n]*"[ \\t]*:[ \\t]*\\{[ \\t]*\\r?\\n`, 'g');
    }
    const end = endOfValue(text, open);
    let next = -1;
    if (nextMember) {
      nextMember.lastIndex = open;
      next = nextMember.exec(text)?.index ?? -1;
    }
    if (next >= 0 && end > next) {
      chunks.push({ id: m[1]!, text: null });
      i = next;
      continue;
    }
    chunks.push({ id: m[1]!, text: text.slice(open, end) });
    i = end;
  }
  return chunks;
}

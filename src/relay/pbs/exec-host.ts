import { parseCount, parseSize } from './values.ts';

export interface ExecHost {
  /** Distinct hosts, in order of first appearance. */
  hosts: string[];
  /** Cores: Σ slots (`b372/4`, `b391/0-3`, `b391/0-1,5,11`), or Σ count for PBS Pro's `host/idx*count`. */
  cores: number;
}

const SLOT_ITEM = /^(\d+)(?:-(\d+))?$/;

/**
 * Parse `exec_host` (docs/relay.md, "PBS input formats"): `host/slot[,slot|a-b]*[*count]` joined by `+`, for Torque ≤ 4 (one part
 * per core), Torque ≥ 5.1 (ranges) and PBS Pro (`c1/0*13`). Null when any part is unreadable.
 * PBS Pro's `host/0*0` (a chunk without cpus) counts 0 cores (XDMoD counts 2, a quirk of its loop).
 */
export function parseExecHost(value: string | undefined | null): ExecHost | null {
  if (value == null) return null;
  // Printable ASCII is read in its bytes (scanExecHost); anything else, and what that scan leaves, in full.
  if (/^[\x21-\x7e]+$/.test(value)) {
    const bytes = Buffer.from(value, 'latin1');
    const scanned = scanExecHost(bytes, 0, bytes.length);
    if (scanned === false) return null;
    if (scanned === true) {
      const hosts: string[] = [];
      for (let h = 0; h < scan.hosts; h++) hosts.push(value.slice(scan.starts[h], scan.ends[h]));
      return { hosts, cores: scan.cores };
    }
  }
  return parseExecHostFull(value);
}

/** What {@link execHostCounts} answers: the distinct hosts of exec_host and its cores. */
export interface ExecHostCounts {
  hosts: number;
  cores: number;
}

const counts: ExecHostCounts = { hosts: 0, cores: 0 };

/**
 * {@link parseExecHost}'s host count and cores for the ASCII value `bytes[start, end)`, without making a
 * string (unless the scan leaves the value to the full reading): one object, reused by the next call.
 */
export function execHostCounts(bytes: Buffer, start: number, end: number): ExecHostCounts | null {
  const scanned = scanExecHost(bytes, start, end);
  if (scanned === false) return null;
  if (scanned === undefined) {
    const full = parseExecHostFull(bytes.toString('latin1', start, end));
    if (full === null) return null;
    counts.hosts = full.hosts.length;
    counts.cores = full.cores;
    return counts;
  }
  counts.hosts = scan.hosts;
  counts.cores = scan.cores;
  return counts;
}

/** Distinct hosts in order: a list while it is short, a Set once it is not (Torque lists every core). */
class HostList {
  readonly hosts: string[] = [];
  private last: string | null = null;
  private set: Set<string> | null = null;
  add(host: string): void {
    if (host === this.last) return;
    this.last = host;
    if (this.set !== null) {
      if (this.set.has(host)) return;
      this.set.add(host);
    } else if (this.hosts.includes(host)) return;
    else if (this.hosts.length === 16) this.set = new Set([...this.hosts, host]);
    this.hosts.push(host);
  }
}

/** At most this many distinct hosts are told apart by {@link scanExecHost}; more go to the full reading. */
const MAX_SCANNED_HOSTS = 16;

/** What the last {@link scanExecHost} found: the distinct hosts (their first `[start, end)`), and the cores. */
const scan = { hosts: 0, cores: 0, starts: new Int32Array(MAX_SCANNED_HOSTS), ends: new Int32Array(MAX_SCANNED_HOSTS) };

/** `bytes[a, a + length)` = `bytes[b, b + length)`. */
function sameRange(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (bytes[a + k] !== bytes[b + k]) return false;
  return true;
}

/** Count the host `bytes[from, to)` into `scan` unless it is there already; false when there is no room. */
function addHost(bytes: Uint8Array, from: number, to: number): boolean {
  const length = to - from;
  // The previous part's host first: Torque ≤ 4 lists one part per core of the same host.
  for (let h = scan.hosts - 1; h >= 0; h--) {
    if (scan.ends[h]! - scan.starts[h]! === length && sameRange(bytes, scan.starts[h]!, from, length)) return true;
  }
  if (scan.hosts === MAX_SCANNED_HOSTS) return false;
  scan.starts[scan.hosts] = from;
  scan.ends[scan.hosts] = to;
  scan.hosts++;
  return true;
}

/**
 * One pass over the grammar PBS writes, no trimming, no long digit runs, over `bytes[start, end)`:
 * true with `scan` filled, false for a value that is unreadable (parseExecHost's null). `undefined`
 * hands the value to {@link parseExecHostFull} (which decides), so this only has to be right where it
 * answers.
 */
function scanExecHost(bytes: Uint8Array, start: number, end: number): boolean | undefined {
  if (end === start || !isPlain(bytes[start]!) || !isPlain(bytes[end - 1]!)) return undefined;
  scan.hosts = 0;
  let cores = 0;
  let i = start;
  for (;;) {
    // host: up to `/`, `+` or the end; never empty
    const from = i;
    let c = 0;
    while (i < end && (c = bytes[i]!) !== 47 && c !== 43) i++;
    if (i === from) return false;
    if (!addHost(bytes, from, i)) return undefined;
    if (i === end || c === 43) {
      cores += 1; // a bare host name: one slot
    } else {
      // after `/`: `idx*count`, or slots `a[-b]` joined by `,`, up to `+` or the end
      i++;
      let first = true;
      for (;;) {
        const low = readDigits(bytes, i, end);
        if (low < 0) return undefined;
        i = digitsEnd;
        c = i < end ? bytes[i]! : 43;
        if (c === 42 && first) {
          const count = readDigits(bytes, i + 1, end);
          if (count < 0) return undefined;
          i = digitsEnd;
          if (i < end && bytes[i] !== 43) return undefined;
          cores += count;
          break;
        }
        first = false;
        let high = low;
        if (c === 45) {
          high = readDigits(bytes, i + 1, end);
          if (high < 0) return undefined;
          i = digitsEnd;
          c = i < end ? bytes[i]! : 43;
        }
        if (high < low) return false;
        cores += high - low + 1;
        if (c === 43) break;
        if (c !== 44) return undefined;
        i++;
      }
    }
    if (i >= end) break;
    i++; // `+`
  }
  scan.cores = cores;
  return true;
}

/** Printable ASCII other than space: nothing String#trim would remove. */
const isPlain = (c: number) => c > 32 && c < 127;

/** Where the last {@link readDigits} stopped. */
let digitsEnd = 0;

/** 1 to 15 digits at `at` (before `end`; always a safe integer), their end in `digitsEnd`; -1 when there are none or more. */
function readDigits(bytes: Uint8Array, at: number, end: number): number {
  let v = 0;
  let i = at;
  for (; i < end; i++) {
    const d = bytes[i]! - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  digitsEnd = i;
  return i === at || i - at > 15 ? -1 : v;
}

/** The whole grammar, lenient (trimmed, split on `+`): what scanExecHost leaves to it, and the reference it is tested against. */
export function parseExecHostFull(value: string): ExecHost | null {
  if (value.trim() === '') return null;
  const hosts = new Set<string>();
  let cores = 0;
  for (const part of value.trim().split('+')) {
    const slash = part.indexOf('/');
    const host = slash < 0 ? part : part.slice(0, slash);
    if (host === '') return null;
    hosts.add(host);
    if (slash < 0) {
      cores += 1; // a bare host name: one slot
      continue;
    }
    const spec = part.slice(slash + 1);
    const star = spec.indexOf('*');
    if (star >= 0) {
      const count = parseCount(spec.slice(star + 1));
      if (count === null || !/^\d+$/.test(spec.slice(0, star))) return null;
      cores += count;
      continue;
    }
    for (const item of spec.split(',')) {
      const m = SLOT_ITEM.exec(item);
      if (!m) return null;
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (to < from) return null;
      cores += to - from + 1;
    }
  }
  return { hosts: [...hosts], cores };
}

export interface ExecVnode {
  /** Hosts of the vnodes (`host[0]` → `host`), distinct, in order. */
  hosts: string[];
  /** Σ over chunks; null when no chunk names the resource. */
  ncpus: number | null;
  ngpus: number | null;
  memBytes: number | null;
}

/**
 * Parse PBS Pro's `exec_vnode`: `(vnode:ncpus=N:mem=Mkb:ngpus=G)+(…)`. A chunk spread over several
 * vnodes is written inside one pair of parentheses (`(a[1]:mem=…:ncpus=24+a[0]:ncpus=24)`), so every
 * `+`-separated piece is one vnode allocation. Null when nothing can be read.
 */
export function parseExecVnode(value: string | undefined | null): ExecVnode | null {
  if (value == null || value === '' || (!isPlain(value.charCodeAt(0)) && value.trim() === '')) return null;
  // One pass by index; the same reading as splitting on `+`, then `:`, then the first `=`.
  const n = value.length;
  const hosts = new HostList();
  let ncpus: number | null = null;
  let ngpus: number | null = null;
  let mem: number | null = null;
  let start = 0;
  for (;;) {
    let end = value.indexOf('+', start);
    if (end < 0) end = n;
    // One `(` and one `)` around the piece are dropped.
    const from = start < end && value.charCodeAt(start) === 40 ? start + 1 : start;
    const to = end > start && value.charCodeAt(end - 1) === 41 ? end - 1 : end;
    let i = from;
    while (i < to && value.charCodeAt(i) !== 58) i++;
    if (i === from) return null; // no vnode name
    hosts.add(vnodeHost(value, from, i));
    while (i < to) {
      // a field after `:`: `key=value`; a field without `=` is skipped
      const field = i + 1;
      let eq = -1;
      i = field;
      for (let c: number; i < to && (c = value.charCodeAt(i)) !== 58; i++) if (c === 61 && eq < 0) eq = i;
      if (eq < 0) continue;
      const keyLength = eq - field;
      if (keyLength === 5 && (value.startsWith('ncpus', field) || value.startsWith('ngpus', field))) {
        const count = parseCount(value.slice(eq + 1, i));
        if (count === null) continue;
        if (value.charCodeAt(field + 1) === 99) ncpus = (ncpus ?? 0) + count;
        else ngpus = (ngpus ?? 0) + count;
      } else if (keyLength === 3 && value.startsWith('mem', field)) {
        const bytes = parseSize(value.slice(eq + 1, i));
        if (bytes !== null) mem = (mem ?? 0) + bytes;
      }
    }
    if (end >= n) break;
    start = end + 1;
  }
  return { hosts: hosts.hosts, ncpus, ngpus, memBytes: mem };
}

/** A vnode's host: the vnode name without a trailing `[digits]` (`host[0]` → `host`). */
function vnodeHost(value: string, from: number, to: number): string {
  if (value.charCodeAt(to - 1) === 93) {
    let i = to - 2;
    while (i >= from && value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) i--;
    if (i < to - 2 && i >= from && value.charCodeAt(i) === 91) return value.slice(from, i);
  }
  return value.slice(from, to);
}

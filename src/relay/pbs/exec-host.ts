import { parseCount, parseSize } from './values.ts';

export interface ExecHost {
  /** Distinct hosts, in order of first appearance. */
  hosts: string[];
  /** Cores: Σ slots (`b372/4`, `b391/0-3`, `b391/0-1,5,11`), or Σ count for PBS Pro's `host/idx*count`. */
  cores: number;
}

const SLOT_ITEM = /^(\d+)(?:-(\d+))?$/;

/**
 * Parse `exec_host` (§B.4): `host/slot[,slot|a-b]*[*count]` joined by `+`, for Torque ≤ 4 (one part
 * per core), Torque ≥ 5.1 (ranges) and PBS Pro (`c1/0*13`). Null when any part is unreadable.
 * PBS Pro's `host/0*0` (a chunk without cpus) counts 0 cores (XDMoD counts 2, a quirk of its loop).
 */
export function parseExecHost(value: string | undefined | null): ExecHost | null {
  if (value == null || value.trim() === '') return null;
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
  if (value == null || value.trim() === '') return null;
  const hosts = new Set<string>();
  const sums: Record<'ncpus' | 'ngpus' | 'mem', number | null> = { ncpus: null, ngpus: null, mem: null };
  for (const raw of value.split('+')) {
    const from = raw.startsWith('(') ? 1 : 0;
    const piece = raw.endsWith(')') ? raw.slice(from, -1) : raw.slice(from);
    const fields = piece.split(':');
    const vnode = fields[0]!;
    if (vnode === '') return null;
    hosts.add(vnode.endsWith(']') ? vnode.replace(/\[\d+\]$/, '') : vnode);
    for (let f = 1; f < fields.length; f++) {
      const field = fields[f]!;
      const eq = field.indexOf('=');
      const key = field.slice(0, eq);
      if (key !== 'ncpus' && key !== 'ngpus' && key !== 'mem') continue;
      const n = key === 'mem' ? parseSize(field.slice(eq + 1)) : parseCount(field.slice(eq + 1));
      if (n === null) continue;
      sums[key] = (sums[key] ?? 0) + n;
    }
  }
  return { hosts: [...hosts], ncpus: sums.ncpus, ngpus: sums.ngpus, memBytes: sums.mem };
}

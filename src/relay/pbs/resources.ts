import { type ExecHostCounts, type ExecVnode, execHostCounts, parseExecHost, parseExecVnode } from './exec-host.ts';
import { PayloadReader } from './line-tokenizer.ts';
import { parseCount, parseDuration, parseSize } from './values.ts';

/** Attributes by their accounting-log names (`Resource_List.mem`, `resources_used.cput`, …): a Map will do. */
export interface Attributes {
  get(key: string): string | undefined;
}

/** Every attribute {@link deriveJobResources} reads. */
export const RESOURCE_ATTRIBUTES = [
  'exec_host',
  'exec_vnode',
  'Resource_List.ncpus',
  'total_execution_slots',
  'Resource_List.ngpus',
  'Resource_List.gpus',
  'unique_node_count',
  'Resource_List.nodect',
  'Resource_List.nodes',
  'Resource_List.mem',
  'Resource_List.pmem',
  'Resource_List.walltime',
  'resources_used.walltime',
  'resources_used.cput',
  'resources_used.cpupercent',
  'resources_used.mem',
  'resources_used.vmem',
] as const;

export interface NodesSpec {
  nodes: number;
  /** Σ count × ppn (ppn defaults to 1). */
  cpus: number;
  /** Σ count × gpus (`gpus=` or `gpu=`); null when no part names GPUs. */
  gpus: number | null;
}

const HOST = /^[A-Za-z_][\w.\-[\]]*$/;

/**
 * Torque/Moab `Resource_List.nodes` (also found, mangled, in `nodect`): `N[:ppn=P][:gpus=G][:feature]`
 * or `host[:ppn=P]`, joined by `+`. Null when the first field of a part is neither a count nor a host
 * name (APEL's `1pn=4`), so that callers fall back to another source rather than guess.
 */
export function parseNodesSpec(value: string | undefined | null): NodesSpec | null {
  if (value == null || value === '') return null;
  const spec: NodesSpec = { nodes: 0, cpus: 0, gpus: null };
  for (const part of value.split('+')) {
    const [first = '', ...props] = part.split(':');
    const count = /^\d+$/.test(first) ? Number(first) : HOST.test(first) ? 1 : null;
    if (count === null) return null;
    let ppn = 1;
    for (const prop of props) {
      const eq = prop.indexOf('=');
      if (eq < 0) continue; // a feature (`avx`, `default`, `gpu`)
      const key = prop.slice(0, eq);
      const n = parseCount(prop.slice(eq + 1));
      if (key === 'ppn') {
        if (n === null) return null;
        ppn = n;
      } else if ((key === 'gpus' || key === 'gpu') && n !== null) {
        spec.gpus = (spec.gpus ?? 0) + count * n;
      }
    }
    spec.nodes += count;
    spec.cpus += count * ppn;
  }
  return spec;
}

/** The request-side nodes spec: `Resource_List.nodes`, else a Moab-style `nodect=1:ppn=24:gpu=4`. */
function nodesSpecOf(attrs: Attributes): NodesSpec | null {
  const nodes = parseNodesSpec(attrs.get('Resource_List.nodes'));
  if (nodes) return nodes;
  const nodect = attrs.get('Resource_List.nodect');
  return nodect?.includes(':') ? parseNodesSpec(nodect) : null;
}

// The values by type. A PayloadReader (the accounting log's) reads them in place: same result.
const countOf = (attrs: Attributes, key: string) => (attrs instanceof PayloadReader ? attrs.count(key) : parseCount(attrs.get(key)));
const sizeOf = (attrs: Attributes, key: string) => (attrs instanceof PayloadReader ? attrs.size(key) : parseSize(attrs.get(key)));
const durationOf = (attrs: Attributes, key: string) => (attrs instanceof PayloadReader ? attrs.duration(key) : parseDuration(attrs.get(key)));

/** Torque's per-process `Resource_List.pmem` × the job's cpus. */
function pmemTotal(attrs: Attributes, ncpus: number | null): number | null {
  const pmem = sizeOf(attrs, 'Resource_List.pmem');
  return pmem !== null && ncpus !== null ? pmem * ncpus : null;
}

const NUMBER = /^\d+(?:\.\d+)?$/;

function nonNegative(attrs: Attributes, key: string): number | null {
  // The usual plain integer (`390`), read without the regex (and, from a PayloadReader, in place).
  if (attrs instanceof PayloadReader) {
    const digits = attrs.digits(key);
    if (digits !== -1) return digits === -2 ? null : digits;
  }
  const v = attrs.get(key);
  if (v === undefined) return null;
  let n = 0;
  let i = 0;
  for (; i < v.length && i < 15; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  if (i > 0 && i === v.length) return n;
  return NUMBER.test(v) ? Number(v) : null;
}

/** Everything of a job record that comes from its resource attributes (both dialects, and qstat). */
export interface JobResources {
  walltime_used_seconds: number | null;
  walltime_requested_seconds: number | null;
  cpu_time_seconds: number | null;
  cpu_percent: number | null;
  mem_used_bytes: number | null;
  vmem_used_bytes: number | null;
  mem_requested_bytes: number | null;
  ncpus: number | null;
  ngpus: number;
  nodes: number | null;
  exec_host: string | null;
}

/**
 * Derive the resource fields of a job (docs/relay.md, "PBS input formats"), by attribute name, into
 * `options.into` when given (a parser reusing one object line after line), with `exec_host` null
 * when `options.execHostText` is false (a caller that writes it from the line itself):
 * - ncpus: `Resource_List.ncpus`, else `total_execution_slots`, else nodes × ppn, else the cores of
 *   exec_host (else Σ exec_vnode ncpus); and never fewer than the cores exec_host lists: Torque keeps a
 *   default `Resource_List.ncpus=1` beside `nodes=1:ppn=4` (XDMoD vector "TORQUE 5.0.1").
 * - ngpus: `Resource_List.ngpus`, else Σ exec_vnode ngpus, else `Resource_List.gpus`, else `gpus=`/`gpu=`
 *   in `Resource_List.nodes` (or a Moab-style `nodect`); 0 when none of them is there (a job only gets
 *   GPUs it asked for).
 * - nodes: distinct exec_host hosts, else `unique_node_count`, else exec_vnode hosts, else the nodes
 *   spec, else an integer `Resource_List.nodect`.
 * - mem_requested: `Resource_List.mem` (the job total), else Σ exec_vnode `mem`, else Torque's per-process
 *   `Resource_List.pmem` × ncpus (what the scheduler reserves for the job), else null.
 * - walltime_used: `resources_used.walltime` only; the caller falls back to end − start.
 */
export function deriveJobResources(attrs: Attributes, options: { into?: JobResources; execHostText?: boolean } = {}): JobResources {
  const execHost = execHostOf(attrs);
  // exec_vnode and the nodes spec are parsed only when a field needs them (undefined: not yet).
  let vnode: ExecVnode | null | undefined;
  let spec: NodesSpec | null | undefined;

  let requestedCpus = countOf(attrs, 'Resource_List.ncpus') ?? countOf(attrs, 'total_execution_slots');
  if (requestedCpus === null) requestedCpus = (spec = nodesSpecOf(attrs))?.cpus ?? null;
  let ncpus: number | null;
  if (requestedCpus !== null) ncpus = Math.max(requestedCpus, execHost?.cores ?? 0);
  else if (execHost !== null) ncpus = execHost.cores;
  else ncpus = (vnode = parseExecVnode(attrs.get('exec_vnode')))?.ncpus ?? null;

  let ngpus = countOf(attrs, 'Resource_List.ngpus');
  if (ngpus === null) {
    // Without the word, no chunk names ngpus: no need to parse exec_vnode for it.
    const named = attrs instanceof PayloadReader ? attrs.includes('exec_vnode', 'ngpus') : attrs.get('exec_vnode')?.includes('ngpus');
    if (vnode === undefined && named) vnode = parseExecVnode(attrs.get('exec_vnode'));
    ngpus = vnode?.ngpus ?? countOf(attrs, 'Resource_List.gpus');
  }
  if (ngpus === null) {
    if (spec === undefined) spec = nodesSpecOf(attrs);
    ngpus = spec?.gpus ?? 0;
  }

  let nodes = execHost && execHost.hosts > 0 ? execHost.hosts : countOf(attrs, 'unique_node_count');
  if (nodes === null) {
    if (vnode === undefined) vnode = parseExecVnode(attrs.get('exec_vnode'));
    nodes = vnode?.hosts.length || null;
  }
  if (nodes === null) {
    if (spec === undefined) spec = nodesSpecOf(attrs);
    nodes = spec?.nodes ?? countOf(attrs, 'Resource_List.nodect');
  }

  let memRequested = sizeOf(attrs, 'Resource_List.mem');
  if (memRequested === null) {
    if (vnode === undefined) vnode = parseExecVnode(attrs.get('exec_vnode'));
    memRequested = vnode?.memBytes ?? pmemTotal(attrs, ncpus);
  }

  const out = options.into ?? ({} as JobResources);
  out.walltime_used_seconds = durationOf(attrs, 'resources_used.walltime');
  out.walltime_requested_seconds = durationOf(attrs, 'Resource_List.walltime');
  out.cpu_time_seconds = durationOf(attrs, 'resources_used.cput');
  out.cpu_percent = nonNegative(attrs, 'resources_used.cpupercent');
  out.mem_used_bytes = sizeOf(attrs, 'resources_used.mem');
  out.vmem_used_bytes = sizeOf(attrs, 'resources_used.vmem');
  out.mem_requested_bytes = memRequested;
  out.ncpus = ncpus;
  out.ngpus = ngpus;
  out.nodes = nodes;
  out.exec_host = options.execHostText === false ? null : (attrs.get('exec_host') ?? null);
  return out;
}

/** exec_host's distinct hosts and cores; from a PayloadReader read in its bytes, without making a string. */
function execHostOf(attrs: Attributes): ExecHostCounts | null {
  if (attrs instanceof PayloadReader) return attrs.value('exec_host', execHostCounts, execHostCountsOfText) ?? null;
  return execHostCountsOfText(attrs.get('exec_host'));
}

function execHostCountsOfText(value: string | undefined): ExecHostCounts | null {
  const parsed = parseExecHost(value);
  return parsed && { hosts: parsed.hosts.length, cores: parsed.cores };
}

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
function nodesSpecOf(): NodesSpec | null {
  const nodes = parseNodesSpec(textOf(RL_NODES));
  if (nodes) return nodes;
  return includesOf(RL_NODECT, ':') ? parseNodesSpec(textOf(RL_NODECT)) : null;
}

/** The index of an attribute in RESOURCE_ATTRIBUTES. */
function attributeIndex(key: (typeof RESOURCE_ATTRIBUTES)[number]): number {
  return RESOURCE_ATTRIBUTES.indexOf(key);
}
const EXEC_HOST = attributeIndex('exec_host');
const EXEC_VNODE = attributeIndex('exec_vnode');
const RL_NCPUS = attributeIndex('Resource_List.ncpus');
const TOTAL_EXECUTION_SLOTS = attributeIndex('total_execution_slots');
const RL_NGPUS = attributeIndex('Resource_List.ngpus');
const RL_GPUS = attributeIndex('Resource_List.gpus');
const UNIQUE_NODE_COUNT = attributeIndex('unique_node_count');
const RL_NODECT = attributeIndex('Resource_List.nodect');
const RL_NODES = attributeIndex('Resource_List.nodes');
const RL_MEM = attributeIndex('Resource_List.mem');
const RL_PMEM = attributeIndex('Resource_List.pmem');
const RL_WALLTIME = attributeIndex('Resource_List.walltime');
const RU_WALLTIME = attributeIndex('resources_used.walltime');
const RU_CPUT = attributeIndex('resources_used.cput');
const RU_CPUPERCENT = attributeIndex('resources_used.cpupercent');
const RU_MEM = attributeIndex('resources_used.mem');
const RU_VMEM = attributeIndex('resources_used.vmem');

/**
 * The attributes being read (set by deriveJobResources, which is synchronous): a PayloadReader's by
 * slot, looked up once per reader rather than by name at every read; other attributes by name.
 */
let reader: PayloadReader | null = null;
let slots: Int32Array = new Int32Array(0);
let named: Attributes = new Map();

function bind(attrs: Attributes): void {
  named = attrs;
  reader = attrs instanceof PayloadReader ? attrs : null;
  if (reader) slots = reader.slotsOf(RESOURCE_ATTRIBUTES);
}

// The values by type (k: an index in RESOURCE_ATTRIBUTES). A PayloadReader reads them in place: same result.
const textOf = (k: number) => (reader ? reader.get(slots[k]!) : named.get(RESOURCE_ATTRIBUTES[k]!));
const countOf = (k: number) => (reader ? reader.count(slots[k]!) : parseCount(named.get(RESOURCE_ATTRIBUTES[k]!)));
const sizeOf = (k: number) => (reader ? reader.size(slots[k]!) : parseSize(named.get(RESOURCE_ATTRIBUTES[k]!)));
const durationOf = (k: number) => (reader ? reader.duration(slots[k]!) : parseDuration(named.get(RESOURCE_ATTRIBUTES[k]!)));
/** Whether the value holds `needle`: asked in place of a PayloadReader, no string made (the usual `1` of nodect). */
const includesOf = (k: number, needle: string) => (reader ? reader.includes(slots[k]!, needle) : (textOf(k)?.includes(needle) ?? false));

/** Torque's per-process `Resource_List.pmem` × the job's cpus. */
function pmemTotal(ncpus: number | null): number | null {
  const pmem = sizeOf(RL_PMEM);
  return pmem !== null && ncpus !== null ? pmem * ncpus : null;
}

const NUMBER = /^\d+(?:\.\d+)?$/;

function nonNegative(k: number): number | null {
  // The usual plain integer (`390`), read without the regex (and, from a PayloadReader, in place).
  if (reader) {
    const digits = reader.digits(slots[k]!);
    if (digits !== -1) return digits === -2 ? null : digits;
  }
  const v = textOf(k);
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
  bind(attrs);
  const execHost = execHostOf();
  // exec_vnode and the nodes spec are parsed only when a field needs them (undefined: not yet).
  let vnode: ExecVnode | null | undefined;
  let spec: NodesSpec | null | undefined;

  let requestedCpus = countOf(RL_NCPUS) ?? countOf(TOTAL_EXECUTION_SLOTS);
  if (requestedCpus === null) requestedCpus = (spec = nodesSpecOf())?.cpus ?? null;
  let ncpus: number | null;
  if (requestedCpus !== null) ncpus = Math.max(requestedCpus, execHost?.cores ?? 0);
  else if (execHost !== null) ncpus = execHost.cores;
  else ncpus = (vnode = parseExecVnode(textOf(EXEC_VNODE)))?.ncpus ?? null;

  let ngpus = countOf(RL_NGPUS);
  if (ngpus === null) {
    // Without the word, no chunk names ngpus: no need to parse exec_vnode for it.
    if (vnode === undefined && includesOf(EXEC_VNODE, 'ngpus')) vnode = parseExecVnode(textOf(EXEC_VNODE));
    ngpus = vnode?.ngpus ?? countOf(RL_GPUS);
  }
  if (ngpus === null) {
    if (spec === undefined) spec = nodesSpecOf();
    ngpus = spec?.gpus ?? 0;
  }

  let nodes = execHost && execHost.hosts > 0 ? execHost.hosts : countOf(UNIQUE_NODE_COUNT);
  if (nodes === null) {
    if (vnode === undefined) vnode = parseExecVnode(textOf(EXEC_VNODE));
    nodes = vnode?.hosts.length || null;
  }
  if (nodes === null) {
    if (spec === undefined) spec = nodesSpecOf();
    nodes = spec?.nodes ?? countOf(RL_NODECT);
  }

  let memRequested = sizeOf(RL_MEM);
  if (memRequested === null) {
    if (vnode === undefined) vnode = parseExecVnode(textOf(EXEC_VNODE));
    memRequested = vnode?.memBytes ?? pmemTotal(ncpus);
  }

  const out = options.into ?? ({} as JobResources);
  out.walltime_used_seconds = durationOf(RU_WALLTIME);
  out.walltime_requested_seconds = durationOf(RL_WALLTIME);
  out.cpu_time_seconds = durationOf(RU_CPUT);
  out.cpu_percent = nonNegative(RU_CPUPERCENT);
  out.mem_used_bytes = sizeOf(RU_MEM);
  out.vmem_used_bytes = sizeOf(RU_VMEM);
  out.mem_requested_bytes = memRequested;
  out.ncpus = ncpus;
  out.ngpus = ngpus;
  out.nodes = nodes;
  out.exec_host = options.execHostText === false ? null : (textOf(EXEC_HOST) ?? null);
  return out;
}

/** exec_host's distinct hosts and cores; from a PayloadReader read in its bytes, without making a string. */
function execHostOf(): ExecHostCounts | null {
  if (reader) return reader.value(slots[EXEC_HOST]!, execHostCounts, execHostCountsOfText) ?? null;
  return execHostCountsOfText(textOf(EXEC_HOST));
}

function execHostCountsOfText(value: string | undefined): ExecHostCounts | null {
  const parsed = parseExecHost(value);
  return parsed && { hosts: parsed.hosts.length, cores: parsed.cores };
}

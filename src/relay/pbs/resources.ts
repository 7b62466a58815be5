import { type ExecVnode, parseExecHost, parseExecVnode } from './exec-host.ts';
import { parseCount, parseDuration, parseSize } from './values.ts';

/** Attributes by their accounting-log names (`Resource_List.mem`, `resources_used.cput`, …). */
export type Attributes = ReadonlyMap<string, string>;

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

/** Torque's per-process `Resource_List.pmem` × the job's cpus. */
function pmemTotal(attrs: Attributes, ncpus: number | null): number | null {
  const pmem = parseSize(attrs.get('Resource_List.pmem'));
  return pmem !== null && ncpus !== null ? pmem * ncpus : null;
}

const NUMBER = /^\d+(?:\.\d+)?$/;
const nonNegative = (v: string | undefined) => (v !== undefined && NUMBER.test(v) ? Number(v) : null);

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
 * Derive the resource fields of a job (§B.3 mapping), by attribute name:
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
export function deriveJobResources(attrs: Attributes): JobResources {
  const execHostText = attrs.get('exec_host') ?? null;
  const execHost = parseExecHost(execHostText);
  // exec_vnode and the nodes spec are parsed only when a field needs them.
  let vnodeMemo: ExecVnode | null | undefined;
  const vnode = () => (vnodeMemo === undefined ? (vnodeMemo = parseExecVnode(attrs.get('exec_vnode'))) : vnodeMemo);
  let specMemo: NodesSpec | null | undefined;
  const nodesSpec = () => (specMemo === undefined ? (specMemo = nodesSpecOf(attrs)) : specMemo);

  const requestedCpus =
    parseCount(attrs.get('Resource_List.ncpus')) ?? parseCount(attrs.get('total_execution_slots')) ?? nodesSpec()?.cpus ?? null;
  const ncpus = requestedCpus === null ? (execHost?.cores ?? vnode()?.ncpus ?? null) : Math.max(requestedCpus, execHost?.cores ?? 0);

  const ngpus =
    parseCount(attrs.get('Resource_List.ngpus')) ??
    vnode()?.ngpus ??
    parseCount(attrs.get('Resource_List.gpus')) ??
    nodesSpec()?.gpus ??
    0;

  const nodes =
    (execHost && execHost.hosts.length > 0 ? execHost.hosts.length : null) ??
    parseCount(attrs.get('unique_node_count')) ??
    (vnode()?.hosts.length || null) ??
    nodesSpec()?.nodes ??
    parseCount(attrs.get('Resource_List.nodect'));

  const memRequested = parseSize(attrs.get('Resource_List.mem')) ?? vnode()?.memBytes ?? pmemTotal(attrs, ncpus);

  return {
    walltime_used_seconds: parseDuration(attrs.get('resources_used.walltime')),
    walltime_requested_seconds: parseDuration(attrs.get('Resource_List.walltime')),
    cpu_time_seconds: parseDuration(attrs.get('resources_used.cput')),
    cpu_percent: nonNegative(attrs.get('resources_used.cpupercent')),
    mem_used_bytes: parseSize(attrs.get('resources_used.mem')),
    vmem_used_bytes: parseSize(attrs.get('resources_used.vmem')),
    mem_requested_bytes: memRequested,
    ncpus,
    ngpus,
    nodes,
    exec_host: execHostText,
  };
}

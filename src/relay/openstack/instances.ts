import type { InstanceFlavor, InstanceInterval, InstanceRecord, InstanceStreamSummary } from '../../contracts/instance-record.ts';
import type { NdjsonOut } from '../source.ts';
import type { Window } from '../source.ts';
import type { OpenStackConfig } from './config.ts';
import { countGpus } from './gpus.ts';
import { changedIntervals, holdsResources, novaTime, type ServerFacts, unchangedIntervals, actionState } from './history.ts';
import { UpstreamError } from './http.ts';
import { KeystoneSession } from './keystone.ts';
import { type NovaAction, NovaClient, type NovaCounters, type NovaFlavor, type NovaServer } from './nova.ts';
import { type CpuTimes, measureCpuTimes } from './prometheus.ts';
import { ProjectNames } from './project-names.ts';

/**
 * The relay's OpenStack source: one instance record per server that held resources in the window
 * (docs/architecture.md §5, docs/openstack.md), written as it is built. Memory stays flat in the number of
 * servers: one page of servers (and their actions) at a time, plus the CPU time of each measured
 * server when Prometheus is configured.
 *
 * Two listings, in this order:
 *  1. `changes-since=<from>`: every server changed (or deleted) since the window began, read from its
 *     instance actions;
 *  2. the live servers: those unchanged since before the window (`updated` < from) were in their
 *     current status throughout it. One changed after listing 1 began (`updated` ≥ the listing's
 *     start) and not seen by it is read from its actions here; the others were in listing 1.
 * Any upstream failure (401, 5xx, timeout, a page that fails half-way) throws: the stream then ends
 * with an error line, never a summary, so the window is never taken as complete.
 */

/** Nova's clock and the relay's may differ: a change this close to the listing's start counts as during it. */
const CLOCK_SLACK_MS = 5 * 60_000;

type Summary = Omit<InstanceStreamSummary, 'count'>;

interface Stats extends NovaCounters {
  skipped: number;
  malformed: number;
  examples: string[];
}

export interface OpenStackSourceDeps {
  now?: () => number;
}

/**
 * Run `fn` over `items` with at most `limit` in flight; results in the items' order. After a failure
 * no further item is started (the window has failed: nothing more is asked of the cloud for it).
 */
async function mapInOrder<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const facts = (s: NovaServer): ServerFacts => ({
  status: s.status,
  created: s.created,
  updated: s.updated,
  launchedAt: s['OS-SRV-USG:launched_at'] ?? null,
  terminatedAt: s['OS-SRV-USG:terminated_at'] ?? null,
});

const runningMs = (intervals: readonly InstanceInterval[]) =>
  intervals.reduce((sum, i) => sum + (i.state === 'ACTIVE' ? Date.parse(i.end) - Date.parse(i.start) : 0), 0);

export class OpenStackSource {
  readonly kind = 'openstack' as const;
  private readonly session: KeystoneSession;
  private readonly nova: NovaClient;
  private readonly gpuAliases: ReadonlySet<string> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly config: OpenStackConfig,
    deps: OpenStackSourceDeps = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.session = new KeystoneSession(config, this.now);
    this.nova = new NovaClient(this.session, { timeoutMs: config.timeoutMs });
    this.gpuAliases = config.gpuAliases ? new Set(config.gpuAliases) : undefined;
  }

  /** Write the window's instance records to `out`; resolves to the summary's fields. */
  async stream(window: Window, out: NdjsonOut, clientSignal: AbortSignal): Promise<Summary> {
    out.source = 'openstack';
    // Once the window fails, requests still in flight for it are cut off: nothing more is asked of the cloud.
    const failure = new AbortController();
    try {
      return await this.read(window, out, AbortSignal.any([clientSignal, failure.signal]));
    } catch (err) {
      failure.abort(err);
      throw err;
    }
  }

  private async read(window: Window, out: NdjsonOut, signal: AbortSignal): Promise<Summary> {
    const from = window.from.getTime();
    const to = window.to.getTime();
    const stats: Stats = { pages: 0, servers: 0, actionPages: 0, skipped: 0, malformed: 0, examples: [] };
    const names = new ProjectNames(this.session, { timeoutMs: this.config.timeoutMs });
    const flavors = new Map<string, Promise<NovaFlavor | null>>();
    await this.nova.negotiate(signal);

    const cpu: CpuTimes | undefined = this.config.prometheus
      ? await measureCpuTimes({
          config: this.config.prometheus,
          from,
          to,
          signal,
          timeoutMs: this.config.timeoutMs,
        })
      : undefined;

    const malformed = (server: Partial<NovaServer>, why: string) => {
      stats.malformed++;
      if (stats.examples.length < 20) stats.examples.push(`server ${String(server.id ?? '?').slice(0, 64)}: ${why}`.slice(0, 300));
    };

    const flavorOf = async (server: NovaServer): Promise<InstanceFlavor | null> => {
      let f: NovaFlavor | null;
      if (this.nova.embedsFlavors) {
        const e = server.flavor;
        if (!e || typeof e.vcpus !== 'number' || typeof e.ram !== 'number') return null;
        f = {
          name: e.original_name ?? null,
          vcpus: e.vcpus,
          ram: e.ram,
          disk: e.disk ?? 0,
          ephemeral: e.ephemeral ?? 0,
          extra_specs: e.extra_specs ?? {},
        };
      } else {
        const id = server.flavor?.id;
        if (!id) return null;
        let lookup = flavors.get(id);
        if (!lookup) flavors.set(id, (lookup = this.nova.flavor(id, signal)));
        f = await lookup;
        if (!f) return null;
      }
      return {
        name: f.name,
        vcpus: f.vcpus,
        ram_mb: f.ram,
        disk_gb: f.disk,
        ephemeral_gb: f.ephemeral,
        gpus: countGpus(f.extra_specs, this.gpuAliases),
      };
    };

    /** The record of a server and its intervals, or null (skipped or malformed: counted). */
    const recordOf = async (server: NovaServer, intervals: InstanceInterval[], origin: InstanceRecord['origin']): Promise<InstanceRecord | null> => {
      if (intervals.length === 0 || !holdsResources(intervals)) {
        stats.skipped++;
        return null;
      }
      const flavor = await flavorOf(server);
      if (!flavor) {
        malformed(
          server,
          this.nova.embedsFlavors
            ? 'no flavor in the server (the credential may lack the role that shows it)'
            : `flavor ${String(server.flavor?.id)} no longer exists, and Nova ${this.nova.microversion} does not embed flavors (2.47+)`,
        );
        return null;
      }
      let cpuTime: number | null = null;
      if (cpu?.status === 'measured') cpuTime = cpu.byServer.get(server.id) ?? (runningMs(intervals) === 0 ? 0 : null);
      return {
        server_id: server.id,
        project_id: server.tenant_id,
        project_name: await names.name(server.tenant_id, signal),
        user_id: server.user_id ?? null,
        name: server.name ?? null,
        flavor,
        intervals,
        cpu_time_seconds: cpuTime,
        origin,
      };
    };

    /** A server changed since the window began: its history from its instance actions. */
    const changed = async (server: NovaServer): Promise<InstanceRecord | null> => {
      // The state at the window's start is known once a state-changing action before it is read.
      const knownBefore = (a: NovaAction) => actionState(a.action) !== undefined && novaTime(a.start_time) < from;
      const actions = await this.nova.actions(server.id, stats, signal, knownBefore);
      if (actions === null) {
        malformed(server, 'Nova no longer has its instance actions (404)');
        return null;
      }
      const intervals = changedIntervals(facts(server), actions, { from, to });
      return recordOf(server, intervals, { source: 'openstack', listing: 'changes-since', actions: actions.length });
    };

    /** A server not changed since before the window: its current status throughout. */
    const unchanged = async (server: NovaServer): Promise<InstanceRecord | null> => {
      const intervals = unchangedIntervals(facts(server), { from, to });
      if (intervals === null) {
        malformed(server, `status ${String(server.status).slice(0, 40)} is not one the relay knows`);
        return null;
      }
      return recordOf(server, intervals, { source: 'openstack', listing: 'live', actions: 0 });
    };

    const check = (server: NovaServer) => {
      if (server.status === 'UNKNOWN') {
        throw new UpstreamError(
          'nova',
          'parse',
          `server ${server.id} is in a cell Nova cannot reach (status UNKNOWN): the window would be incomplete`,
        );
      }
      const ok =
        typeof server.id === 'string' &&
        typeof server.tenant_id === 'string' &&
        typeof server.status === 'string' &&
        Number.isFinite(novaTime(server.created)) &&
        Number.isFinite(novaTime(server.updated));
      if (!ok) malformed(server, 'lacks id, tenant_id, status, created or updated');
      return ok;
    };

    const write = async (records: (InstanceRecord | null)[]) => {
      for (const r of records) if (r) await out.record(r);
    };

    const listingStart = this.now() - CLOCK_SLACK_MS;
    const seenLate = new Set<string>();
    const since = new Date(from).toISOString().replace('.000Z', 'Z');
    for await (const page of this.nova.serverPages({ 'changes-since': since }, stats, signal)) {
      // Nova lists only servers updated since `from` here; any other is left to the second listing.
      const valid = page.filter((s) => check(s) && novaTime(s.updated) >= from);
      for (const s of valid) if (novaTime(s.updated) >= listingStart) seenLate.add(s.id);
      await write(await mapInOrder(valid, this.config.concurrency, changed));
    }
    for await (const page of this.nova.serverPages({}, stats, signal)) {
      const todo: { server: NovaServer; read: (s: NovaServer) => Promise<InstanceRecord | null> }[] = [];
      for (const s of page.filter(check)) {
        const updated = novaTime(s.updated);
        if (updated < from) todo.push({ server: s, read: unchanged });
        else if (updated >= listingStart && !seenLate.has(s.id)) todo.push({ server: s, read: changed });
      }
      await write(await mapInOrder(todo, this.config.concurrency, (t) => t.read(t.server)));
    }

    return {
      servers: stats.servers,
      pages: stats.pages,
      action_pages: stats.actionPages,
      skipped: stats.skipped,
      malformed: stats.malformed,
      malformed_examples: stats.examples,
      nova_microversion: this.nova.microversion,
      cpu_time: !cpu
        ? { status: 'off' }
        : cpu.status === 'measured'
          ? { status: 'measured', detail: `${cpu.samples} samples in ${cpu.queries} queries` }
          : { status: 'unavailable', detail: cpu.detail },
    };
  }
}

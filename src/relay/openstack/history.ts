import type { InstanceInterval } from '../../contracts/instance-record.ts';
import type { InstanceState } from '../../contracts/relay-api.ts';

/**
 * A server's state over a window, from Nova's facts (docs/architecture.md §5, docs/openstack.md). Pure.
 *
 * A server changed since the window began (`updated` ≥ from) is read from its instance actions: its
 * state starts at `create` and changes at each later action's `start_time` (ACTION_STATES); any
 * other action leaves it as it was. `OS-SRV-USG:launched_at` is never a start time (Nova resets it
 * on rebuild, resize, rescue and unshelve). A server not changed since before the window was in its
 * current status throughout it.
 */

/** Where an action takes the server: a state, or `gone` (deleted). Any action not named leaves the state as it was. */
export const ACTION_STATES: Readonly<Record<string, InstanceState | 'gone'>> = {
  create: 'ACTIVE',
  start: 'ACTIVE',
  reboot: 'ACTIVE',
  rebuild: 'ACTIVE',
  unpause: 'ACTIVE',
  resume: 'ACTIVE',
  unrescue: 'ACTIVE',
  rescue: 'ACTIVE',
  unshelve: 'ACTIVE',
  resize: 'ACTIVE',
  confirmResize: 'ACTIVE',
  revertResize: 'ACTIVE',
  migrate: 'ACTIVE',
  'live-migration': 'ACTIVE',
  // Added to the design's rules (docs/openstack.md): `restore` undoes a soft delete (the server is back and powered on); the
  // soft-deleted time before it counts as SHUTOFF (changedIntervals).
  restore: 'ACTIVE',
  stop: 'SHUTOFF',
  pause: 'PAUSED',
  suspend: 'SUSPENDED',
  shelve: 'SHELVED',
  shelveOffload: 'SHELVED',
  delete: 'gone',
};

/** The state an action leads to; undefined for an action that changes nothing (own keys only: no `constructor`). */
export const actionState = (action: string) => (Object.hasOwn(ACTION_STATES, action) ? ACTION_STATES[action] : undefined);

/**
 * A server's current status as a state (for a server unchanged since before the window). Transient
 * task states of a running server (REBOOT, MIGRATING, RESIZE, …) are ACTIVE; SHELVED_OFFLOADED is
 * SHELVED; SOFT_DELETED (powered off, reclaimable) is SHUTOFF. `UNKNOWN` (a server in a cell Nova
 * cannot reach) and anything else unknown give null: the caller cannot account for it.
 */
export function statusState(status: string): InstanceState | 'gone' | null {
  switch (status) {
    case 'ACTIVE':
    case 'BUILD':
    case 'REBOOT':
    case 'HARD_REBOOT':
    case 'REBUILD':
    case 'RESCUE':
    case 'RESIZE':
    case 'VERIFY_RESIZE':
    case 'REVERT_RESIZE':
    case 'MIGRATING':
    case 'PASSWORD':
      return 'ACTIVE';
    case 'SHUTOFF':
    case 'SOFT_DELETED':
      return 'SHUTOFF';
    case 'PAUSED':
      return 'PAUSED';
    case 'SUSPENDED':
      return 'SUSPENDED';
    case 'SHELVED':
    case 'SHELVED_OFFLOADED':
      return 'SHELVED';
    case 'ERROR':
      return 'ERROR';
    case 'DELETED':
      return 'gone';
    default:
      return null;
  }
}

/** Nova's times: `2017-02-14T19:24:42Z`, or naive UTC with microseconds (`2018-04-25T01:26:28.793416`). Ms, or NaN. */
export function novaTime(text: string | null | undefined): number {
  if (!text) return NaN;
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!m) return NaN;
  const fraction = m[3] ? m[3].slice(0, 4) : '';
  const zone = !m[4] || m[4] === 'Z' ? 'Z' : m[4].length === 5 ? `${m[4].slice(0, 3)}:${m[4].slice(3)}` : m[4];
  return Date.parse(`${m[1]}T${m[2]}${fraction}${zone}`);
}

export interface ServerFacts {
  status: string;
  created: string;
  updated: string;
  launchedAt: string | null;
  terminatedAt: string | null;
}

export interface NovaActionFact {
  action: string;
  start_time: string;
}

export interface Window {
  from: number;
  to: number;
}

/** A server that never launched (`launched_at` null and status ERROR, BUILD, or DELETED after either) held nothing. */
export function neverLaunched(server: ServerFacts): boolean {
  return server.launchedAt === null && (server.status === 'ERROR' || server.status === 'BUILD' || server.status === 'DELETED');
}

type Timeline = { at: number; state: InstanceState | 'gone' }[];

/** Clip a timeline (state changes in time order; the last lasts forever) to the window: contiguous intervals, merged. */
function clip(timeline: Timeline, window: Window): InstanceInterval[] {
  const out: { start: number; end: number; state: InstanceState }[] = [];
  for (let i = 0; i < timeline.length; i++) {
    const { at, state } = timeline[i]!;
    const next = timeline[i + 1]?.at ?? Infinity;
    const start = Math.max(at, window.from);
    const end = Math.min(next, window.to);
    if (state === 'gone' || !(end > start)) continue;
    const last = out.at(-1);
    if (last && last.state === state && last.end === start) last.end = end;
    else out.push({ start, end, state });
  }
  return out.map((i) => ({ start: new Date(i.start).toISOString(), end: new Date(i.end).toISOString(), state: i.state }));
}

/** True when some interval holds resources (every state but SHELVED). */
export const holdsResources = (intervals: readonly InstanceInterval[]) => intervals.some((i) => i.state !== 'SHELVED');

/** The intervals of a server not changed since before the window (`updated` < from): its current status throughout. */
export function unchangedIntervals(server: ServerFacts, window: Window): InstanceInterval[] | null {
  if (neverLaunched(server)) return [];
  const state = statusState(server.status);
  if (state === null) return null;
  const created = novaTime(server.created);
  return clip([{ at: Number.isFinite(created) ? created : window.from, state }], window);
}

/**
 * The intervals of a server changed since the window began, from its instance actions (any order;
 * sorted here by `start_time`). Without a `create` action (purged history, or the reading stopped
 * once the state at the window's start was known), the server is taken to be ACTIVE from `created`
 * until the first action read. A deleted server without a `delete` action ends at
 * `OS-SRV-USG:terminated_at` (or, lacking that, at `updated`).
 */
export function changedIntervals(server: ServerFacts, actions: readonly NovaActionFact[], window: Window): InstanceInterval[] {
  if (neverLaunched(server)) return [];
  const created = novaTime(server.created);
  const timeline: Timeline = [];
  const sorted = actions
    .map((a) => ({ at: novaTime(a.start_time), state: actionState(a.action), action: a.action }))
    .filter((a): a is { at: number; state: InstanceState | 'gone'; action: string } => a.state !== undefined && Number.isFinite(a.at))
    .sort((a, b) => a.at - b.at);
  if (!sorted.some((a) => a.action === 'create')) {
    timeline.push({ at: Number.isFinite(created) ? created : -Infinity, state: 'ACTIVE' });
  }
  // A soft-deleted server (SOFT_DELETED, reclaimable) still holds its resources: its delete stops it.
  const softDeleted = server.status === 'SOFT_DELETED';
  for (const change of sorted) {
    const previous = timeline.at(-1);
    if (previous?.state === 'gone') {
      // After a delete only a restore brings the server back: that delete was a soft one, so the
      // server was powered off in between, not gone. Other actions on a deleted server change nothing.
      if (change.action !== 'restore') continue;
      previous.state = 'SHUTOFF';
    }
    timeline.push({ at: change.at, state: change.state === 'gone' && softDeleted ? 'SHUTOFF' : change.state });
  }
  if (server.status === 'DELETED' && timeline.at(-1)?.state !== 'gone') {
    const end = novaTime(server.terminatedAt) || novaTime(server.updated);
    if (Number.isFinite(end)) timeline.push({ at: end, state: 'gone' });
  }
  return clip(timeline, window);
}

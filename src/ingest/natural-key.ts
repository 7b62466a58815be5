import type { Identity, UsageEvent } from '../contracts/usage-event.ts';

/** `perun_user` is the seed's spelling of `perun_username`: the same identity for the key. */
const SCHEME_ALIASES: Partial<Record<Identity['scheme'], Identity['scheme']>> = { perun_user: 'perun_username' };

function canonicalIdentity(i: Identity): string {
  const scheme = SCHEME_ALIASES[i.scheme] ?? i.scheme;
  const value = scheme === 'user_email' ? i.value.toLowerCase() : i.value;
  return JSON.stringify([scheme, value, i.authority ?? null]);
}

/** The same instant however it was written: `2025-11-19T01:00:00+01:00` = `2025-11-19T00:00:00Z`. */
const instant = (dateTime: string) => new Date(dateTime).toISOString();

/**
 * The project part of the key. An OpenStack event that names its Keystone project by id is keyed by
 * that id (`{"openstack_project_id": …}`), not by the project's name: Keystone names can be renamed,
 * be unknown (a deleted project), or repeat across domains, and re-collecting a day must update the
 * same event, never add a second one (docs/openstack.md).
 */
function projectKey(e: UsageEvent): string | { openstack_project_id: string } | null {
  if (e.source === 'openstack' && e.context.openstack_project_id) return { openstack_project_id: e.context.openstack_project_id };
  return e.context.project ?? null;
}

/**
 * The natural key of an event (docs/architecture.md §1) as canonical text: source, window, cluster, project,
 * jobname and the SET of identities (order and repeats do not matter). The database stores its
 * SHA-256 (`natural_key`, computed in SQL: hashing 1000 keys there costs far less than in the Worker).
 */
export function naturalKeyText(e: UsageEvent): string {
  const identities = [...new Set(e.identities.map(canonicalIdentity))].sort();
  return JSON.stringify([
    e.source,
    instant(e.time_window_start),
    instant(e.time_window_end),
    e.context.cluster ?? null,
    projectKey(e),
    e.context.jobname ?? null,
    identities,
  ]);
}

/**
 * Factories for the allocation system's records and for stored events, for the link-mapping tests.
 * Every record gets unique names, so tests never see each other's rows.
 */
import { sql } from 'drizzle-orm';
import type { UsageEventInput } from '../../src/contracts/usage-event.ts';
import type { Database } from '../../src/db/client.ts';
import {
  type Allocation,
  allocations,
  type NewAllocation,
  type NewProject,
  type NewUser,
  type Project,
  projects,
  type User,
  users,
} from '../../src/db/schema/index.ts';
import { makeEvent, uniqueId } from './events.ts';

export function makeProject(db: Database, overrides: Partial<NewProject> = {}): Promise<Project> {
  return db
    .insert(projects)
    .values({ name: uniqueId('proj'), ...overrides })
    .returning()
    .then((r) => r[0]!);
}

/** A user with a unique username, e-mail and OIDC subject (override any, or set them null). */
export function makeUser(db: Database, overrides: Partial<NewUser> = {}): Promise<User> {
  const name = uniqueId('user');
  return db
    .insert(users)
    .values({ username: name, email: `${name}@Example.org`, externalId: `sub-${name}`, ...overrides })
    .returning()
    .then((r) => r[0]!);
}

/** An hpc allocation valid from 2025-01-01, open-ended, unless overridden. */
export function makeAllocation(db: Database, projectId: string, overrides: Partial<NewAllocation> = {}): Promise<Allocation> {
  return db
    .insert(allocations)
    .values({ projectId, kind: 'hpc', validFrom: '2025-01-01T00:00:00Z', ...overrides })
    .returning()
    .then((r) => r[0]!);
}

/** An OpenStack GitOps allocation naming an OpenStack project (unique id and a prefixed name). */
export function makeGitOpsAllocation(db: Database, projectId: string, overrides: Partial<NewAllocation> = {}) {
  const openstack = { project_id: crypto.randomUUID().replaceAll('-', ''), project_name: uniqueId('meta') };
  return db
    .insert(allocations)
    .values({ projectId, kind: 'openstack', validFrom: '2025-01-01T00:00:00Z', payload: { source: 'gitops', openstack }, ...overrides })
    .returning()
    .then((r) => ({ ...r[0]!, openstack }));
}

/**
 * Store events straight into resource_usage_events (as ingest would, without the queue), any shape
 * the columns accept: `raw` overrides the stored identities/context as is. Returns their ids in order.
 */
export async function storeEvents(
  db: Database,
  events: (Partial<UsageEventInput> & { project?: string; day?: number; raw?: { identities?: unknown; context?: unknown } })[],
): Promise<string[]> {
  const rows = events.map(({ raw, ...overrides }) => {
    const e = makeEvent(overrides);
    return {
      source: e.source,
      start: e.time_window_start,
      end: e.time_window_end,
      identities: raw && 'identities' in raw ? raw.identities : (e.identities ?? []),
      context: raw && 'context' in raw ? raw.context : (e.context ?? {}),
    };
  });
  const { rows: ids } = await db.execute<{ id: string }>(sql`
    INSERT INTO resource_usage_events (natural_key, schema_version, source, time_window_start, time_window_end,
      collected_at, metrics, identities, context)
    SELECT md5(random()::text || x.i), '1.0', x.source, x.start, x."end", x."end", '{"cpu_time_seconds": 1}', x.identities, x.context
    FROM jsonb_to_recordset(${JSON.stringify(rows.map((r, i) => ({ ...r, i })))}::jsonb)
      AS x(i int, source text, start timestamptz, "end" timestamptz, identities jsonb, context jsonb)
    ORDER BY x.i
    RETURNING id::text`);
  return ids.map((r) => r.id);
}

export type LinkRow = {
  event_id: string;
  user_id: string | null;
  project_id: string | null;
  allocation_id: string | null;
  status: string;
  reasons: { part: string; code: string; detail: string }[];
  rule_version: number;
  mapped_at: string;
  note: string | null;
};

/** The links of these events, in the order of the ids (undefined where there is none). */
export async function linksOf(db: Database, ids: string[]): Promise<(LinkRow | undefined)[]> {
  const { rows } = await db.execute<LinkRow>(sql`
    SELECT event_id::text, user_id::text, project_id::text, allocation_id::text, status, reasons, rule_version,
      mapped_at::text, note
    FROM resource_usage_event_links WHERE event_id::text IN (${sql.join(
      ids.map((id) => sql`${id}`),
      sql`, `,
    )})`);
  const byId = new Map(rows.map((r) => [r.event_id, r]));
  return ids.map((id) => byId.get(id));
}

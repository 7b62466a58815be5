import { type SQL, sql } from 'drizzle-orm';
import type { DirectoryAllocation, DirectoryKind, DirectoryProject, DirectoryUser, SyncMode } from '../contracts/directory.ts';
import type { Database } from '../db/client.ts';
import { allocations, directorySyncRuns, projects, resourceUsageEventLinks, users } from '../db/schema/index.ts';

/** A record the allocation system sent that cannot be stored: `path` is `<kind>[i].<field>`. */
export interface DirectoryError {
  path: string;
  message: string;
}

export interface DirectoryWrite {
  inserted: number;
  updated: number;
  unchanged: number;
  deactivated: number;
  /** Internal ids whose change can alter a link (new, or a field mapping reads changed). */
  changed: { users: string[]; projects: string[]; allocations: string[] };
}

export type DirectorySyncOutcome = { ok: true; write: DirectoryWrite } | { ok: false; errors: DirectoryError[] };

export interface FullSync {
  mode: SyncMode;
  /** Several requests make one full list (`run`); `final` closes it. */
  run?: string | undefined;
  final?: boolean | undefined;
}

type Records = { projects: DirectoryProject[] } | { users: DirectoryUser[] } | { allocations: DirectoryAllocation[] };

/** The batch as a relation `x` (one parameter, whatever its size). */
const recordset = (rows: unknown[], columns: string) => sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(${sql.raw(columns)})`;

/**
 * Store a batch of the allocation system's records (PUT /directory/<kind>), set-based: one statement checks
 * every record (referential errors come back as paths, nothing is written), then one transaction claims rows made
 * before the directory sync (projects by name, users by username, e-mail or OIDC subject, when no row has the
 * record's id yet), upserts by the allocation system's id — a row is written only when a field differs
 * (IS DISTINCT FROM), so a re-sent batch writes nothing — and, for a full sync, marks inactive what the list does
 * not name. Never deletes: old usage keeps its links.
 */
export async function syncDirectory(db: Database, kind: DirectoryKind, body: Records, full: FullSync): Promise<DirectorySyncOutcome> {
  // Rows made before the directory sync can be taken over only if there are any: once every row has its id
  // (after the first sync), the checks and the take-over are left out of the statements.
  const { rows: legacy } = await db.execute<{ any: boolean }>(
    kind === 'allocations'
      ? sql`SELECT false AS any`
      : sql`SELECT EXISTS (SELECT 1 FROM ${kind === 'users' ? users : projects} WHERE directory_id IS NULL) AS any`,
  );
  const plan = planFor(kind, body, legacy[0]?.any === true);
  const { rows: errors } = await db.execute<{ idx: number; field: string; message: string }>(plan.validate);
  if (errors.length) {
    return {
      ok: false,
      errors: errors
        .map((e) => ({ idx: Number(e.idx), field: e.field, message: e.message }))
        .sort((a, b) => a.idx - b.idx || a.field.localeCompare(b.field))
        .map((e) => ({ path: `${kind}[${e.idx}].${e.field}`, message: e.message })),
    };
  }
  const statements: SQL[] = [plan.claim, plan.upsert];
  const deactivating = full.mode === 'full' && (full.run === undefined || full.final === true);
  if (full.run !== undefined) {
    statements.push(sql`
      INSERT INTO ${directorySyncRuns} (run, kind, directory_id)
      SELECT ${full.run}, ${kind}, x.id FROM ${recordset(plan.rows, 'id text')}
      ON CONFLICT DO NOTHING`);
  }
  if (deactivating) {
    const named =
      full.run === undefined
        ? sql`SELECT x.id FROM ${recordset(plan.rows, 'id text')}`
        : sql`SELECT r.directory_id FROM ${directorySyncRuns} r WHERE r.run = ${full.run} AND r.kind = ${kind}`;
    statements.push(sql`
      UPDATE ${plan.table} t SET active = false, updated_at = now()
      WHERE t.active AND (t.directory_id IS NULL OR t.directory_id NOT IN (${named}))
      RETURNING t.id::text AS id`);
    if (full.run !== undefined) statements.push(sql`DELETE FROM ${directorySyncRuns} WHERE run = ${full.run} AND kind = ${kind}`);
  }
  const [first, ...rest] = statements.map((s) => db.execute(s));
  const results = await db.batch([first!, ...rest]);
  const claimed = new Set(results[0]!.rows.map((r) => String(r.id)));
  const upserted = results[1]!.rows as { id: string; inserted: boolean; remap: boolean }[];
  const inserted = upserted.filter((r) => r.inserted).length;
  const updatedIds = new Set([...claimed, ...upserted.filter((r) => !r.inserted).map((r) => r.id)]);
  const deactivated = deactivating ? results[full.run === undefined ? 2 : 3]!.rows.length : 0;
  const changedIds = [...new Set([...upserted.filter((r) => r.remap).map((r) => r.id), ...claimed])];
  const remapProjects = kind === 'allocations' ? (upserted as { remap_projects?: string[] }[]).flatMap((r) => r.remap_projects ?? []) : [];
  return {
    ok: true,
    write: {
      inserted,
      updated: updatedIds.size,
      unchanged: plan.rows.length - inserted - updatedIds.size,
      deactivated,
      changed: {
        users: kind === 'users' ? changedIds : [],
        projects: kind === 'projects' ? changedIds : [...new Set(remapProjects)],
        allocations: kind === 'allocations' ? changedIds : [],
      },
    },
  };
}

interface Plan {
  rows: { id: string }[];
  table: typeof projects | typeof users | typeof allocations;
  validate: SQL;
  claim: SQL;
  upsert: SQL;
}

function planFor(kind: DirectoryKind, body: Records, legacy: boolean): Plan {
  if ('projects' in body) return projectsPlan(body.projects, legacy);
  if ('users' in body) return usersPlan(body.users, legacy);
  if ('allocations' in body) return allocationsPlan(body.allocations);
  throw new Error(`no records of kind ${kind}`);
}

const NONE = sql`SELECT NULL::text AS id WHERE false`;

function projectsPlan(records: DirectoryProject[], legacy: boolean): Plan {
  const rows = records.map((r, idx) => ({ idx, id: r.id, name: r.name, active: r.active ?? true }));
  const input = recordset(rows, 'idx int, id text, name text, active boolean');
  return {
    rows,
    table: projects,
    validate: sql`
      WITH x AS (SELECT x.*, row_number() OVER (PARTITION BY x.name ORDER BY x.idx) AS nth FROM ${input})
      SELECT x.idx, 'name' AS field, 'the same name as an earlier project of this request' AS message FROM x WHERE x.nth > 1
      UNION ALL
      SELECT x.idx, 'name', format('project %s already has this name', coalesce(p.directory_id, p.id::text || ' (no directory id)'))
      FROM x JOIN ${projects} p ON p.name = x.name AND p.directory_id IS DISTINCT FROM x.id
      WHERE x.nth = 1 AND (p.directory_id IS NOT NULL OR EXISTS (SELECT 1 FROM ${projects} q WHERE q.directory_id = x.id))`,
    claim: !legacy
      ? NONE
      : sql`
      UPDATE ${projects} p SET directory_id = x.id, updated_at = now() FROM ${input}
      WHERE p.directory_id IS NULL AND p.name = x.name AND NOT EXISTS (SELECT 1 FROM ${projects} q WHERE q.directory_id = x.id)
      RETURNING p.id::text AS id`,
    upsert: sql`
      WITH x AS (SELECT * FROM ${input}),
      old AS (SELECT p.id, p.name FROM ${projects} p WHERE p.directory_id IN (SELECT id FROM x)),
      up AS (
        INSERT INTO ${projects} AS p (directory_id, name, active, updated_at)
        SELECT x.id, x.name, x.active, now() FROM x ORDER BY x.idx
        ON CONFLICT (directory_id) DO UPDATE SET name = EXCLUDED.name, active = EXCLUDED.active, updated_at = now()
        WHERE (p.name, p.active) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.active)
        RETURNING p.id, p.name, p.xmax = 0 AS inserted)
      SELECT up.id::text AS id, up.inserted, up.inserted OR old.name IS DISTINCT FROM up.name AS remap
      FROM up LEFT JOIN old ON old.id = up.id`,
  };
}

function usersPlan(records: DirectoryUser[], legacy: boolean): Plan {
  const rows = records.map((r, idx) => ({
    idx,
    id: r.id,
    username: r.username ?? null,
    email: r.email ?? null,
    sub: r.oidc_sub ?? null,
    dp: r.default_project_id ?? null,
    active: r.active ?? true,
  }));
  const input = recordset(rows, 'idx int, id text, username text, email text, sub text, dp text, active boolean');
  // The row made before the directory sync that this record takes over (none when a row has its id already).
  const claimable = !legacy
    ? sql`NULL::uuid`
    : sql`(SELECT c.id FROM ${users} c
    WHERE c.directory_id IS NULL AND NOT EXISTS (SELECT 1 FROM ${users} q WHERE q.directory_id = x.id)
      AND (c.username = x.username OR lower(c.email) = lower(x.email) OR c.external_id = x.sub)
    ORDER BY c.username = x.username DESC NULLS LAST, lower(c.email) = lower(x.email) DESC NULLS LAST, c.id LIMIT 1)`;
  const taken = (field: string, label: string, match: SQL) => sql`
      SELECT x.idx, ${field} AS field, format('user %s already has this ${sql.raw(label)}', coalesce(u.directory_id, u.id::text || ' (no directory id)'))
      FROM x JOIN ${users} u ON ${match} AND u.directory_id IS DISTINCT FROM x.id AND u.id IS DISTINCT FROM x.claim`;
  const twice = (field: string, key: string) => sql`
      SELECT idx, ${field}, ${`the same ${field} as an earlier user of this request`} FROM (
        SELECT x.idx, row_number() OVER (PARTITION BY ${sql.raw(key)} ORDER BY x.idx) AS nth FROM x WHERE ${sql.raw(key)} IS NOT NULL) d
      WHERE d.nth > 1`;
  return {
    rows,
    table: users,
    validate: sql`
      WITH x AS MATERIALIZED (SELECT x.*, ${claimable} AS claim FROM ${input})
      SELECT x.idx, 'default_project_id' AS field, 'no project has this id (PUT /directory/projects first)' AS message
      FROM x WHERE x.dp IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${projects} p WHERE p.directory_id = x.dp)
      UNION ALL
      SELECT d.idx, 'id', 'takes over the same user (made before the directory sync, with no id) as an earlier user of this request'
      FROM (SELECT x.idx, row_number() OVER (PARTITION BY x.claim ORDER BY x.idx) AS nth FROM x WHERE x.claim IS NOT NULL) d
      WHERE d.nth > 1
      UNION ALL ${twice('username', 'x.username')}
      UNION ALL ${twice('email', 'lower(x.email)')}
      UNION ALL ${twice('oidc_sub', 'x.sub')}
      UNION ALL ${taken('username', 'username', sql`u.username = x.username`)}
      UNION ALL ${taken('email', 'e-mail', sql`lower(u.email) = lower(x.email)`)}
      UNION ALL ${taken('oidc_sub', 'OIDC subject', sql`u.external_id = x.sub`)}`,
    claim: !legacy
      ? NONE
      : sql`
      WITH x AS (SELECT x.id, ${claimable} AS claim FROM ${input})
      UPDATE ${users} u SET directory_id = x.id, updated_at = now() FROM x WHERE u.id = x.claim
      RETURNING u.id::text AS id`,
    upsert: sql`
      WITH x AS (SELECT x.*, p.id AS project_id FROM ${input} LEFT JOIN ${projects} p ON p.directory_id = x.dp),
      old AS (SELECT u.id, u.username, u.email, u.external_id, u.default_project_id FROM ${users} u
        WHERE u.directory_id IN (SELECT id FROM x)),
      up AS (
        INSERT INTO ${users} AS u (directory_id, username, email, external_id, default_project_id, active, updated_at)
        SELECT x.id, x.username, x.email, x.sub, x.project_id, x.active, now() FROM x ORDER BY x.idx
        ON CONFLICT (directory_id) DO UPDATE SET username = EXCLUDED.username, email = EXCLUDED.email,
          external_id = EXCLUDED.external_id, default_project_id = EXCLUDED.default_project_id, active = EXCLUDED.active,
          updated_at = now()
        WHERE (u.username, u.email, u.external_id, u.default_project_id, u.active)
          IS DISTINCT FROM (EXCLUDED.username, EXCLUDED.email, EXCLUDED.external_id, EXCLUDED.default_project_id, EXCLUDED.active)
        RETURNING u.id, u.username, u.email, u.external_id, u.default_project_id, u.xmax = 0 AS inserted)
      SELECT up.id::text AS id, up.inserted,
        up.inserted OR (old.username, old.email, old.external_id, old.default_project_id)
          IS DISTINCT FROM (up.username, up.email, up.external_id, up.default_project_id) AS remap
      FROM up LEFT JOIN old ON old.id = up.id`,
  };
}

function allocationsPlan(records: DirectoryAllocation[]): Plan {
  const rows = records.map((r, idx) => ({
    idx,
    id: r.id,
    project: r.project_id,
    kind: r.kind,
    vf: r.valid_from,
    vt: r.valid_to ?? null,
    grants: r.grants ?? {},
    payload: r.payload ?? {},
    active: r.active ?? true,
  }));
  const input = recordset(
    rows,
    'idx int, id text, project text, kind text, vf timestamptz, vt timestamptz, grants jsonb, payload jsonb, active boolean',
  );
  return {
    rows,
    table: allocations,
    validate: sql`
      WITH x AS MATERIALIZED (SELECT x.*, p.id AS project_id FROM ${input} LEFT JOIN ${projects} p ON p.directory_id = x.project),
      -- The active allocations as they will be: this request's, and the stored ones it does not name.
      after AS (
        SELECT x.idx, x.id, x.project_id, x.kind, x.vf, x.payload -> 'openstack' ->> 'project_id' AS os FROM x WHERE x.active
        UNION ALL
        SELECT NULL, coalesce(a.directory_id, a.id::text), a.project_id, a.kind, a.valid_from, a.payload -> 'openstack' ->> 'project_id'
        FROM ${allocations} a WHERE a.active AND (a.directory_id IS NULL OR a.directory_id NOT IN (SELECT id FROM x)))
      SELECT x.idx, 'project_id' AS field, 'no project has this id (PUT /directory/projects first)' AS message
      FROM x WHERE x.project_id IS NULL
      UNION ALL
      SELECT a.idx, 'valid_from', format('allocation %s of the same project starts at the same time: the latest allocation valid at a time would be ambiguous; give one a later valid_from, or mark one inactive', b.id)
      FROM after a JOIN after b ON a.idx IS NOT NULL AND b.id <> a.id AND a.kind = 'hpc' AND b.kind = 'hpc'
        AND a.project_id = b.project_id AND a.vf = b.vf
      UNION ALL
      SELECT a.idx, 'payload.openstack.project_id', format('allocation %s of another project names the same OpenStack project', b.id)
      FROM after a JOIN after b ON a.idx IS NOT NULL AND b.id <> a.id AND a.kind = 'openstack' AND b.kind = 'openstack'
        AND a.os = b.os AND a.project_id IS DISTINCT FROM b.project_id`,
    claim: NONE,
    upsert: sql`
      WITH x AS (SELECT x.*, p.id AS project_id FROM ${input} JOIN ${projects} p ON p.directory_id = x.project),
      old AS (SELECT a.id, a.project_id, a.kind, a.valid_from, a.valid_to, a.payload FROM ${allocations} a
        WHERE a.directory_id IN (SELECT id FROM x)),
      up AS (
        INSERT INTO ${allocations} AS a (directory_id, project_id, kind, valid_from, valid_to, grants, payload, active, updated_at)
        SELECT x.id, x.project_id, x.kind, x.vf, x.vt, x.grants, x.payload, x.active, now() FROM x ORDER BY x.idx
        ON CONFLICT (directory_id) DO UPDATE SET project_id = EXCLUDED.project_id, kind = EXCLUDED.kind,
          valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, grants = EXCLUDED.grants,
          payload = EXCLUDED.payload, active = EXCLUDED.active, updated_at = now()
        WHERE (a.project_id, a.kind, a.valid_from, a.valid_to, a.grants, a.payload, a.active)
          IS DISTINCT FROM (EXCLUDED.project_id, EXCLUDED.kind, EXCLUDED.valid_from, EXCLUDED.valid_to, EXCLUDED.grants,
            EXCLUDED.payload, EXCLUDED.active)
        RETURNING a.id, a.project_id, a.kind, a.valid_from, a.valid_to, a.payload, a.xmax = 0 AS inserted)
      SELECT up.id::text AS id, up.inserted,
        up.inserted OR (old.project_id, old.kind, old.valid_from, old.valid_to, old.payload)
          IS DISTINCT FROM (up.project_id, up.kind, up.valid_from, up.valid_to, up.payload) AS remap,
        array_remove(ARRAY[up.project_id::text, old.project_id::text], NULL) AS remap_projects
      FROM up LEFT JOIN old ON old.id = up.id`,
  };
}

/** At most this many events are re-mapped by id after one request; more go by UTC day (every event of those days). */
export const MAX_REMAP_IDS = 100_000;

export type AffectedEvents = { kind: 'ids'; ids: string[] } | { kind: 'days'; days: string[] };

/**
 * The events whose links a directory change can alter: every event not `resolved` (a new user, project or
 * allocation may resolve it) and the events linked to what changed (users, projects — and for an allocation, its
 * project's events, whose latest allocation may now be another). Manual links are left out: mapping keeps them.
 */
export async function affectedEvents(db: Database, changed: DirectoryWrite['changed']): Promise<AffectedEvents> {
  const none = !changed.users.length && !changed.projects.length && !changed.allocations.length;
  if (none) return { kind: 'ids', ids: [] };
  const array = (ids: string[]) => `{${ids.join(',')}}`;
  const scope = sql`
    SELECT l.event_id, l.event_time FROM ${resourceUsageEventLinks} l WHERE l.status IN ('unresolved', 'partial')
    UNION
    SELECT l.event_id, l.event_time FROM ${resourceUsageEventLinks} l
    WHERE l.status <> 'manual' AND (l.user_id = ANY(${array(changed.users)}::uuid[])
      OR l.project_id = ANY(${array(changed.projects)}::uuid[]) OR l.allocation_id = ANY(${array(changed.allocations)}::uuid[]))`;
  const { rows } = await db.execute<{ id: string }>(sql`SELECT s.event_id::text AS id FROM (${scope}) s LIMIT ${MAX_REMAP_IDS + 1}`);
  if (rows.length <= MAX_REMAP_IDS) return { kind: 'ids', ids: rows.map((r) => r.id) };
  const { rows: days } = await db.execute<{ day: string }>(sql`
    SELECT DISTINCT to_char(s.event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM (${scope}) s ORDER BY 1`);
  return { kind: 'days', days: days.map((d) => d.day) };
}

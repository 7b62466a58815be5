import { type SQL, sql } from 'drizzle-orm';
import type { DirectoryAllocation, DirectoryKind, DirectoryProject, DirectoryUser, SyncMode } from '../contracts/directory.ts';
import { type Database, driverError } from '../db/client.ts';
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
  /**
   * Internal ids whose change can alter a link (new, or a field mapping reads changed): only when `affected` holds
   * more than MAX_REMAP_IDS (the re-map goes by day, affectedDays), else null.
   */
  changed: { users: string[]; projects: string[]; allocations: string[] } | null;
  /** The events to re-map (affectedScope), at most MAX_REMAP_IDS + 1: more than MAX_REMAP_IDS go by day. */
  affected: string[];
}

export type DirectorySyncOutcome = { ok: true; write: DirectoryWrite } | { ok: false; errors: DirectoryError[] };

export interface FullSync {
  mode: SyncMode;
  /** Several requests make one full list (`run`); `final` closes it. */
  run?: string | undefined;
  final?: boolean | undefined;
}

type Records = { projects: DirectoryProject[] } | { users: DirectoryUser[] } | { allocations: DirectoryAllocation[] };

/** One field of the batch: its name in `x`, its SQL type, and its value for each record in order (null: NULL). */
interface Column {
  name: string;
  type: 'text' | 'boolean' | 'timestamptz' | 'jsonb';
  values: (string | boolean | null)[];
}

/** The columns of a batch of `records`: `field(name, type, value of a record)`. */
const columnsOf =
  <R>(records: R[]) =>
  (name: string, type: Column['type'], value: (r: R) => string | boolean | null): Column => ({ name, type, values: records.map(value) });

/**
 * An element PostgreSQL's array input would read otherwise unless quoted: empty, the word NULL (any case), or
 * holding a brace, comma, quote, backslash or white space (JavaScript's \s: a superset of what it trims).
 */
const NEEDS_QUOTES = /^$|^null$|[{},"\\\s]/i;
const ESCAPED = /[\\"]/g;

/**
 * A PostgreSQL array literal of text elements, NULL for null. Only an element that needs it is quoted (then only
 * `"` and `\` are escaped): ids, names and e-mails go bare, so the literal — about a megabyte for 5000 users —
 * is smaller and the driver's JSON has no `\"` pair to write for each of its 30,000 elements.
 */
function arrayLiteral(values: Column['values']): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else {
      const s = String(v);
      out += NEEDS_QUOTES.test(s) ? `"${s.replace(ESCAPED, '\\$&')}"` : s;
    }
  }
  return `${out}}`;
}

/**
 * The batch travels once, one array literal per field, as parameters of the first statement, which keeps them in
 * transaction-local settings (`directory.batch_<field>`) for the second: a batch of 5000 records is about a
 * megabyte, and sending it with each statement doubled what the driver, the gateway and PostgreSQL carried. Arrays,
 * not one JSON document: PostgreSQL reads 5000 records from arrays in a few milliseconds, from
 * `jsonb_to_recordset` in some 40 — paid by both statements of every request, sent again or not.
 * Each statement starts with the CTE `batch` (one row, a field per column); `recordset` is the relation `x`.
 */
const keepBatch = (columns: Column[]) =>
  sql`batch AS MATERIALIZED (SELECT ${sql.join(
    columns.map((c) => sql`set_config(${sql.raw(`'directory.batch_${c.name}'`)}, ${arrayLiteral(c.values)}, true) AS ${sql.raw(c.name)}`),
    sql`, `,
  )})`;
const sentBatch = (columns: Column[]) =>
  sql`batch AS MATERIALIZED (SELECT ${sql.join(
    columns.map((c) => sql`${arrayLiteral(c.values)}::text AS ${sql.raw(c.name)}`),
    sql`, `,
  )})`;
const keptBatch = (columns: Column[]) =>
  sql`batch AS MATERIALIZED (SELECT ${sql.join(
    columns.map((c) => sql.raw(`current_setting('directory.batch_${c.name}') AS ${c.name}`)),
    sql`, `,
  )})`;
// Each field is unnested as text and cast per record: `jsonb[]` input is an order of magnitude slower than
// `text[]` input and a cast of each element (measured: some 70 ms against 8 for 10,000 small objects). `OFFSET 0`
// keeps the subquery whole, so each cast runs once per record: pulled up into `x`, it ran again for every use of
// its field (an allocation's payload three times), some 8 ms of a re-sent batch of 5000 allocations.
const recordset = (columns: Column[]) => {
  const names = columns.map((c) => c.name);
  return sql.raw(`(SELECT (u.n - 1)::int AS idx, ${columns.map((c) => (c.type === 'text' ? `u.${c.name}` : `u.${c.name}::${c.type} AS ${c.name}`)).join(', ')}
    FROM batch CROSS JOIN LATERAL unnest(${names.map((n) => `batch.${n}::text[]`).join(', ')}) WITH ORDINALITY AS u(${names.join(', ')}, n) OFFSET 0) AS x`);
};

/**
 * Store a batch of the allocation system's records (PUT /directory/<kind>), set-based, in ONE request to the
 * database (one HTTP round trip, one transaction), the batch travelling once as one array per field. The check
 * finds every record that cannot be stored (referential errors come back as paths); only if it found nothing, the
 * write upserts by the allocation system's id the records that differ from their row (a re-sent batch reaches no
 * row), keeps a full run's bookkeeping, marks inactive what a full list does not name, and selects the events whose
 * links the change can alter (see affectedDays). Both are one statement while no row made before the directory
 * sync is left to take over; while some are, two: the check also claims them (projects by name, users by username,
 * e-mail or OIDC subject, when no row has the record's id yet) and leaves its verdict in a transaction-local
 * setting for the write. Never deletes: old usage keeps its links.
 */
export async function syncDirectory(db: Database, kind: DirectoryKind, body: Records, full: FullSync): Promise<DirectorySyncOutcome> {
  const plan = planFor(kind, body);
  const deactivating = full.mode === 'full' && (full.run === undefined || full.final === true);
  const runs = (ok: SQL) =>
    full.run !== undefined && !deactivating
      ? sql`, runs AS (INSERT INTO ${directorySyncRuns} (run, kind, directory_ids)
        SELECT ${full.run}, ${kind}, array_agg(x.id) FROM x WHERE ${ok} HAVING count(*) > 0)`
      : sql``;
  // Not named by the list a full sync keeps active: this request's ids, and those the earlier requests of its run
  // recorded (a row with no directory id is named by none). Two NOT EXISTS at the top of the WHERE, each an
  // anti-join: one over a UNION, or under an OR, would be a subplan run per stored row.
  const unnamed =
    full.run === undefined
      ? sql`NOT EXISTS (SELECT 1 FROM x WHERE x.id = t.directory_id)`
      : sql`NOT EXISTS (SELECT 1 FROM x WHERE x.id = t.directory_id) AND NOT EXISTS (
          SELECT 1 FROM ${directorySyncRuns} r CROSS JOIN unnest(r.directory_ids) AS n(id)
          WHERE r.run = ${full.run} AND r.kind = ${kind} AND n.id = t.directory_id)`;
  const deactivate = (ok: SQL) =>
    deactivating
      ? sql`, deact AS (UPDATE ${plan.table} t SET active = false, updated_at = now()
        WHERE ${ok} AND t.active AND ${unnamed}
        RETURNING t.id),
      gone AS (DELETE FROM ${directorySyncRuns} r WHERE ${ok} AND r.run = ${full.run ?? null} AND r.kind = ${kind})`
      : sql`, deact AS (SELECT NULL::uuid AS id WHERE false)`;
  const claimedIds = sql`SELECT unnest(string_to_array(nullif(current_setting('directory.claimed', true), ''), ','))::uuid`;
  const changedOwn = sql`(SELECT coalesce(array_agg(c.id), '{}') FROM (SELECT res.id FROM res WHERE res.remap UNION ${claimedIds}) c(id))`;
  const none = sql`'{}'::uuid[]`;
  // The write after a check that passed (`ok`), with the batch joined to the stored rows (the CTE `x`) before it:
  // the upsert, the run's bookkeeping, the deactivation, and the counts and events to re-map.
  const writing = (ok: SQL, before: SQL) => sql`${plan.write(ok)}${runs(ok)}${deactivate(ok)},
    ch AS (SELECT ${kind === 'users' ? changedOwn : none} AS users,
      ${kind === 'projects' ? changedOwn : kind === 'allocations' ? sql`(SELECT coalesce(array_agg(DISTINCT p), '{}') FROM res, unnest(res.remap_projects) p)` : none} AS projects,
      ${kind === 'allocations' ? changedOwn : none} AS allocations),
    affected AS (${affectedScope(sql`(SELECT users FROM ch)`, sql`(SELECT projects FROM ch)`, sql`(SELECT allocations FROM ch)`)}),
    aff AS MATERIALIZED (SELECT event_id FROM affected LIMIT ${MAX_REMAP_IDS + 1})
    SELECT ${before} (SELECT count(*) FROM res WHERE res.inserted)::int AS inserted,
      (SELECT count(*) FROM (SELECT res.id FROM res WHERE NOT res.inserted UNION ${claimedIds}) u)::int AS updated,
      (SELECT count(*) FROM deact)::int AS deactivated,
      CASE WHEN (SELECT count(*) FROM aff) > ${MAX_REMAP_IDS} THEN (SELECT to_json(ch) FROM ch) END AS changed,
      coalesce((SELECT json_agg(a.event_id::text) FROM aff a), '[]') AS affected`;
  const problems = (relation: string) =>
    sql.raw(`coalesce((SELECT json_agg(json_build_object('idx', p.idx, 'field', p.field, 'message', p.message)) FROM ${relation} p), '[]')`);

  // While no row made before the directory sync is left to take over (always, for allocations), the check and the
  // write are one statement: its single snapshot makes the check's verdict hold for the write, and the batch is
  // sent, read and joined to the stored rows once (`x`, shared by the check and the write). Otherwise (it answers
  // `legacy`, having written nothing) the take-over needs a statement of its own, whose changes the write must see:
  // the transaction of two below, each joining the batch to the stored rows as they are when it runs.
  const single = (check: SQL) => sql`
    WITH ${sentBatch(plan.columns)},
    legacy AS MATERIALIZED (SELECT ${plan.legacy} AS found),
    x AS MATERIALIZED (${plan.joined(sql`(SELECT found FROM legacy)`)}),
    checked AS MATERIALIZED (WITH ${check} SELECT idx, field, message FROM problems),
    ${writing(
      sql`NOT (SELECT found FROM legacy) AND NOT EXISTS (SELECT 1 FROM checked)`,
      sql`(SELECT found FROM legacy) AS legacy, CASE WHEN (SELECT found FROM legacy) THEN '[]'::json ELSE ${problems('checked')} END AS problems,`,
    )}`;
  // First with the quick check: what a unique index guards (a name, username, e-mail or OIDC subject another record
  // has, stored or in this request) is left to the index. A clash then fails the whole statement (23505) and
  // nothing is written; the full check runs instead, and names every record and field that clashes. It runs too when
  // the quick check found a problem, so that the answer lists them all. A batch that clashes with nothing (every
  // batch of a clean sync) skips the look-ups; every other answer is the full check's, as before.
  const run = async (check: SQL) => (await db.execute<{ legacy: boolean } & Verdict & Written>(single(check))).rows[0]!;
  let once: { legacy: boolean } & Verdict & Written;
  try {
    once = await run(plan.quickCheck ?? plan.check);
  } catch (err) {
    if (!plan.quickCheck || driverError(err)?.code !== UNIQUE_VIOLATION) throw err;
    once = await run(plan.check);
  }
  if (plan.quickCheck && once.problems.length > 0) once = await run(plan.check);
  if (!once.legacy) return outcome(kind, plan.count, once, once);

  const check = sql`
    WITH ${keepBatch(plan.columns)},
    legacy AS (SELECT ${plan.legacy} AS found),
    x AS MATERIALIZED (${plan.joined(sql`(SELECT found FROM legacy)`)}), ${plan.check},
    claimed AS (${plan.claim})
    SELECT ${problems('problems')} AS problems,
      set_config('directory.ok', (NOT EXISTS (SELECT 1 FROM problems))::text, true) AS ok,
      set_config('directory.claimed', coalesce((SELECT string_agg(c.id, ',') FROM claimed c), ''), true) AS claimed_ids`;
  const write = sql`WITH ${keptBatch(plan.columns)}, x AS MATERIALIZED (${plan.joined(sql`false`)}), ${writing(OK, sql``)}`;
  const [checked, written] = await db.batch([db.execute(check), db.execute(write)]);
  return outcome(kind, plan.count, checked!.rows[0] as Verdict, written!.rows[0] as Written);
}

type Verdict = {
  problems: { idx: number; field: string; message: string }[];
};
/** Counted in the database: the ids of 5000 upserted records are not worth carrying back. */
type Written = {
  inserted: number;
  updated: number;
  deactivated: number;
  changed: DirectoryWrite['changed'];
  affected: string[];
};

function outcome(kind: DirectoryKind, count: number, verdict: Verdict, out: Written): DirectorySyncOutcome {
  if (verdict.problems.length) {
    return {
      ok: false,
      errors: verdict.problems
        .map((e) => ({ idx: Number(e.idx), field: e.field, message: e.message }))
        .sort((a, b) => a.idx - b.idx || a.field.localeCompare(b.field))
        .map((e) => ({ path: `${kind}[${e.idx}].${e.field}`, message: e.message })),
    };
  }
  const inserted = Number(out.inserted);
  const updated = Number(out.updated);
  return {
    ok: true,
    write: {
      inserted,
      updated,
      unchanged: count - inserted - updated,
      deactivated: Number(out.deactivated),
      changed: out.changed ?? null,
      affected: out.affected,
    },
  };
}

interface Plan {
  count: number;
  columns: Column[];
  table: typeof projects | typeof users | typeof allocations;
  /** Whether rows made before the directory sync (no directory id) are left to take over. */
  legacy: SQL;
  /**
   * The query of the CTE `x`: each record of the batch (`idx` and its fields) beside its stored row (`old_id`, NULL
   * when new, and `old_<field>`), what it refers to (`project_id`), and `same`: the stored row holds exactly what
   * the record says, so writing it would change nothing. Users also get `claim`, the row made before the directory
   * sync that the record takes over, looked for only when `claiming` (an SQL boolean) holds.
   */
  joined: (claiming: SQL) => SQL;
  /** CTEs over `x` ending with `problems` (idx, field, message). */
  check: SQL;
  /** `check` less what a unique index guards (a clash then fails the statement, and `check` runs instead). */
  quickCheck?: SQL;
  /** The take-over (an UPDATE … RETURNING id::text), done only when `problems` is empty. */
  claim: SQL;
  /** CTEs `up` (the upsert over `x`, of nothing unless `ok`: the check passed) and `res` (id, inserted, remap[, remap_projects]). */
  write: (ok: SQL) => SQL;
}

function planFor(kind: DirectoryKind, body: Records): Plan {
  if ('projects' in body) return projectsPlan(body.projects);
  if ('users' in body) return usersPlan(body.users);
  if ('allocations' in body) return allocationsPlan(body.allocations);
  throw new Error(`no records of kind ${kind}`);
}

const OK = sql`current_setting('directory.ok', true) = 'true'`;
/** SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';
const NO_PROBLEMS = sql`problems AS (SELECT NULL::int AS idx, NULL::text AS field, NULL::text AS message WHERE false)`;
const NONE = sql`SELECT NULL::text AS id WHERE false`;
const noDirectoryId = (table: typeof projects | typeof users) => sql`EXISTS (SELECT 1 FROM ${table} WHERE directory_id IS NULL)`;

/** Some record of the request differs from its stored row (`x.same`): only then are pairs within the request looked for. */
const SOME_CHANGED = 'EXISTS (SELECT 1 FROM x WHERE NOT x.same)';

/**
 * A CTE `name` (idx, nth) over the records of `x` whose `key` is not NULL, numbered in request order among those with
 * the same key: `nth > 1` is a record repeating an earlier one's key. Skipped (no rows) when every record equals its
 * stored row: stored rows are distinct and the unique index on the key leaves no two with one value, so two
 * records that change nothing never repeat a key; the moment one record differs, all are numbered (a repeat may pair
 * a changed record with an unchanged one). Sorted by the bytes (`COLLATE "C"`): for equality that is the same as
 * the database's collation, and far cheaper to sort.
 */
const repeats = (name: string, key: string) =>
  sql.raw(`${name} AS MATERIALIZED (SELECT x.idx, row_number() OVER (PARTITION BY ${key} COLLATE "C" ORDER BY x.idx) AS nth
    FROM x WHERE ${key} IS NOT NULL AND ${SOME_CHANGED})`);

function projectsPlan(records: DirectoryProject[]): Plan {
  const field = columnsOf(records);
  const columns = [field('id', 'text', (r) => r.id), field('name', 'text', (r) => r.name), field('active', 'boolean', (r) => r.active ?? true)];
  const input = recordset(columns);
  return {
    count: records.length,
    columns,
    table: projects,
    legacy: noDirectoryId(projects),
    joined: () => sql`SELECT x.*, o.id AS old_id, o.name AS old_name, o.active AS old_active,
        o.id IS NOT NULL AND (o.name, o.active) IS NOT DISTINCT FROM (x.name, x.active) AS same
      FROM ${input} LEFT JOIN ${projects} o ON o.directory_id = x.id`,
    check: sql`
      ${repeats('names', 'x.name')},
      problems AS MATERIALIZED (
        SELECT n.idx, 'name' AS field, 'the same name as an earlier project of this request' AS message FROM names n WHERE n.nth > 1
        UNION ALL
        SELECT x.idx, 'name', format('project %s already has this name', coalesce(p.directory_id, p.id::text || ' (no directory id)'))
        FROM x JOIN ${projects} p ON p.name = x.name AND p.directory_id IS DISTINCT FROM x.id
        -- (a name the record's own row has already is skipped: the unique index leaves no other row with it)
        WHERE x.name IS DISTINCT FROM x.old_name AND NOT EXISTS (SELECT 1 FROM names n WHERE n.idx = x.idx AND n.nth > 1)
          AND (p.directory_id IS NOT NULL OR x.old_id IS NOT NULL))`,
    quickCheck: NO_PROBLEMS,
    claim: sql`
      UPDATE ${projects} p SET directory_id = x.id, updated_at = now() FROM x
      WHERE (SELECT found FROM legacy) AND NOT EXISTS (SELECT 1 FROM problems)
        AND p.directory_id IS NULL AND p.name = x.name AND NOT EXISTS (SELECT 1 FROM ${projects} q WHERE q.directory_id = x.id)
      RETURNING p.id::text AS id`,
    write: (ok) => sql`
      up AS (
        INSERT INTO ${projects} AS p (directory_id, name, active, updated_at)
        SELECT x.id, x.name, x.active, now() FROM x WHERE ${ok} AND NOT x.same ORDER BY x.idx
        ON CONFLICT (directory_id) DO UPDATE SET name = EXCLUDED.name, active = EXCLUDED.active, updated_at = now()
        WHERE (p.name, p.active) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.active)
        RETURNING p.id, p.name, p.xmax = 0 AS inserted),
      res AS (SELECT up.id, up.inserted, up.inserted OR x.old_name IS DISTINCT FROM up.name AS remap
        FROM up LEFT JOIN x ON x.old_id = up.id)`,
  };
}

function usersPlan(records: DirectoryUser[]): Plan {
  const field = columnsOf(records);
  const columns = [
    field('id', 'text', (r) => r.id),
    field('username', 'text', (r) => r.username ?? null),
    field('email', 'text', (r) => r.email ?? null),
    field('sub', 'text', (r) => r.oidc_sub ?? null),
    field('dp', 'text', (r) => r.default_project_id ?? null),
    field('active', 'boolean', (r) => r.active ?? true),
  ];
  const input = recordset(columns);
  // The row made before the directory sync that this record takes over (none when a row has its id already).
  const claimable = (claiming: SQL) => sql`CASE WHEN ${claiming} AND o.id IS NULL THEN (SELECT c.id FROM ${users} c
    WHERE c.directory_id IS NULL AND (c.username = x.username OR lower(c.email) = lower(x.email) OR c.external_id = x.sub)
    ORDER BY c.username = x.username DESC NULLS LAST, lower(c.email) = lower(x.email) DESC NULLS LAST, c.id LIMIT 1) END`;
  // A value the record's own row has already is skipped: the unique index leaves no other row with it.
  const taken = (field: string, label: string, match: SQL, changed: SQL) => sql`
      SELECT x.idx, ${field} AS field, format('user %s already has this ${sql.raw(label)}', coalesce(u.directory_id, u.id::text || ' (no directory id)'))
      FROM x JOIN ${users} u ON ${match} AND u.directory_id IS DISTINCT FROM x.id AND u.id IS DISTINCT FROM x.claim
      WHERE ${changed}`;
  const noDefaultProject = sql`SELECT x.idx, 'default_project_id' AS field, 'no project has this id (PUT /directory/projects first)' AS message
        FROM x WHERE x.dp IS NOT NULL AND x.project_id IS NULL`;
  const twice = (field: string, relation: string) => sql`
      SELECT d.idx, ${field}, ${`the same ${field} as an earlier user of this request`} FROM ${sql.raw(relation)} d WHERE d.nth > 1`;
  return {
    count: records.length,
    columns,
    table: users,
    legacy: noDirectoryId(users),
    joined: (claiming) => sql`SELECT x.*, ${claimable(claiming)} AS claim, p.id AS project_id, o.id AS old_id,
        o.username AS old_username, o.email AS old_email, o.external_id AS old_sub, o.default_project_id AS old_dp, o.active AS old_active,
        o.id IS NOT NULL AND (x.dp IS NULL OR p.id IS NOT NULL)
          AND (o.username, o.email, o.external_id, o.default_project_id, o.active) IS NOT DISTINCT FROM (x.username, x.email, x.sub, p.id, x.active) AS same
      FROM ${input} LEFT JOIN ${projects} p ON p.directory_id = x.dp LEFT JOIN ${users} o ON o.directory_id = x.id`,
    check: sql`
      ${repeats('usernames', 'x.username')},
      ${repeats('emails', 'lower(x.email)')},
      ${repeats('subs', 'x.sub')},
      problems AS MATERIALIZED (
        ${noDefaultProject}
        UNION ALL
        SELECT d.idx, 'id', 'takes over the same user (made before the directory sync, with no id) as an earlier user of this request'
        FROM (SELECT x.idx, row_number() OVER (PARTITION BY x.claim ORDER BY x.idx) AS nth FROM x WHERE x.claim IS NOT NULL) d
        WHERE d.nth > 1
        UNION ALL ${twice('username', 'usernames')}
        UNION ALL ${twice('email', 'emails')}
        UNION ALL ${twice('oidc_sub', 'subs')}
        UNION ALL ${taken('username', 'username', sql`u.username = x.username`, sql`x.username IS DISTINCT FROM x.old_username`)}
        UNION ALL ${taken('email', 'e-mail', sql`lower(u.email) = lower(x.email)`, sql`lower(x.email) IS DISTINCT FROM lower(x.old_email)`)}
        UNION ALL ${taken('oidc_sub', 'OIDC subject', sql`u.external_id = x.sub`, sql`x.sub IS DISTINCT FROM x.old_sub`)})`,
    quickCheck: sql`problems AS MATERIALIZED (${noDefaultProject})`,
    claim: sql`
      UPDATE ${users} u SET directory_id = x.id, updated_at = now() FROM x
      WHERE u.id = x.claim AND NOT EXISTS (SELECT 1 FROM problems)
      RETURNING u.id::text AS id`,
    write: (ok) => sql`
      up AS (
        INSERT INTO ${users} AS u (directory_id, username, email, external_id, default_project_id, active, updated_at)
        SELECT x.id, x.username, x.email, x.sub, x.project_id, x.active, now() FROM x WHERE ${ok} AND NOT x.same
        ORDER BY x.idx
        ON CONFLICT (directory_id) DO UPDATE SET username = EXCLUDED.username, email = EXCLUDED.email,
          external_id = EXCLUDED.external_id, default_project_id = EXCLUDED.default_project_id, active = EXCLUDED.active,
          updated_at = now()
        WHERE (u.username, u.email, u.external_id, u.default_project_id, u.active)
          IS DISTINCT FROM (EXCLUDED.username, EXCLUDED.email, EXCLUDED.external_id, EXCLUDED.default_project_id, EXCLUDED.active)
        RETURNING u.id, u.username, u.email, u.external_id, u.default_project_id, u.xmax = 0 AS inserted),
      res AS (SELECT up.id, up.inserted,
        up.inserted OR (x.old_username, x.old_email, x.old_sub, x.old_dp)
          IS DISTINCT FROM (up.username, up.email, up.external_id, up.default_project_id) AS remap
        FROM up LEFT JOIN x ON x.old_id = up.id)`,
  };
}

const SAME_START =
  'allocation %s of the same project starts at the same time: the latest allocation valid at a time would be ambiguous; give one a later valid_from, or mark one inactive';
const SAME_OPENSTACK = 'allocation %s of another project names the same OpenStack project';
/**
 * A stored allocation `s` the request leaves as it is (the request does not name it), so it stays beside record
 * `a`: what a request names replaces its stored row.
 */
const unnamedBy = (a: SQL) =>
  sql`(s.directory_id IS NULL OR s.directory_id NOT IN (SELECT id FROM x)) AND coalesce(s.directory_id, s.id::text) <> ${a}.id`;

function allocationsPlan(records: DirectoryAllocation[]): Plan {
  const field = columnsOf(records);
  const columns = [
    field('id', 'text', (r) => r.id),
    field('project', 'text', (r) => r.project_id),
    field('kind', 'text', (r) => r.kind),
    field('vf', 'timestamptz', (r) => r.valid_from),
    field('vt', 'timestamptz', (r) => r.valid_to ?? null),
    field('grants', 'jsonb', (r) => JSON.stringify(r.grants ?? {})),
    field('payload', 'jsonb', (r) => JSON.stringify(r.payload ?? {})),
    field('active', 'boolean', (r) => r.active ?? true),
  ];
  const input = recordset(columns);
  return {
    count: records.length,
    columns,
    table: allocations,
    legacy: sql`false`,
    joined: () => sql`SELECT x.*, p.id AS project_id, x.payload -> 'openstack' ->> 'project_id' AS os, o.id AS old_id,
        o.project_id AS old_project, o.kind AS old_kind, o.valid_from AS old_vf, o.valid_to AS old_vt, o.grants AS old_grants,
        o.payload AS old_payload, o.active AS old_active,
        o.id IS NOT NULL AND p.id IS NOT NULL AND (o.project_id, o.kind, o.valid_from, o.valid_to, o.grants, o.payload, o.active)
          IS NOT DISTINCT FROM (p.id, x.kind, x.vf, x.vt, x.grants, x.payload, x.active) AS same
      FROM ${input} LEFT JOIN ${projects} p ON p.directory_id = x.project LEFT JOIN ${allocations} o ON o.directory_id = x.id`,
    // The checks look up, for each record of the request, what it would clash with: the stored active allocations
    // it does not name, by index (the project's allocations starting at that time, the allocations naming that
    // OpenStack project) — never a pass over every stored allocation — and the other records of the request, among
    // those that share a project and start, or an OpenStack project, with another (`hpc`, `os`: a pair is looked
    // for only there, so a wrong guess of the planner about the batch's size never makes it compare all pairs).
    // What the stored rows hold already passed these checks when it was written, so a record equal to its stored
    // row (`same`) is not looked up against the stored ones, and the pairs within the request are looked for only
    // when some record differs from its row (a clash can then pair a changed record with an unchanged one).
    check: sql`
      hpc AS MATERIALIZED (SELECT * FROM (SELECT x.idx, x.id, x.project_id, x.vf, count(*) OVER (PARTITION BY x.project_id, x.vf) AS n
        FROM x WHERE x.active AND x.kind = 'hpc' AND x.project_id IS NOT NULL AND ${sql.raw(SOME_CHANGED)}) h WHERE h.n > 1),
      os AS MATERIALIZED (SELECT * FROM (SELECT x.idx, x.id, x.project_id, x.os, count(*) OVER (PARTITION BY x.os) AS n
        FROM x WHERE x.active AND x.kind = 'openstack' AND x.os IS NOT NULL AND ${sql.raw(SOME_CHANGED)}) o WHERE o.n > 1),
      problems AS MATERIALIZED (
        SELECT x.idx, 'project_id' AS field, 'no project has this id (PUT /directory/projects first)' AS message
        FROM x WHERE x.project_id IS NULL
        UNION ALL
        SELECT a.idx, 'valid_from', format(${SAME_START}, b.id)
        FROM hpc a JOIN hpc b ON b.id <> a.id AND b.project_id = a.project_id AND b.vf = a.vf
        UNION ALL
        SELECT a.idx, 'valid_from', format(${SAME_START}, coalesce(s.directory_id, s.id::text))
        FROM x a JOIN ${allocations} s ON s.project_id = a.project_id AND s.kind = 'hpc' AND s.valid_from = a.vf
        WHERE NOT a.same AND a.active AND a.kind = 'hpc' AND s.active AND ${unnamedBy(sql`a`)}
        UNION ALL
        SELECT a.idx, 'payload.openstack.project_id', format(${SAME_OPENSTACK}, b.id)
        FROM os a JOIN os b ON b.id <> a.id AND b.os = a.os AND b.project_id IS DISTINCT FROM a.project_id
        UNION ALL
        SELECT a.idx, 'payload.openstack.project_id', format(${SAME_OPENSTACK}, coalesce(s.directory_id, s.id::text))
        FROM x a JOIN ${allocations} s ON s.kind = 'openstack' AND s.payload -> 'openstack' ->> 'project_id' = a.os
          AND s.project_id IS DISTINCT FROM a.project_id
        WHERE NOT a.same AND a.active AND a.kind = 'openstack' AND s.active AND ${unnamedBy(sql`a`)})`,
    claim: NONE,
    write: (ok) => sql`
      up AS (
        INSERT INTO ${allocations} AS a (directory_id, project_id, kind, valid_from, valid_to, grants, payload, active, updated_at)
        SELECT x.id, x.project_id, x.kind, x.vf, x.vt, x.grants, x.payload, x.active, now() FROM x WHERE ${ok} AND NOT x.same
        ORDER BY x.idx
        ON CONFLICT (directory_id) DO UPDATE SET project_id = EXCLUDED.project_id, kind = EXCLUDED.kind,
          valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, grants = EXCLUDED.grants,
          payload = EXCLUDED.payload, active = EXCLUDED.active, updated_at = now()
        WHERE (a.project_id, a.kind, a.valid_from, a.valid_to, a.grants, a.payload, a.active)
          IS DISTINCT FROM (EXCLUDED.project_id, EXCLUDED.kind, EXCLUDED.valid_from, EXCLUDED.valid_to, EXCLUDED.grants,
            EXCLUDED.payload, EXCLUDED.active)
        RETURNING a.id, a.project_id, a.kind, a.valid_from, a.valid_to, a.payload, a.xmax = 0 AS inserted),
      res AS (SELECT up.id, up.inserted,
        up.inserted OR (x.old_project, x.old_kind, x.old_vf, x.old_vt, x.old_payload)
          IS DISTINCT FROM (up.project_id, up.kind, up.valid_from, up.valid_to, up.payload) AS remap,
        array_remove(ARRAY[up.project_id, x.old_project], NULL) AS remap_projects
        FROM up LEFT JOIN x ON x.old_id = up.id)`,
  };
}

/** At most this many events are re-mapped by id after one request; more go by UTC day (every event of those days). */
export const MAX_REMAP_IDS = 100_000;

/**
 * The events whose links a directory change can alter: every event not `resolved` (a new user, project or
 * allocation may resolve it) and the events linked to what changed (users, projects — and for an allocation, its
 * project's events, whose latest allocation may now be another). Manual links are left out: mapping keeps them.
 * Nothing when nothing changed. The arguments are uuid[] expressions.
 */
function affectedScope(changedUsers: SQL, changedProjects: SQL, changedAllocations: SQL): SQL {
  return sql`
    SELECT l.event_id, l.event_time FROM ${resourceUsageEventLinks} l
    WHERE l.status IN ('unresolved', 'partial')
      AND cardinality(${changedUsers}) + cardinality(${changedProjects}) + cardinality(${changedAllocations}) > 0
    UNION
    SELECT l.event_id, l.event_time FROM ${resourceUsageEventLinks} l
    WHERE l.status <> 'manual' AND (l.user_id = ANY(${changedUsers}::uuid[])
      OR l.project_id = ANY(${changedProjects}::uuid[]) OR l.allocation_id = ANY(${changedAllocations}::uuid[]))`;
}

/** More than MAX_REMAP_IDS events to re-map: the UTC days they fall on (every event of those days goes again). */
export async function affectedDays(db: Database, changed: NonNullable<DirectoryWrite['changed']>): Promise<string[]> {
  const array = (ids: string[]) => sql`${`{${ids.join(',')}}`}::uuid[]`;
  const scope = affectedScope(array(changed.users), array(changed.projects), array(changed.allocations));
  const { rows } = await db.execute<{ day: string }>(sql`
    SELECT DISTINCT to_char(s.event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM (${scope}) s ORDER BY 1`);
  return rows.map((d) => d.day);
}

import { sql } from 'drizzle-orm';
import { LINK_REASONS, type ReasonCode } from '../contracts/event-link.ts';
import type { Database } from '../db/client.ts';
import { allocations, projects, resourceUsageEventLinks, resourceUsageEvents, users } from '../db/schema/index.ts';
import { BATCH_ALLOCATION_KIND, PBS_DEFAULT_PROJECT, RULE_VERSION, type TimeRange } from './rules.ts';

/** Which events to map: by id (ingest), and every event whose time_window_start is in a range (re-run). */
export interface MappingTargets {
  eventIds: readonly string[];
  /** Must not overlap (mergeRanges). */
  ranges: readonly TimeRange[];
}

export interface MappingCounts {
  /** Events read and mapped. */
  events: number;
  /** Of those, found through `eventIds` (the others were in a range); ids not found are ignored. */
  byId: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** Manual links left as they are. */
  manual: number;
  /** Of the links written (inserted or updated), how many are resolved, partial, unresolved. */
  resolved: number;
  partial: number;
  unresolved: number;
}

/** A reason as jsonb: its code, the part the code is about (LINK_REASONS), and the detail computed in SQL. */
const reason = (code: ReasonCode, detail: ReturnType<typeof sql>) =>
  sql`jsonb_build_object('part', ${sql.raw(`'${LINK_REASONS[code].part}'`)}, 'code', ${sql.raw(`'${code}'`)}, 'detail', ${detail})`;

/** The users lookup an identity (a jsonb object) is matched by: x external_id, e email, u username; null: none. */
const identityKey = (x: string) =>
  sql.raw(`CASE ${x} ->> 'scheme' WHEN 'oidc_sub' THEN 'x' WHEN 'user_email' THEN 'e' WHEN 'perun_username' THEN 'u' WHEN 'perun_user' THEN 'u' END`);
/** The value looked up (e-mails lower-cased: matched case-insensitively). */
const identityValue = (x: string) => sql.raw(`CASE ${x} ->> 'scheme' WHEN 'user_email' THEN lower(${x} ->> 'value') ELSE ${x} ->> 'value' END`);

const utc = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`);

/**
 * Map events to links in ONE statement, whatever their number (sent in one request, in one
 * transaction, after one statement of settings): read the events, resolve users, projects and
 * allocations with joins over the batch (never a query per event), and write one link per event:
 * insert the new ones, update the ones whose outcome changed. A `manual` link is never touched; a
 * link whose outcome did not change is not rewritten (its mapped_at stays), so running it twice
 * leaves the same rows. New links are plain inserts, not INSERT … ON CONFLICT (whose per-row
 * speculative insertion cost about as much as the rest of the mapping): if two batches insert the
 * same new event at the same moment, one fails on the primary key, is retried by the queue, and
 * then finds the link and updates it.
 */
export async function mapEvents(db: Database, targets: MappingTargets): Promise<MappingCounts> {
  const ids = [...new Set(targets.eventIds)];
  const ranges = sql`jsonb_to_recordset(${JSON.stringify(targets.ranges)}::jsonb) AS r("from" timestamptz, "to" timestamptz)`;
  // The event's first identity is looked up directly: most events carry exactly one.
  const eventColumns = sql`e.identities,
    CASE jsonb_typeof(e.identities) WHEN 'array' THEN jsonb_array_length(e.identities) ELSE 0 END AS n,
    ${identityKey('(e.identities -> 0)')} AS k1, ${identityValue('(e.identities -> 0)')} AS v1,
    CASE WHEN jsonb_typeof(e.context -> 'project') = 'string' THEN e.context ->> 'project' END AS pname,
    CASE WHEN jsonb_typeof(e.context -> 'openstack_project_id') = 'string' THEN e.context ->> 'openstack_project_id' END AS os_id,`;
  // For the reasons of an event whose user is not found or ambiguous (only those rows run it): its
  // usable identities and the user each names, by index lookups.
  const eventIdentities = sql`(
    SELECT x ->> 'scheme' AS scheme, x ->> 'value' AS value, u.id AS user_id,
      coalesce(u.username, u.email, u.external_id) AS user_name
    FROM jsonb_array_elements(p.identities) x
    LEFT JOIN LATERAL (
      SELECT id, username, email, external_id FROM ${users} WHERE x ->> 'scheme' = 'oidc_sub' AND external_id = x ->> 'value'
      UNION ALL
      SELECT id, username, email, external_id FROM ${users} WHERE x ->> 'scheme' = 'user_email' AND lower(email) = lower(x ->> 'value')
      UNION ALL
      SELECT id, username, email, external_id FROM ${users}
      WHERE x ->> 'scheme' IN ('perun_username', 'perun_user') AND username = x ->> 'value'
      LIMIT 1) u ON true
    WHERE ${identityKey('x')} IS NOT NULL AND x ->> 'value' IS NOT NULL)`;
  // Only the branches this batch needs, so that the planner's estimates stay close to the truth.
  const byId = sql`
  SELECT e.id, e.time_window_start AS t, e.source, ${eventColumns} true AS by_id
  FROM ${resourceUsageEvents} e
  WHERE e.id = ANY(${`{${ids.join(',')}}`}::uuid[])
    ${targets.ranges.length ? sql`AND NOT EXISTS (SELECT 1 FROM ${ranges} WHERE e.time_window_start >= r."from" AND e.time_window_start < r."to")` : sql``}`;
  const byRange = sql`
  SELECT e.id, e.time_window_start AS t, e.source, ${eventColumns} false AS by_id
  FROM ${ranges} JOIN ${resourceUsageEvents} e ON e.time_window_start >= r."from" AND e.time_window_start < r."to"`;
  const targetEvents = ids.length && targets.ranges.length ? sql`${byId} UNION ALL ${byRange}` : ids.length ? byId : byRange;

  const statement = sql`
WITH ev AS (${targetEvents}
), idents AS (
  -- Events with two or more identities: the ones mapping uses, one row each.
  SELECT s.event_id, s.x ->> 'scheme' AS scheme, s.x ->> 'value' AS value, ${identityKey('s.x')} AS k, ${identityValue('s.x')} AS v
  FROM (SELECT ev.id AS event_id, jsonb_array_elements(ev.identities) AS x FROM ev WHERE ev.n > 1) s
  WHERE ${identityKey('s.x')} IS NOT NULL AND s.x ->> 'value' IS NOT NULL
), key_users AS (
  -- Each distinct identity of the multi-identity events once: the user it names, if any.
  SELECT k.k, k.v, coalesce(ux.id, ue.id, uu.id) AS user_id
  FROM (SELECT DISTINCT k, v FROM idents) k
  LEFT JOIN ${users} ux ON k.k = 'x' AND ux.external_id = k.v
  LEFT JOIN ${users} ue ON k.k = 'e' AND lower(ue.email) = k.v
  LEFT JOIN ${users} uu ON k.k = 'u' AND uu.username = k.v
), multi_users AS (
  -- One user when every identity that matches names the same one; min <> max: two or more users.
  SELECT m.*, u.default_project_id, u.username FROM (
    SELECT d.event_id, min(ku.user_id::text) <> max(ku.user_id::text) AS conflict,
      CASE WHEN min(ku.user_id::text) = max(ku.user_id::text) THEN min(ku.user_id::text)::uuid END AS user_id
    FROM idents d JOIN key_users ku ON ku.k = d.k AND ku.v = d.v
    GROUP BY d.event_id) m
  LEFT JOIN ${users} u ON u.id = m.user_id
), routed AS (
  SELECT c.id, c.t, c.by_id, c.pname, c.os_id, c.identities, u.user_id, u.conflict, u.default_project_id, u.username,
    NOT u.has_identity AS no_identity,
    -- No identity at all (OpenStack usage: identities []): the usage is the project's, and needs no user.
    c.identities = '[]'::jsonb AS anonymous,
    u.has_identity AND u.user_id IS NULL AND NOT u.conflict AS no_user,
    CASE WHEN c.os_id IS NOT NULL OR (c.source = 'openstack' AND c.pname IS NOT NULL) THEN 'os'
         WHEN c.pname = ${PBS_DEFAULT_PROJECT} THEN 'default'
         WHEN c.pname IS NOT NULL THEN 'name' END AS route,
    coalesce(c.os_id, c.pname) AS os_key
  FROM ev c
  LEFT JOIN ${users} ux ON c.n = 1 AND c.k1 = 'x' AND ux.external_id = c.v1
  LEFT JOIN ${users} ue ON c.n = 1 AND c.k1 = 'e' AND lower(ue.email) = c.v1
  LEFT JOIN ${users} uu ON c.n = 1 AND c.k1 = 'u' AND uu.username = c.v1
  LEFT JOIN multi_users mu ON c.n > 1 AND mu.event_id = c.id
  CROSS JOIN LATERAL (SELECT
    CASE WHEN c.n = 1 THEN c.k1 IS NOT NULL AND c.v1 IS NOT NULL ELSE mu.event_id IS NOT NULL END AS has_identity,
    CASE WHEN c.n = 1 THEN coalesce(ux.id, ue.id, uu.id) ELSE mu.user_id END AS user_id,
    CASE WHEN c.n = 1 THEN coalesce(ux.default_project_id, ue.default_project_id, uu.default_project_id)
      ELSE mu.default_project_id END AS default_project_id,
    CASE WHEN c.n = 1 THEN coalesce(ux.username, ue.username, uu.username) ELSE mu.username END AS username,
    c.n > 1 AND coalesce(mu.conflict, false) AS conflict) u
), os_pick AS (
  SELECT k.by_os_id, k.os_key, k.t,
    array_agg(DISTINCT a.project_id) AS project_ids,
    string_agg(DISTINCT p.name, ', ' ORDER BY p.name) AS project_names,
    (array_agg(a.id ORDER BY (a.valid_from <= k.t AND (a.valid_to IS NULL OR a.valid_to > k.t)) DESC,
      a.valid_from DESC, a.created_at DESC, a.id DESC))[1] AS allocation_id
  FROM (SELECT DISTINCT os_id IS NOT NULL AS by_os_id, coalesce(os_id, pname) AS os_key, t FROM ev
    WHERE os_id IS NOT NULL OR (source = 'openstack' AND pname IS NOT NULL)) k
  JOIN ${allocations} a ON a.kind = 'openstack' AND (a.payload -> 'openstack' ->> 'project_id' = k.os_key
    OR (NOT k.by_os_id AND a.payload -> 'openstack' ->> 'project_name' = k.os_key))
  JOIN ${projects} p ON p.id = a.project_id
  GROUP BY k.by_os_id, k.os_key, k.t
), proj AS MATERIALIZED (
  SELECT r.*,
    CASE r.route WHEN 'name' THEN pn.id WHEN 'default' THEN r.default_project_id
      WHEN 'os' THEN CASE WHEN cardinality(op.project_ids) = 1 THEN op.project_ids[1] END END AS project_id,
    CASE WHEN r.route = 'os' AND cardinality(op.project_ids) = 1 THEN op.allocation_id END AS os_allocation_id,
    op.project_ids IS NULL AS os_missing, coalesce(cardinality(op.project_ids), 0) AS os_projects, op.project_names
  FROM routed r
  LEFT JOIN ${projects} pn ON r.route = 'name' AND pn.name = r.pname
  LEFT JOIN os_pick op ON r.route = 'os' AND op.by_os_id = (r.os_id IS NOT NULL) AND op.os_key = r.os_key AND op.t = r.t
), alloc_pick AS (
  -- The project's latest allocation valid at the event's time, once per (project, time).
  SELECT k.project_id, k.t, a.id
  FROM (SELECT DISTINCT project_id, t FROM proj WHERE project_id IS NOT NULL AND route <> 'os') k
  CROSS JOIN LATERAL (
    SELECT a.id FROM ${allocations} a
    WHERE a.project_id = k.project_id AND a.kind = ${BATCH_ALLOCATION_KIND}
      AND a.valid_from <= k.t AND (a.valid_to IS NULL OR a.valid_to > k.t)
    ORDER BY a.valid_from DESC NULLS LAST, a.created_at DESC NULLS LAST, a.id DESC NULLS LAST LIMIT 1
  ) a
), linked AS (
  SELECT p.id AS event_id, p.t AS event_time, p.by_id, p.user_id, p.project_id, p.conflict, p.anonymous,
    CASE WHEN p.route = 'os' THEN p.os_allocation_id ELSE ap.id END AS allocation_id,
    CASE
      WHEN p.no_identity AND NOT p.anonymous THEN ${reason('no_user_identity', sql`'the event has no oidc_sub, user_email, perun_username or perun_user identity; have the collector send one, or set the link by hand'`)}
      WHEN p.no_user THEN ${reason(
        'user_not_found',
        sql`format('no user matches %s; add the user to the allocation system or correct the identity, then re-run mapping', (
        SELECT string_agg(format('%s %L', i.scheme, i.value), ', ' ORDER BY i.scheme, i.value) FROM ${eventIdentities} i))`,
      )}
      WHEN p.conflict THEN ${reason(
        'identity_conflict',
        sql`(
        SELECT format('the identities name %s different users: %s; correct the users'' records (or the identities), or set the link by hand',
          count(DISTINCT i.user_id), string_agg(format('%s %L is user %s (%s)', i.scheme, i.value, i.user_name, i.user_id), '; ' ORDER BY i.scheme, i.value))
        FROM ${eventIdentities} i WHERE i.user_id IS NOT NULL)`,
      )}
    END AS user_reason,
    CASE
      WHEN p.route IS NULL THEN ${reason('no_project', sql`'the event''s context names no project and no openstack_project_id; have the collector send one, or set the link by hand'`)}
      WHEN p.route = 'name' AND p.project_id IS NULL THEN ${reason('project_not_found', sql`format('no project is named %L; create it in the allocation system or correct the project the cluster reports, then re-run mapping', p.pname)`)}
      WHEN p.route = 'default' AND p.user_id IS NULL THEN ${reason('default_project_needs_user', sql`format('%L means the user''s default project, and the user is not resolved; resolve the user first', p.pname)`)}
      WHEN p.route = 'default' AND p.project_id IS NULL THEN ${reason('no_default_project', sql`format('user %s has no default project, which %L stands for; set one, then re-run mapping', coalesce(p.username, p.user_id::text), p.pname)`)}
      WHEN p.route = 'os' AND p.os_missing THEN ${reason('openstack_project_not_found', sql`format('no OpenStack GitOps allocation names OpenStack project %s %L (payload openstack.project_id / openstack.project_name); add it, then re-run mapping', CASE WHEN p.os_id IS NOT NULL THEN 'id' ELSE 'name or id' END, p.os_key)`)}
      WHEN p.route = 'os' AND p.os_projects > 1 THEN ${reason('openstack_project_ambiguous', sql`format('OpenStack project %L is named by the GitOps allocations of %s projects (%s); keep it in one project''s record, then re-run mapping', p.os_key, p.os_projects, p.project_names)`)}
    END AS project_reason
  FROM proj p LEFT JOIN alloc_pick ap ON p.route <> 'os' AND ap.project_id = p.project_id AND ap.t = p.t
), final AS (
  SELECT l.event_id, l.event_time, l.by_id, l.user_id, l.project_id, l.allocation_id,
    CASE WHEN l.conflict THEN 'unresolved'
      WHEN (l.user_id IS NOT NULL OR l.anonymous) AND l.project_id IS NOT NULL AND l.allocation_id IS NOT NULL THEN 'resolved'
      WHEN l.user_id IS NULL AND l.project_id IS NULL AND l.allocation_id IS NULL THEN 'unresolved'
      ELSE 'partial' END AS status,
    CASE WHEN l.user_reason IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(l.user_reason) END
      || CASE WHEN l.project_reason IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(l.project_reason) END
      || CASE WHEN l.project_id IS NULL THEN jsonb_build_array(${reason('allocation_needs_project', sql`'an allocation is chosen from the project, which is not resolved (see the project reason)'`)})
        WHEN l.allocation_id IS NULL THEN jsonb_build_array(${reason('no_allocation_at_time', sql`format('project %L has no ${sql.raw(BATCH_ALLOCATION_KIND)} allocation valid at %s; add or extend one, then re-run mapping', pp.name, ${utc('l.event_time')})`)})
        ELSE '[]'::jsonb END AS reasons
  FROM linked l LEFT JOIN ${projects} pp ON pp.id = l.project_id
), existing AS (
  -- Links these events already have. New ones are plain inserts (no speculative insertion per row).
  SELECT x.event_id, x.status = 'manual' AS manual FROM ${resourceUsageEventLinks} x WHERE x.event_id IN (SELECT id FROM ev)
), inserted AS (
  INSERT INTO ${resourceUsageEventLinks}
    (event_id, event_time, user_id, project_id, allocation_id, status, reasons, rule_version, mapped_at)
  SELECT f.event_id, f.event_time, f.user_id, f.project_id, f.allocation_id, f.status, f.reasons, ${RULE_VERSION}::int, now()
  FROM final f WHERE NOT EXISTS (SELECT 1 FROM existing x WHERE x.event_id = f.event_id)
  RETURNING status
), updated AS (
  -- Only links whose outcome changed, never a manual one.
  UPDATE ${resourceUsageEventLinks} l SET event_time = f.event_time, user_id = f.user_id, project_id = f.project_id,
    allocation_id = f.allocation_id, status = f.status, reasons = f.reasons, rule_version = ${RULE_VERSION}::int,
    mapped_at = now(), note = NULL
  FROM final f JOIN existing x ON x.event_id = f.event_id AND NOT x.manual
  WHERE l.event_id = f.event_id AND l.status <> 'manual'
    AND (l.event_time, l.user_id, l.project_id, l.allocation_id, l.status, l.reasons, l.rule_version)
      IS DISTINCT FROM (f.event_time, f.user_id, f.project_id, f.allocation_id, f.status, f.reasons, ${RULE_VERSION}::int)
  RETURNING l.status
), written AS (
  SELECT true AS inserted, status FROM inserted UNION ALL SELECT false, status FROM updated
)
SELECT (SELECT count(*) FROM ev) AS events, (SELECT count(*) FROM ev WHERE by_id) AS "byId",
  (SELECT count(*) FROM existing WHERE manual) AS manual, count(*) FILTER (WHERE inserted) AS inserted,
  count(*) FILTER (WHERE NOT inserted) AS updated,
  count(*) FILTER (WHERE status = 'resolved') AS resolved,
  count(*) FILTER (WHERE status = 'partial') AS partial,
  count(*) FILTER (WHERE status = 'unresolved') AS unresolved
FROM written`;

  // One transaction of three statements (two when mapping by day), whatever the batch. For this statement only: no JIT (its
  // estimated cost is far above jit_above_cost, and compiling it took seconds), and room for its
  // sorts and hashes in memory rather than on disk.
  // Events stored again with new metrics keep their link (not rewritten, so the link triggers do not fire):
  // their allocations' days are summed again here. Links this transaction wrote (mapped_at = now()) the
  // triggers have summed already.
  const recharge = sql`
    SELECT allocation_charges_recompute(array_agg(l.allocation_id), array_agg((l.event_time AT TIME ZONE 'UTC')::date))
    FROM ${resourceUsageEventLinks} l
    WHERE l.event_id = ANY(${`{${ids.join(',')}}`}::uuid[]) AND l.allocation_id IS NOT NULL
      AND l.status IN ('resolved', 'manual') AND l.mapped_at <> now()`;
  const settings = db.execute(sql`SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)`);
  const mapped = db.execute<Record<keyof MappingCounts, string>>(statement);
  const [, result] = ids.length ? await db.batch([settings, mapped, db.execute(recharge)]) : await db.batch([settings, mapped]);
  const row = result.rows[0]!;
  const n = (k: keyof MappingCounts) => Number(row[k] ?? 0);
  const counts = { events: n('events'), byId: n('byId'), inserted: n('inserted'), updated: n('updated'), manual: n('manual') };
  return {
    ...counts,
    unchanged: counts.events - counts.inserted - counts.updated - counts.manual,
    resolved: n('resolved'),
    partial: n('partial'),
    unresolved: n('unresolved'),
  };
}

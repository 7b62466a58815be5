import { sql } from 'drizzle-orm';
import type { EventLink, ManualLinkRequest } from '../contracts/event-link.ts';
import type { Database } from '../db/client.ts';
import { LINK_COLUMNS, toLink } from '../db/queries/event-links.ts';
import { allocations, projects, resourceUsageEventLinks, resourceUsageEvents, users } from '../db/schema/index.ts';
import { RULE_VERSION } from './rules.ts';

export type ManualLinkOutcome =
  | { ok: true; link: EventLink }
  | { ok: false; missing: ('event' | 'user_id' | 'project_id' | 'allocation_id')[]; mismatch?: boolean };

/**
 * Set a manual link (mapping never overwrites it). Checks first that the event and every named id
 * exist and that an allocation belongs to the project; an allocation alone brings its project.
 */
export async function setManualLink(db: Database, eventId: string, body: ManualLinkRequest): Promise<ManualLinkOutcome> {
  const { rows } = await db.execute<{ event: boolean; user: boolean; project: boolean; allocation: boolean; allocation_project: string | null }>(sql`
    SELECT EXISTS (SELECT 1 FROM ${resourceUsageEvents} WHERE id = ${eventId}) AS event,
      EXISTS (SELECT 1 FROM ${users} WHERE id = ${body.user_id ?? null}::uuid) AS user,
      EXISTS (SELECT 1 FROM ${projects} WHERE id = ${body.project_id ?? null}::uuid) AS project,
      EXISTS (SELECT 1 FROM ${allocations} WHERE id = ${body.allocation_id ?? null}::uuid) AS allocation,
      (SELECT project_id::text FROM ${allocations} WHERE id = ${body.allocation_id ?? null}::uuid) AS allocation_project`);
  const found = rows[0]!;
  const missing: ('event' | 'user_id' | 'project_id' | 'allocation_id')[] = [];
  if (!found.event) missing.push('event');
  if (body.user_id && !found.user) missing.push('user_id');
  if (body.project_id && !found.project) missing.push('project_id');
  if (body.allocation_id && !found.allocation) missing.push('allocation_id');
  if (missing.length) return { ok: false, missing };
  if (body.project_id && found.allocation_project && found.allocation_project !== body.project_id) {
    return { ok: false, missing: [], mismatch: true };
  }
  const projectId = body.project_id ?? found.allocation_project ?? null;
  const written = await db.execute(sql`
    WITH e AS (SELECT id, time_window_start FROM ${resourceUsageEvents} WHERE id = ${eventId} LIMIT 1)
    INSERT INTO ${resourceUsageEventLinks} AS l
      (event_id, event_time, user_id, project_id, allocation_id, status, reasons, rule_version, mapped_at, note)
    SELECT e.id, e.time_window_start, ${body.user_id ?? null}::uuid, ${projectId}::uuid, ${body.allocation_id ?? null}::uuid,
      'manual', '[]'::jsonb, ${RULE_VERSION}::int, now(), ${body.note ?? null}
    FROM e
    ON CONFLICT (event_id) DO UPDATE SET user_id = EXCLUDED.user_id, project_id = EXCLUDED.project_id,
      allocation_id = EXCLUDED.allocation_id, status = 'manual', reasons = '[]'::jsonb,
      rule_version = EXCLUDED.rule_version, mapped_at = now(), note = EXCLUDED.note
    RETURNING ${LINK_COLUMNS}`);
  return { ok: true, link: toLink(written.rows[0]!) };
}

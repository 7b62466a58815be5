import { sql } from 'drizzle-orm';
import type { EventLink, UnresolvedPage } from '../../contracts/event-link.ts';
import { inYearRange } from '../../contracts/safe-text.ts';
import type { Database } from '../client.ts';
import { resourceUsageEventLinks } from '../schema/event-links.ts';

/** The columns of a link as the wire shape (EventLinkSchema) has them. */
export const LINK_COLUMNS = sql.raw(`l.event_id::text AS event_id,
  to_char(l.event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS event_time,
  l.user_id::text AS user_id, l.project_id::text AS project_id, l.allocation_id::text AS allocation_id,
  l.status, l.reasons, l.rule_version,
  to_char(l.mapped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS mapped_at, l.note`);

export function toLink(row: Record<string, unknown>): EventLink {
  const { cursor_time: _, ...link } = row;
  return { ...(link as EventLink), rule_version: Number(row.rule_version) };
}

export async function findLink(db: Database, eventId: string): Promise<EventLink | undefined> {
  const { rows } = await db.execute(sql`SELECT ${LINK_COLUMNS} FROM ${resourceUsageEventLinks} l WHERE l.event_id = ${eventId}`);
  return rows[0] ? toLink(rows[0]) : undefined;
}

/** Keyset cursor over (event_time DESC, event_id DESC). */
const encodeCursor = (time: string, id: string) => btoa(`${time}|${id}`).replace(/=+$/, '');
function decodeCursor(cursor: string): { time: string; id: string } | undefined {
  try {
    const [time, id] = atob(cursor).split('|');
    // Only what encodeCursor writes: a UTC instant in years 0001–9999 (anything else would reach SQL as a bad timestamp).
    if (time && id && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/.test(time) && inYearRange(time) && /^[0-9a-f-]{36}$/i.test(id)) {
      return { time, id };
    }
  } catch {
    // not base64
  }
  return undefined;
}

export class BadCursorError extends Error {
  override name = 'BadCursorError';
}

/** Links that are not resolved, newest first, with their reasons. */
export async function listUnresolved(
  db: Database,
  opts: {
    status?: 'unresolved' | 'partial' | undefined;
    from?: string | undefined;
    to?: string | undefined;
    limit: number;
    cursor?: string | undefined;
  },
): Promise<UnresolvedPage> {
  const after = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
  if (opts.cursor !== undefined && !after) throw new BadCursorError('cursor is not one this API returned');
  const statuses = opts.status ? [opts.status] : ['unresolved', 'partial'];
  const { rows } = await db.execute(sql`
    SELECT ${LINK_COLUMNS},
      to_char(l.event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_time
    FROM ${resourceUsageEventLinks} l
    WHERE l.status IN (${sql.join(
      statuses.map((s) => sql`${s}`),
      sql`, `,
    )})
      ${opts.from ? sql`AND l.event_time >= ${opts.from}::timestamptz` : sql``}
      ${opts.to ? sql`AND l.event_time < ${opts.to}::timestamptz` : sql``}
      ${after ? sql`AND (l.event_time, l.event_id) < (${after.time}::timestamptz, ${after.id}::uuid)` : sql``}
    ORDER BY l.event_time DESC, l.event_id DESC
    LIMIT ${opts.limit + 1}`);
  const page = rows.slice(0, opts.limit);
  const last = page[page.length - 1];
  return {
    links: page.map(toLink),
    next_cursor: rows.length > opts.limit && last ? encodeCursor(String(last.cursor_time), String(last.event_id)) : null,
  };
}

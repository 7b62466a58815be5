import { type SQL, sql } from 'drizzle-orm';
import type { DirectoryKind, DirectoryListQuery } from '../../contracts/directory.ts';
import type { Database } from '../client.ts';
import { allocations, projects, users } from '../schema/index.ts';

const ts = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

export class BadDirectoryCursorError extends Error {
  override name = 'BadDirectoryCursorError';
}

/** A keyset cursor: the last id of the page, base64 of its UTF-8. */
export const encodeIdCursor = (id: string) => btoa(String.fromCharCode(...new TextEncoder().encode(id)));
export function decodeIdCursor(cursor: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(cursor), (ch) => ch.charCodeAt(0)));
  } catch {
    throw new BadDirectoryCursorError('cursor is not one this API returned');
  }
}

const SELECTS: Record<DirectoryKind, { from: SQL; columns: SQL; project: SQL }> = {
  projects: {
    from: sql`${projects} t`,
    columns: sql`t.directory_id AS id, t.name, t.active, ${ts('t.updated_at')} AS updated_at`,
    project: sql`t.directory_id`,
  },
  users: {
    from: sql`${users} t LEFT JOIN ${projects} p ON p.id = t.default_project_id`,
    columns: sql`t.directory_id AS id, t.username, t.email, t.external_id AS oidc_sub, p.directory_id AS default_project_id,
      t.active, ${ts('t.updated_at')} AS updated_at`,
    project: sql`p.directory_id`,
  },
  allocations: {
    from: sql`${allocations} t JOIN ${projects} p ON p.id = t.project_id`,
    columns: sql`t.directory_id AS id, p.directory_id AS project_id, t.kind, ${ts('t.valid_from')} AS valid_from,
      ${ts('t.valid_to')} AS valid_to, t.grants, t.payload, t.active, ${ts('t.updated_at')} AS updated_at`,
    project: sql`p.directory_id`,
  },
};

/**
 * The directory's records of one kind, as the allocation system sent them (rows made before the directory sync,
 * which have no directory id, are not listed), ordered by id, filtered by activity and project.
 */
export async function listDirectory(
  db: Database,
  kind: DirectoryKind,
  q: DirectoryListQuery,
): Promise<{ records: Record<string, unknown>[]; next_cursor: string | null }> {
  const after = q.cursor === undefined ? undefined : decodeIdCursor(q.cursor);
  const s = SELECTS[kind];
  const conditions = [
    sql`t.directory_id IS NOT NULL`,
    q.active === undefined ? undefined : sql`t.active = ${q.active}`,
    q.project === undefined ? undefined : sql`${s.project} = ${q.project}`,
    after === undefined ? undefined : sql`t.directory_id > ${after}`,
  ].filter((c): c is SQL => c !== undefined);
  const { rows } = await db.execute(sql`
    SELECT ${s.columns} FROM ${s.from} WHERE ${sql.join(conditions, sql` AND `)}
    ORDER BY t.directory_id LIMIT ${q.limit + 1}`);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { records: page, next_cursor: rows.length > q.limit && last ? encodeIdCursor(String(last.id)) : null };
}

import { type SQL, sql } from 'drizzle-orm';
import { check, type PgColumn } from 'drizzle-orm/pg-core';
import { MAX_DIRECTORY_ID_CHARS } from '../../contracts/directory.ts';

/** The allocation system's id of a directory record: at most MAX_DIRECTORY_ID_CHARS characters, never empty. */
export const directoryIdCheck = (table: string, column: PgColumn) =>
  check(
    `${table}_directory_id_length`,
    sql`${column} IS NULL OR char_length(${column}) BETWEEN 1 AND ${sql.raw(String(MAX_DIRECTORY_ID_CHARS))}` as SQL,
  );

/**
 * Wire schemas of rows that routes return as they are stored: derived from the tables (drizzle-zod),
 * never restated. They live here, not in contracts/, because they are bound to the tables.
 */
import '@hono/zod-openapi'; // adds `.openapi()` to zod's schemas
import { createSelectSchema } from 'drizzle-zod';
import { collectionRuns } from './schema/collection.ts';

/** A collection run as the operator routes return it: the table's row. */
export const CollectionRunSchema = createSelectSchema(collectionRuns).openapi('CollectionRun');

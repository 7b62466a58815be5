import { z } from '@hono/zod-openapi';
import { createSelectSchema } from 'drizzle-zod';
import { collectionRuns } from '../db/schema/collection.ts';

/** A collection run as the operator routes return it: the table's row, derived, not restated. */
export const CollectionRunSchema = createSelectSchema(collectionRuns).openapi('CollectionRun');
export type CollectionRunView = z.infer<typeof CollectionRunSchema>;

export const ClusterCollectionStatusSchema = z
  .object({
    cluster: z.string(),
    relay: z.string().openapi({ description: 'Relay URL (no secret)' }),
    through_day: z.string().nullable().openapi({ description: 'Every UTC day up to this one is collected; null: never' }),
    queued: z.number().int(),
    failed: z.number().int(),
  })
  .openapi('ClusterCollectionStatus');

export const BackfillRequestSchema = z
  .object({
    cluster: z.string().min(1),
    from: z.iso.date().openapi({ example: '2026-03-01' }),
    to: z.iso.date().openapi({ example: '2026-03-07' }),
  })
  .refine((b) => b.to >= b.from, { path: ['to'], message: 'must not be before from' })
  .openapi('BackfillRequest');

export const BackfillResponseSchema = z
  .object({ cluster: z.string(), days: z.array(z.string()), enqueued: z.number().int() })
  .openapi('BackfillResponse');

/** Most days one backfill may queue. */
export const MAX_BACKFILL_DAYS = 366;

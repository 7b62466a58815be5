import { z } from '@hono/zod-openapi';
import { inYearRange, YEAR_RANGE_MESSAGE } from './safe-text.ts';

/** Where a (cluster, UTC day)'s collection stands. */
export const COLLECTION_DAY_STATUSES = ['queued', 'succeeded', 'failed'] as const;
export type CollectionDayStatus = (typeof COLLECTION_DAY_STATUSES)[number];
/** What started a collection run: the daily cron or an operator's backfill. */
export const RUN_TRIGGERS = ['cron', 'backfill'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
export const RUN_STATUSES = ['succeeded', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

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
    from: z.iso
      .date()
      .refine((d) => inYearRange(`${d}T00:00:00Z`), YEAR_RANGE_MESSAGE)
      .openapi({ example: '2026-03-01' }),
    to: z.iso
      .date()
      .refine((d) => inYearRange(`${d}T00:00:00Z`), YEAR_RANGE_MESSAGE)
      .openapi({ example: '2026-03-07' }),
  })
  .refine((b) => b.to >= b.from, { path: ['to'], message: 'must not be before from' })
  .openapi('BackfillRequest');

export const BackfillResponseSchema = z
  .object({ cluster: z.string(), days: z.array(z.string()), enqueued: z.number().int() })
  .openapi('BackfillResponse');

/** Most days one backfill may queue. */
export const MAX_BACKFILL_DAYS = 366;

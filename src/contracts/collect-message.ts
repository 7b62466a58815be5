import { z } from 'zod';
import { RUN_TRIGGERS } from './collection.ts';

/** One message on the collect queue: collect this UTC day from this cluster's relay. */
export const CollectMessageSchema = z.object({
  cluster: z.string().min(1),
  day: z.iso.date(),
  trigger: z.enum(RUN_TRIGGERS),
});
export type CollectMessage = z.infer<typeof CollectMessageSchema>;

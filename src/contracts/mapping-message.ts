import { z } from 'zod';

/** What ingest puts on the mapping queue after a successful write: the stored event ids. */
export const MappingMessageSchema = z.object({
  kind: z.literal('events'),
  event_ids: z.array(z.uuid()).min(1).max(1000),
});
export type MappingMessage = z.infer<typeof MappingMessageSchema>;

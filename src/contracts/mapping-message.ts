import { z } from 'zod';

const RFC3339 = z.iso.datetime({ offset: true });

/**
 * What the mapping queue carries: the ids of stored events (ingest puts them there after a
 * successful write), or a time range to map again (the operator's re-run, one message per UTC day).
 */
export const MappingMessageSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('events'),
    event_ids: z.array(z.uuid()).min(1).max(1000),
  }),
  z
    .object({ kind: z.literal('range'), from: RFC3339, to: RFC3339 })
    .refine((r) => Date.parse(r.to) > Date.parse(r.from), { path: ['to'], message: 'must be after from' }),
]);
export type MappingMessage = z.infer<typeof MappingMessageSchema>;

import type { RouteHandler } from '@hono/zod-openapi';
import { ingestEvents, MappingQueueError } from '../../../ingest/ingest-events.ts';
import type { AppEnv } from '../../app-env.ts';
import { ApiError } from '../../problem.ts';
import type { ingestRoute } from './ingest.routes.ts';

export const ingest: RouteHandler<typeof ingestRoute, AppEnv> = async (c) => {
  const { events } = c.req.valid('json');
  try {
    const result = await ingestEvents(c.var.services, events);
    return c.json(result, 200);
  } catch (err) {
    if (err instanceof MappingQueueError) {
      throw new ApiError({
        code: 'queue_unavailable',
        detail: 'the events were stored but could not be handed to mapping; re-send the same request',
        headers: { 'Retry-After': '5' },
      });
    }
    throw err;
  }
};

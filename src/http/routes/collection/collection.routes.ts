import { z } from '@hono/zod-openapi';
import { BackfillRequestSchema, BackfillResponseSchema, ClusterCollectionStatusSchema, MAX_BACKFILL_DAYS } from '../../../contracts/collection.ts';
import { CollectionRunSchema } from '../../../db/row-schemas.ts';
import { requireAdminKey } from '../../middleware/auth.ts';
import { jsonBody } from '../../middleware/json-body.ts';
import { type ApiRouteConfig, apiRoute } from '../../operations.ts';
import { ADMIN_KEY_SCHEME } from '../../security.ts';

const operator = {
  tags: ['operations'],
  access: ADMIN_KEY_SCHEME,
  middleware: [requireAdminKey],
} satisfies Partial<ApiRouteConfig>;

export const runsRoute = apiRoute({
  ...operator,
  operationId: 'listCollectionRuns',
  method: 'get',
  path: '/admin/collection/runs',
  summary: 'Recent collection runs (newest first), with their counts and errors',
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      cluster: z.string().min(1).optional(),
    }),
  },
  responses: {
    200: { description: 'Runs', content: { 'application/json': { schema: z.object({ runs: z.array(CollectionRunSchema) }) } } },
  },
  problems: [422, 503],
});

export const statusRoute = apiRoute({
  ...operator,
  operationId: 'getCollectionStatus',
  method: 'get',
  path: '/admin/collection/status',
  summary: 'Per configured cluster: the watermark and the days queued or failed',
  responses: {
    200: {
      description: 'Status',
      content: { 'application/json': { schema: z.object({ clusters: z.array(ClusterCollectionStatusSchema) }) } },
    },
  },
  problems: [503],
});

export const backfillRoute = apiRoute({
  ...operator,
  operationId: 'backfillCollection',
  method: 'post',
  path: '/admin/collection/backfill',
  middleware: [requireAdminKey, jsonBody(() => 16 * 1024)] as const,
  summary: `Collect a range of UTC days again (at most ${MAX_BACKFILL_DAYS}); safe to repeat`,
  request: { body: { required: true, content: { 'application/json': { schema: BackfillRequestSchema } } } },
  responses: {
    202: { description: 'Queued', content: { 'application/json': { schema: BackfillResponseSchema } } },
  },
  problems: [400, 404, 413, 415, 422, 503],
});

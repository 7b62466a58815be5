import {
  EventIdParamSchema,
  EventLinkSchema,
  ManualLinkRequestSchema,
  MAX_REMAP_DAYS,
  RemapRequestSchema,
  RemapResponseSchema,
  UnresolvedPageSchema,
  UnresolvedQuerySchema,
} from '../../../contracts/event-link.ts';
import { requireAdminKey } from '../../middleware/auth.ts';
import { jsonBody } from '../../middleware/json-body.ts';
import { type ApiRouteConfig, apiRoute } from '../../operations.ts';
import { ADMIN_KEY_SCHEME } from '../../security.ts';

const operator = { tags: ['links'], access: ADMIN_KEY_SCHEME } satisfies Partial<ApiRouteConfig>;
const SMALL_BODY = 16 * 1024;

export const getLinkRoute = apiRoute({
  ...operator,
  operationId: 'getEventLink',
  method: 'get',
  path: '/links/events/{event_id}',
  summary: 'The link of one usage event: its user, project and allocation, status and reasons',
  middleware: [requireAdminKey] as const,
  request: { params: EventIdParamSchema },
  responses: {
    200: { description: 'The link', content: { 'application/json': { schema: EventLinkSchema } } },
  },
  problems: [404, 422, 503],
});

export const listUnresolvedRoute = apiRoute({
  ...operator,
  operationId: 'listUnresolvedLinks',
  method: 'get',
  path: '/links/unresolved',
  summary: 'Links that are not resolved, newest event first, with the reasons to act on',
  description: 'Status `unresolved` and `partial` (or one of them). Paged: pass `next_cursor` back as `cursor`.',
  middleware: [requireAdminKey] as const,
  request: { query: UnresolvedQuerySchema },
  responses: {
    200: { description: 'One page of links', content: { 'application/json': { schema: UnresolvedPageSchema } } },
  },
  problems: [400, 422, 503],
});

export const setManualLinkRoute = apiRoute({
  ...operator,
  operationId: 'setManualLink',
  method: 'put',
  path: '/links/events/{event_id}',
  summary: 'Set a manual link (mapping never overwrites it)',
  middleware: [requireAdminKey, jsonBody(() => SMALL_BODY)] as const,
  request: {
    params: EventIdParamSchema,
    body: { required: true, content: { 'application/json': { schema: ManualLinkRequestSchema } } },
  },
  responses: {
    200: { description: 'The manual link as stored', content: { 'application/json': { schema: EventLinkSchema } } },
  },
  problems: [400, 404, 413, 415, 422, 503],
});

export const remapRoute = apiRoute({
  ...operator,
  operationId: 'remapLinks',
  method: 'post',
  path: '/links/remap',
  summary: 'Map again every event whose time_window_start is in [from, to) (queued; idempotent)',
  description: [
    `Sends one message per UTC day (at most ${MAX_REMAP_DAYS} days) to the mapping queue and answers at once.`,
    'Links are recomputed from the current users, projects and allocations; manual links are kept.',
    'Asking twice is harmless: a link whose outcome does not change is not rewritten.',
  ].join(' '),
  middleware: [requireAdminKey, jsonBody(() => SMALL_BODY)] as const,
  request: { body: { required: true, content: { 'application/json': { schema: RemapRequestSchema } } } },
  responses: {
    202: { description: 'Queued', content: { 'application/json': { schema: RemapResponseSchema } } },
  },
  problems: [400, 413, 415, 422, 503],
});

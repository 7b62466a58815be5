import { z } from '@hono/zod-openapi';
import { AlertListQuerySchema, AlertSchema, FingerprintSchema, SilenceRequestSchema } from '../../../contracts/alert.ts';
import { requireAdminKey } from '../../middleware/auth.ts';
import { type ApiRouteConfig, apiRoute } from '../../operations.ts';
import { ADMIN_KEY_SCHEME } from '../../security.ts';

const operator = {
  tags: ['alerts'],
  access: ADMIN_KEY_SCHEME,
  middleware: [requireAdminKey],
} satisfies Partial<ApiRouteConfig>;

export const listAlertsRoute = apiRoute({
  ...operator,
  operationId: 'listAlerts',
  method: 'get',
  path: '/admin/alerts',
  summary: 'Alerts: firing ones first (newest first), then resolved ones (most recently resolved first)',
  request: { query: AlertListQuerySchema },
  responses: {
    200: { description: 'Alerts', content: { 'application/json': { schema: z.object({ alerts: z.array(AlertSchema) }) } } },
  },
  problems: [422, 503],
});

export const silenceAlertRoute = apiRoute({
  ...operator,
  operationId: 'silenceAlert',
  method: 'post',
  path: '/admin/alerts/{fingerprint}/silence',
  summary: 'Send no notification for this alert until a time (a time in the past lifts the silence)',
  request: {
    params: z.object({ fingerprint: FingerprintSchema }),
    body: { required: true, content: { 'application/json': { schema: SilenceRequestSchema } } },
  },
  responses: {
    200: { description: 'The alert, silenced', content: { 'application/json': { schema: AlertSchema } } },
  },
  problems: [400, 404, 415, 422, 503],
});

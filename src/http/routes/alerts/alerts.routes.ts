import { createRoute, z } from '@hono/zod-openapi';
import { AlertListQuerySchema, AlertSchema, FingerprintSchema, SilenceRequestSchema } from '../../../contracts/alert.ts';
import { requireAdminKey } from '../../middleware/auth.ts';
import { problemResponses } from '../../problem.ts';
import { ADMIN_KEY_SCHEME } from '../../security.ts';

const operator = {
  tags: ['alerts'],
  security: [{ [ADMIN_KEY_SCHEME]: [] }],
  middleware: [requireAdminKey],
};

export const listAlertsRoute = createRoute({
  ...operator,
  operationId: 'listAlerts',
  method: 'get',
  path: '/admin/alerts',
  summary: 'Alerts: firing ones first (newest first), then resolved ones (most recently resolved first)',
  request: { query: AlertListQuerySchema },
  responses: {
    200: { description: 'Alerts', content: { 'application/json': { schema: z.object({ alerts: z.array(AlertSchema) }) } } },
    ...problemResponses(401, 422, 503),
  },
});

export const silenceAlertRoute = createRoute({
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
    ...problemResponses(400, 401, 404, 415, 422, 503),
  },
});

import { createRoute, z } from '@hono/zod-openapi';
import { requireReadKey } from '../../middleware/auth.ts';
import { problemResponses } from '../../problem.ts';
import { ADMIN_KEY_SCHEME, READ_KEY_SCHEME } from '../../security.ts';

export const metricsRoute = createRoute({
  operationId: 'getMetrics',
  tags: ['metrics'],
  security: [{ [READ_KEY_SCHEME]: [] }, { [ADMIN_KEY_SCHEME]: [] }],
  middleware: [requireReadKey],
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics: collection lag and runs, events and links of the last complete day, allocation shares, alerts',
  description:
    'Text exposition format 0.0.4, computed from the database at scrape time. Scrape it with `authorization.credentials` set to a read key (docs/alerts.md).',
  responses: {
    200: {
      description: 'The exposition',
      content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: z.string().openapi({ example: '# HELP zeus_collection_lag_days …' }) } },
    },
    ...problemResponses(401, 422, 503),
  },
});

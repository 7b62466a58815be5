import { z } from '@hono/zod-openapi';
import { EXPOSITION_CONTENT_TYPE } from '../../../reporting/exposition.ts';
import { requireReadKey } from '../../middleware/auth.ts';
import { apiRoute } from '../../operations.ts';
import { READ_KEY_SCHEME } from '../../security.ts';

export const metricsRoute = apiRoute({
  operationId: 'getMetrics',
  tags: ['metrics'],
  access: READ_KEY_SCHEME,
  middleware: [requireReadKey],
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics: collection lag and runs, events and links of the last complete day, allocation shares, alerts',
  description:
    'Text exposition format 0.0.4, computed from the database at scrape time. Scrape it with a read key (or an operator key) as a Bearer token (docs/alerts.md).',
  responses: {
    200: {
      description: 'The exposition',
      content: { [EXPOSITION_CONTENT_TYPE]: { schema: z.string().openapi({ example: '# HELP zeus_collection_lag_days …' }) } },
    },
  },
  problems: [503],
});

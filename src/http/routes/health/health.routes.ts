import { z } from '@hono/zod-openapi';
import { apiRoute } from '../../operations.ts';

export const HealthSchema = z
  .object({
    status: z.literal('ok'),
    database: z.object({ status: z.literal('ok'), latency_ms: z.number() }),
  })
  .openapi('Health');
export type Health = z.infer<typeof HealthSchema>;

export const ServiceInfoSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    links: z.record(z.string(), z.string()),
  })
  .openapi('ServiceInfo');

export const rootRoute = apiRoute({
  operationId: 'getServiceInfo',
  method: 'get',
  path: '/',
  tags: ['service'],
  access: 'public',
  summary: 'What this service is, and where to go next',
  responses: {
    200: { description: 'Service information', content: { 'application/json': { schema: ServiceInfoSchema } } },
  },
  problems: [],
});

export const healthRoute = apiRoute({
  operationId: 'getHealth',
  method: 'get',
  path: '/health',
  tags: ['service'],
  access: 'public',
  summary: 'Liveness and database reachability (runs `select 1` through the driver)',
  responses: {
    200: { description: 'The Worker and its database answer', content: { 'application/json': { schema: HealthSchema } } },
  },
  problems: [503],
});

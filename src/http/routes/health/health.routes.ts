import { createRoute, z } from '@hono/zod-openapi';
import { problemResponses } from '../../problem.ts';

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

export const rootRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['service'],
  summary: 'What this service is, and where to go next',
  responses: {
    200: { description: 'Service information', content: { 'application/json': { schema: ServiceInfoSchema } } },
  },
});

export const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  tags: ['service'],
  summary: 'Liveness and database reachability (runs `select 1` through the driver)',
  responses: {
    200: { description: 'The Worker and its database answer', content: { 'application/json': { schema: HealthSchema } } },
    ...problemResponses(503),
  },
});

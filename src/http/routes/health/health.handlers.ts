import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../app-env.ts';
import { checkDatabase } from '../../../db/health.ts';
import type { healthRoute, rootRoute } from './health.routes.ts';

export const root: RouteHandler<typeof rootRoute, AppEnv> = (c) =>
  c.json(
    {
      name: 'zeus-resource-usage',
      description: 'Resource-usage pipeline: per-project usage of CPU, GPU, memory and walltime for research computing.',
      links: { health: '/health', openapi: '/openapi.json', explorer: '/doc' },
    },
    200,
  );

export const health: RouteHandler<typeof healthRoute, AppEnv> = async (c) => {
  const latency = await checkDatabase(c.var.services.db);
  return c.json({ status: 'ok' as const, database: { status: 'ok' as const, latency_ms: latency } }, 200);
};

import type { RouteHandler } from '@hono/zod-openapi';
import { EXPOSITION_CONTENT_TYPE, renderExposition } from '../../../reporting/exposition.ts';
import { metricFamilies, readMetricsSnapshot } from '../../../reporting/metrics.ts';
import type { AppEnv } from '../../app-env.ts';
import type { metricsRoute } from './metrics.routes.ts';

export const metrics: RouteHandler<typeof metricsRoute, AppEnv> = async (c) => {
  const { config, db } = c.var.services;
  const snapshot = await readMetricsSnapshot(db, config, new Date());
  return c.text(renderExposition(metricFamilies(snapshot)), 200, { 'Content-Type': EXPOSITION_CONTENT_TYPE, 'Cache-Control': 'no-store' });
};

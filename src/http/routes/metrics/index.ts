import { createRouter } from '../../router.ts';
import { metrics } from './metrics.handlers.ts';
import { metricsRoute } from './metrics.routes.ts';

export const metricsRouter = createRouter().openapi(metricsRoute, metrics);

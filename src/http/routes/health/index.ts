import { createRouter } from '../../router.ts';
import { health, root } from './health.handlers.ts';
import { healthRoute, rootRoute } from './health.routes.ts';

export const healthRouter = createRouter().openapi(rootRoute, root).openapi(healthRoute, health);

import type { App } from '../../app.ts';
import { health, root } from './health.handlers.ts';
import { healthRoute, rootRoute } from './health.routes.ts';

export function registerHealth(app: App): void {
  app.openapi(rootRoute, root).openapi(healthRoute, health);
}

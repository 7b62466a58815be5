import type { App } from '../../app.ts';
import { backfill, runs, status } from './collection.handlers.ts';
import { backfillRoute, runsRoute, statusRoute } from './collection.routes.ts';

export function registerCollection(app: App): void {
  app.openapi(runsRoute, runs).openapi(statusRoute, status).openapi(backfillRoute, backfill);
}

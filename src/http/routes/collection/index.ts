import { createRouter } from '../../router.ts';
import { backfill, runs, status } from './collection.handlers.ts';
import { backfillRoute, runsRoute, statusRoute } from './collection.routes.ts';

export const collectionRouter = createRouter().openapi(runsRoute, runs).openapi(statusRoute, status).openapi(backfillRoute, backfill);

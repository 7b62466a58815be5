import { createRouter } from '../../router.ts';
import { getUsage } from './usage.handlers.ts';
import { usageRoute } from './usage.routes.ts';

/** `GET /usage`: totals per time bucket and group (docs/api.md). */
export const usageRouter = createRouter().openapi(usageRoute, getUsage);

import type { App } from '../../app.ts';
import { getUsage } from './usage.handlers.ts';
import { usageRoute } from './usage.routes.ts';

/** `GET /usage`: totals per time bucket and group (issue 6). */
export function registerUsage(app: App): void {
  app.openapi(usageRoute, getUsage);
}

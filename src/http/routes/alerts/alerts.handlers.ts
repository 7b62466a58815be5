import type { RouteHandler } from '@hono/zod-openapi';
import { listAlerts, silenceAlert } from '../../../alerts/store.ts';
import type { AppEnv } from '../../app-env.ts';
import { ApiError } from '../../problem.ts';
import type { listAlertsRoute, silenceAlertRoute } from './alerts.routes.ts';

export const list: RouteHandler<typeof listAlertsRoute, AppEnv> = async (c) => {
  const { state } = c.req.valid('query');
  return c.json({ alerts: await listAlerts(c.var.services.db, { state, now: new Date() }) }, 200);
};

export const silence: RouteHandler<typeof silenceAlertRoute, AppEnv> = async (c) => {
  const { fingerprint } = c.req.valid('param');
  const { until, note } = c.req.valid('json');
  const alert = await silenceAlert(c.var.services.db, fingerprint, new Date(until).toISOString(), note);
  if (!alert) throw new ApiError({ code: 'not_found', detail: `no alert has the fingerprint ${fingerprint}` });
  return c.json(alert, 200);
};

import { createRouter } from '../../router.ts';
import { list, silence } from './alerts.handlers.ts';
import { listAlertsRoute, silenceAlertRoute } from './alerts.routes.ts';

export const alertsRouter = createRouter().openapi(listAlertsRoute, list).openapi(silenceAlertRoute, silence);

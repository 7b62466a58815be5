import { ALERT_CRON, evaluateAlerts } from './alerts/evaluate.ts';
import { planCollection } from './collector/plan.ts';
import { createApp } from './http/app.ts';
import type { SwaggerUiFile } from './http/explorer.ts';
import { log } from './lib/log.ts';
import { handleQueue } from './queues.ts';
import { getServices } from './services.ts';

/** The explorer's Swagger UI files, bundled as text modules (wrangler.toml `[[rules]] type = "Text"`). */
const swaggerUiModules: Record<SwaggerUiFile, () => Promise<{ default: string }>> = {
  'swagger-ui-bundle.js': () => import('swagger-ui-dist/swagger-ui-bundle.js'),
  'swagger-ui.css': () => import('swagger-ui-dist/swagger-ui.css'),
  'index.css': () => import('swagger-ui-dist/index.css'),
};

const app = createApp(getServices, { loadSwaggerUiFile: async (file) => (await swaggerUiModules[file]()).default });

export default {
  fetch: app.fetch,
  // Every scheduled event evaluates the alert rules; every one but the hourly alert cron also plans collection.
  async scheduled(controller, env) {
    const services = getServices(env);
    const now = new Date(controller.scheduledTime);
    if (controller.cron !== ALERT_CRON) {
      await planCollection(services, now).catch((err: unknown) => log.error('planning failed', { error: String(err) }));
    }
    await evaluateAlerts(services, now);
  },
  // The execution context is not needed: every consumer finishes its work before it returns.
  async queue(batch, env, _ctx) {
    await handleQueue(batch, getServices(env));
  },
} satisfies ExportedHandler<Env, unknown>;

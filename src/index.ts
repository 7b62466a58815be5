import { planCollection } from './collector/plan.ts';
import { createApp } from './http/app.ts';
import { handleQueue } from './queues.ts';
import { getServices } from './services.ts';

const app = createApp(getServices);

export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    await planCollection(getServices(env), new Date(controller.scheduledTime));
  },
  async queue(batch, env, ctx) {
    await handleQueue(batch, getServices(env), async (request) => app.fetch(request, env, ctx));
  },
} satisfies ExportedHandler<Env, unknown>;

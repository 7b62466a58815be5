import { createApp } from './http/app.ts';
import { getServices } from './services.ts';

const app = createApp(getServices);

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;

import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Env as HonoEnv } from 'hono';
import type { Services } from '../services.ts';

/** What every handler and middleware sees: the runtime's bindings, the services and the request id. */
export type AppEnv = HonoEnv & {
  Bindings: Record<string, unknown>;
  Variables: { services: Services; requestId: string };
};
export type App = OpenAPIHono<AppEnv>;

import { OpenAPIHono } from '@hono/zod-openapi';
import type { Hook } from '@hono/zod-openapi';
import type { Env as HonoEnv } from 'hono';
import type { ZodError } from 'zod';
import { describeDbError, isDatabaseUnavailable } from '../db/client.ts';
import type { Services } from '../services.ts';
import { formatPath } from '../contracts/problem.ts';
import { ApiError, problemResponse } from './problem.ts';
import { registerHealth } from './routes/health/index.ts';
import { registerCollection } from './routes/collection/index.ts';
import { registerIngest } from './routes/ingest/index.ts';
import { registerLinks } from './routes/links/index.ts';
import { registerOperator } from './routes/operator/index.ts';
import { registerUsage } from './routes/usage/index.ts';
import type { LoadSwaggerUiFile } from './explorer.ts';
import { registerOpenApi } from './openapi.ts';

export type AppEnv = HonoEnv & {
  Bindings: Record<string, unknown>;
  Variables: { services: Services; requestId: string };
};
export type App = OpenAPIHono<AppEnv>;

export function validationError(error: ZodError, target: string): ApiError {
  const errors = error.issues.map((i) => ({ path: formatPath(i.path) || target, message: i.message }));
  return new ApiError({
    code: 'validation_failed',
    detail: `${errors.length} invalid field${errors.length === 1 ? '' : 's'}: ${errors
      .slice(0, 5)
      .map((e) => e.path)
      .join(', ')}${errors.length > 5 ? ', …' : ''}`,
    errors,
  });
}

/** The one hook every route's validation failure goes through. */
const defaultHook: Hook<unknown, AppEnv, string, unknown> = (result, c) => {
  if (!result.success) {
    const target = (result as { target?: string }).target ?? 'body';
    return problemResponse(validationError(result.error as ZodError, target), c.var.requestId);
  }
};

/** What only the runtime's entry knows how to do (src/index.ts for the Worker, src/deno/main.ts for Deno). */
export interface AppRuntime {
  /** Read one of Swagger UI's files for the /doc explorer; without it they are 404 (apps built for other tests). */
  loadSwaggerUiFile?: LoadSwaggerUiFile;
}

/**
 * The HTTP app, independent of the runtime: the Worker entry, Deno or a test gives it a
 * way to build its services from the environment it was handed.
 */
export function createApp(resolveServices: (env: Record<string, unknown>) => Services, runtime: AppRuntime = {}): App {
  const app = new OpenAPIHono<AppEnv>({ defaultHook });

  app.use(async (c, next) => {
    c.set('requestId', c.req.header('cf-ray') ?? crypto.randomUUID());
    c.set('services', resolveServices(c.env ?? {}));
    await next();
  });

  registerHealth(app);
  registerIngest(app);
  registerLinks(app);
  registerCollection(app);
  registerUsage(app);
  registerOperator(app);
  registerOpenApi(app, runtime.loadSwaggerUiFile);

  app.notFound((c) =>
    problemResponse(new ApiError({ code: 'not_found', detail: `no route for ${c.req.method} ${c.req.path}` }), c.var.requestId),
  );

  app.onError((err, c) => {
    const requestId = c.var.requestId ?? crypto.randomUUID();
    if (err instanceof ApiError) return problemResponse(err, requestId);
    if (isDatabaseUnavailable(err)) {
      console.error(JSON.stringify({ level: 'error', requestId, msg: 'database unavailable', error: describeDbError(err) }));
      return problemResponse(
        new ApiError({
          code: 'database_unavailable',
          detail: 'the database could not be reached; nothing was written, retry later',
          headers: { 'Retry-After': '5' },
        }),
        requestId,
      );
    }
    console.error(JSON.stringify({ level: 'error', requestId, msg: 'unhandled error', error: describeDbError(err) }));
    return problemResponse(new ApiError({ code: 'internal', detail: `internal error; request id ${requestId}` }), requestId);
  });

  return app;
}

import { OpenAPIHono } from '@hono/zod-openapi';
import { ConfigError } from '../config.ts';
import { HTTPException } from 'hono/http-exception';
import { BAD_TEXT_MESSAGE, hasBadText } from '../contracts/safe-text.ts';
import { describeDbError, isDataError, isDatabaseUnavailable } from '../db/client.ts';
import { log } from '../lib/log.ts';
import type { Services } from '../services.ts';
import type { AppEnv } from './app-env.ts';
import type { LoadSwaggerUiFile } from './explorer.ts';
import { registerOpenApi } from './openapi.ts';
import { ApiError, ERROR_CODES, problemResponse } from './problem.ts';
import { defaultHook } from './router.ts';
import { alertsRouter } from './routes/alerts/index.ts';
import { allocationsRouter } from './routes/allocations/index.ts';
import { collectionRouter } from './routes/collection/index.ts';
import { directoryRouter } from './routes/directory/index.ts';
import { healthRouter } from './routes/health/index.ts';
import { ingestRouter } from './routes/ingest/index.ts';
import { linksRouter } from './routes/links/index.ts';
import { metricsRouter } from './routes/metrics/index.ts';
import { operatorRouter } from './routes/operator/index.ts';
import { usageRouter } from './routes/usage/index.ts';

/** What only the runtime's entry knows how to do (src/index.ts for the Worker, src/deno/main.ts for Deno). */
export interface AppRuntime {
  /** Read one of Swagger UI's files for the /doc explorer; without it they are 404 (apps built for other tests). */
  loadSwaggerUiFile?: LoadSwaggerUiFile;
}

/**
 * The HTTP app, independent of the runtime: the Worker entry, Deno or a test gives it a
 * way to build its services from the environment it was handed.
 */
/**
 * A NUL or a lone surrogate in the path or in a query parameter (name or value) is refused before any
 * route sees it: 422 naming the parameter (PostgreSQL cannot hold such text).
 */
function refuseBadText(url: string): void {
  const { pathname, searchParams } = new URL(url);
  const errors: { path: string; message: string }[] = [];
  let path = pathname;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    // not valid percent-encoding: the routes see it as it is (and match nothing that would store it)
  }
  if (hasBadText(path)) errors.push({ path: 'path', message: BAD_TEXT_MESSAGE });
  for (const [name, value] of searchParams) {
    if (hasBadText(name) || hasBadText(value)) errors.push({ path: hasBadText(name) ? 'query' : name, message: BAD_TEXT_MESSAGE });
  }
  if (errors.length > 0) {
    throw new ApiError({ code: 'validation_failed', detail: `invalid: ${errors.map((e) => e.path).join(', ')}`, errors });
  }
}

/** Configuration errors already logged by this isolate: one line each, not a stack per request. */
const loggedConfigErrors = new Set<string>();

export function createApp(resolveServices: (env: Record<string, unknown>) => Services, runtime: AppRuntime = {}) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook });
  app.use(async (c, next) => {
    c.set('requestId', c.req.header('cf-ray') ?? crypto.randomUUID());
    c.set('services', resolveServices(c.env ?? {}));
    refuseBadText(c.req.url);
    await next();
  });
  const routes = app
    .route('/', healthRouter)
    .route('/', ingestRouter)
    .route('/', linksRouter)
    .route('/', collectionRouter)
    .route('/', usageRouter)
    .route('/', directoryRouter)
    .route('/', allocationsRouter)
    .route('/', metricsRouter)
    .route('/', alertsRouter)
    .route('/', operatorRouter);
  registerOpenApi(app, runtime.loadSwaggerUiFile);

  app.notFound((c) => problemResponse(new ApiError({ code: 'not_found', detail: `no route for ${c.req.method} ${c.req.path}` }), c.var.requestId));

  app.onError((err, c) => {
    const requestId = c.var.requestId ?? crypto.randomUUID();
    if (err instanceof ApiError) return problemResponse(err, requestId);
    if (err instanceof ConfigError) {
      if (!loggedConfigErrors.has(err.message)) {
        loggedConfigErrors.add(err.message);
        log.error(err.message, { code: 'config_invalid' });
      }
      return problemResponse(
        new ApiError({ code: 'config_invalid', detail: `the service's configuration is invalid (see its log); request id ${requestId}` }),
        requestId,
      );
    }
    if (err instanceof HTTPException && err.status >= 400 && err.status < 500) {
      // Hono's own refusals (a body its validator could not parse, a wrong content type): the same problem shape.
      const code =
        err.status === 415
          ? 'unsupported_media_type'
          : err.status === 413
            ? 'payload_too_large'
            : err.status === 400
              ? 'malformed_json'
              : 'bad_request';
      return problemResponse(new ApiError({ code, detail: err.message || ERROR_CODES[code].title }), requestId);
    }
    if (isDataError(err)) {
      log.warn('value refused by the database', { requestId, error: describeDbError(err) });
      return problemResponse(
        new ApiError({ code: 'validation_failed', detail: 'a value is out of the range the database can hold; nothing was written' }),
        requestId,
      );
    }
    if (isDatabaseUnavailable(err)) {
      log.error('database unavailable', { requestId, error: describeDbError(err) });
      return problemResponse(
        new ApiError({
          code: 'database_unavailable',
          detail: 'the database could not be reached; nothing was written, retry later',
          headers: { 'Retry-After': '5' },
        }),
        requestId,
      );
    }
    log.error('unhandled error', { requestId, error: describeDbError(err) });
    return problemResponse(new ApiError({ code: 'internal', detail: `internal error; request id ${requestId}` }), requestId);
  });

  return routes;
}

/** The app's type, routes included: `hc<AppType>(url)` (hono/client) gives a typed RPC client. */
export type AppType = ReturnType<typeof createApp>;

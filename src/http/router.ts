import { type Hook, OpenAPIHono } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { formatPath } from '../contracts/problem.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError, problemResponse } from './problem.ts';

function validationError(error: ZodError, target: string): ApiError {
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
export const defaultHook: Hook<unknown, AppEnv, string, unknown> = (result, c) => {
  if (!result.success) {
    const target = (result as { target?: string }).target ?? 'body';
    return problemResponse(validationError(result.error as ZodError, target), c.var.requestId);
  }
};

/** A router for one resource (src/http/routes/<resource>/index.ts), mounted by app.ts with `.route()`. */
export const createRouter = () => new OpenAPIHono<AppEnv>({ defaultHook });

import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app.ts';
import { ApiError } from '../problem.ts';
import { matchesAnyKey } from './constant-time.ts';

/** Name of the OpenAPI security scheme operator routes reference. */
export const ADMIN_KEY_SCHEME = 'adminKey';

/** 401 unless `Authorization: Bearer <key>` matches one of ADMIN_API_KEY (constant time; one answer for every failure). */
export const requireAdminKey = createMiddleware<AppEnv>(async (c, next) => {
  const match = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
  if (!(await matchesAnyKey(match?.[1]?.trim() ?? '', c.var.services.config.ADMIN_API_KEY))) {
    throw new ApiError({
      code: 'unauthorized',
      detail: 'an operator key is required: Authorization: Bearer <key>',
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  await next();
});

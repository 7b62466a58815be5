import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app.ts';
import { ApiError } from '../problem.ts';
import { matchesAnyKey } from './constant-time.ts';

/** Name of the OpenAPI security scheme reporting routes reference. */
export const READ_KEY_SCHEME = 'readKey';

/**
 * 401 unless `Authorization: Bearer <key>` matches one of READ_API_KEY or ADMIN_API_KEY
 * (constant time over every key of both lists; one answer for every failure).
 */
export const requireReadKey = createMiddleware<AppEnv>(async (c, next) => {
  const { READ_API_KEY = [], ADMIN_API_KEY } = c.var.services.config;
  const match = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
  if (!(await matchesAnyKey(match?.[1]?.trim() ?? '', [...READ_API_KEY, ...ADMIN_API_KEY]))) {
    throw new ApiError({
      code: 'unauthorized',
      detail: 'a read key or an operator key is required: Authorization: Bearer <key>',
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  await next();
});

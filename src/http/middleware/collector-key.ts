import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app.ts';
import { ApiError } from '../problem.ts';
import { matchesAnyKey } from './constant-time.ts';

export const COLLECTOR_KEY_HEADER = 'X-Zeus-Collector-Key';

/** 401 unless X-Zeus-Collector-Key matches one of COLLECTOR_API_KEY; the same answer for missing and wrong. */
export const requireCollectorKey = createMiddleware<AppEnv>(async (c, next) => {
  const given = c.req.header(COLLECTOR_KEY_HEADER) ?? '';
  if (!(await matchesAnyKey(given, c.var.services.config.COLLECTOR_API_KEY))) {
    throw new ApiError({
      code: 'unauthorized',
      detail: `a valid collector key is required in ${COLLECTOR_KEY_HEADER}`,
      headers: { 'WWW-Authenticate': `ApiKey header="${COLLECTOR_KEY_HEADER}"` },
    });
  }
  await next();
});

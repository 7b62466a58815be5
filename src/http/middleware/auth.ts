import { createMiddleware } from 'hono/factory';
import type { Config } from '../../config.ts';
import { COLLECTOR_KEY_HEADER } from '../../contracts/usage-event.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../problem.ts';
import { matchesAnyKey } from './constant-time.ts';

/**
 * The key of `Authorization: Bearer <key>` (scheme in any case, the key trimmed); '' when the header is
 * missing or names another scheme. The one place a Bearer header is read (routes and the operator page).
 *
 * Not Hono's `bearerAuth`: it accepts only RFC 6750 token68 characters (a configured key may hold any
 * printable character), answers a malformed header with 400, and its plain-text failures would each
 * need overriding to stay the one problem+json 401 below.
 */
export const bearerToken = (authorization: string | undefined): string => /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim() ?? '';

/** 401 unless `Authorization: Bearer <key>` matches one of `keys` (constant time; one answer for every failure). */
function requireBearerKey(keys: (config: Config) => readonly string[], detail: string) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!(await matchesAnyKey(bearerToken(c.req.header('authorization')), keys(c.var.services.config)))) {
      throw new ApiError({ code: 'unauthorized', detail, headers: { 'WWW-Authenticate': 'Bearer' } });
    }
    await next();
  });
}

/** Operator routes: one of ADMIN_API_KEY. */
export const requireAdminKey = requireBearerKey((config) => config.ADMIN_API_KEY, 'an operator key is required: Authorization: Bearer <key>');

/** Reporting routes: one of READ_API_KEY or ADMIN_API_KEY (every key of both lists is compared). */
export const requireReadKey = requireBearerKey(
  ({ READ_API_KEY = [], ADMIN_API_KEY }) => [...READ_API_KEY, ...ADMIN_API_KEY],
  'a read key or an operator key is required: Authorization: Bearer <key>',
);

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

import type { RouteHandler } from '@hono/zod-openapi';
import { BadCursorError, findLink, listUnresolved } from '../../../db/queries/event-links.ts';
import { setManualLink } from '../../../mapping/manual-link.ts';
import { requestRemap } from '../../../mapping/remap.ts';
import type { AppEnv } from '../../app-env.ts';
import { ApiError } from '../../problem.ts';
import type { getLinkRoute, listUnresolvedRoute, remapRoute, setManualLinkRoute } from './links.routes.ts';

export const getLink: RouteHandler<typeof getLinkRoute, AppEnv> = async (c) => {
  const { event_id } = c.req.valid('param');
  const link = await findLink(c.var.services.db, event_id);
  if (!link) {
    throw new ApiError({ code: 'not_found', detail: `event ${event_id} has no link (not stored, or not mapped yet)` });
  }
  return c.json(link, 200);
};

export const unresolved: RouteHandler<typeof listUnresolvedRoute, AppEnv> = async (c) => {
  try {
    return c.json(await listUnresolved(c.var.services.db, c.req.valid('query')), 200);
  } catch (err) {
    if (err instanceof BadCursorError) {
      throw new ApiError({ code: 'bad_request', detail: `cursor: ${err.message}`, errors: [{ path: 'cursor', message: err.message }] });
    }
    throw err;
  }
};

export const putManualLink: RouteHandler<typeof setManualLinkRoute, AppEnv> = async (c) => {
  const { event_id } = c.req.valid('param');
  const outcome = await setManualLink(c.var.services.db, event_id, c.req.valid('json'));
  if (outcome.ok) return c.json(outcome.link, 200);
  if (outcome.missing.includes('event')) throw new ApiError({ code: 'not_found', detail: `no event ${event_id} is stored` });
  const errors = outcome.mismatch
    ? [{ path: 'allocation_id', message: 'belongs to another project than project_id' }]
    : outcome.missing.map((path) => ({ path, message: 'no such record in the allocation system' }));
  throw new ApiError({ code: 'validation_failed', detail: `invalid: ${errors.map((e) => e.path).join(', ')}`, errors });
};

export const remap: RouteHandler<typeof remapRoute, AppEnv> = async (c) => {
  const range = c.req.valid('json');
  let messages: number;
  try {
    messages = await requestRemap(c.var.services.mappingQueue, range);
  } catch {
    throw new ApiError({
      code: 'queue_unavailable',
      detail: 'the re-run could not be queued (part of it may have been); send the same request again',
      headers: { 'Retry-After': '5' },
    });
  }
  return c.json({ from: range.from, to: range.to, messages }, 202);
};

import type { RouteHandler } from '@hono/zod-openapi';
import type { DirectoryKind } from '../../../contracts/directory.ts';
import { BadDirectoryCursorError, listDirectory } from '../../../db/queries/directory.ts';
import { syncAndRemap } from '../../../mapping/directory-remap.ts';
import type { AppEnv } from '../../app-env.ts';
import { ApiError } from '../../problem.ts';
import type {
  listAllocationsRoute,
  listProjectsRoute,
  listUsersRoute,
  syncAllocationsRoute,
  syncProjectsRoute,
  syncUsersRoute,
} from './directory.routes.ts';

type SyncRoute = typeof syncProjectsRoute | typeof syncUsersRoute | typeof syncAllocationsRoute;

function sync<R extends SyncRoute>(kind: DirectoryKind): RouteHandler<R, AppEnv> {
  return (async (c: Parameters<RouteHandler<typeof syncProjectsRoute, AppEnv>>[0]) => {
    const { db, mappingQueue } = c.var.services;
    const query = c.req.valid('query');
    const outcome = await syncAndRemap({ db, queue: mappingQueue }, kind, c.req.valid('json'), query);
    if (outcome.status === 'invalid') {
      throw new ApiError({
        code: 'validation_failed',
        detail: `${outcome.errors.length} record${outcome.errors.length === 1 ? '' : 's'} cannot be stored, nothing was written: ${outcome.errors
          .slice(0, 5)
          .map((e) => e.path)
          .join(', ')}${outcome.errors.length > 5 ? ', …' : ''}`,
        errors: outcome.errors,
      });
    }
    if (outcome.status === 'conflict') {
      throw new ApiError({
        code: 'validation_failed',
        detail: 'another request changed the same records at the same moment; nothing was written, send the same request again',
      });
    }
    if (outcome.status === 'queue_failed') {
      throw new ApiError({
        code: 'queue_unavailable',
        detail: 'the records are stored, but their events could not all be queued for mapping; re-run mapping with POST /links/remap',
        headers: { 'Retry-After': '5' },
      });
    }
    return c.json(outcome.result, 200);
  }) as unknown as RouteHandler<R, AppEnv>;
}

export const syncProjects = sync<typeof syncProjectsRoute>('projects');
export const syncUsers = sync<typeof syncUsersRoute>('users');
export const syncAllocations = sync<typeof syncAllocationsRoute>('allocations');

async function list(c: { var: AppEnv['Variables'] }, kind: DirectoryKind, query: Parameters<typeof listDirectory>[2]) {
  try {
    const { records, next_cursor } = await listDirectory(c.var.services.db, kind, query);
    return { [kind]: records, next_cursor };
  } catch (err) {
    if (err instanceof BadDirectoryCursorError) throw new ApiError({ code: 'bad_request', detail: `cursor: ${err.message}` });
    throw err;
  }
}

export const listProjects: RouteHandler<typeof listProjectsRoute, AppEnv> = async (c) =>
  c.json((await list(c, 'projects', c.req.valid('query'))) as never, 200);
export const listUsers: RouteHandler<typeof listUsersRoute, AppEnv> = async (c) =>
  c.json((await list(c, 'users', c.req.valid('query'))) as never, 200);
export const listAllocations: RouteHandler<typeof listAllocationsRoute, AppEnv> = async (c) =>
  c.json((await list(c, 'allocations', c.req.valid('query'))) as never, 200);

import type { z } from '@hono/zod-openapi';
import {
  AllocationsPageSchema,
  DirectoryListQuerySchema,
  MAX_DIRECTORY_RECORDS,
  ProjectsPageSchema,
  SyncAllocationsRequestSchema,
  SyncProjectsRequestSchema,
  SyncQuerySchema,
  SyncResultSchema,
  SyncUsersRequestSchema,
  UsersPageSchema,
} from '../../../contracts/directory.ts';
import { requireAdminKey } from '../../middleware/auth.ts';
import { jsonBody } from '../../middleware/json-body.ts';
import { type ApiRouteConfig, apiRoute } from '../../operations.ts';
import { ADMIN_KEY_SCHEME } from '../../security.ts';

const operator = { tags: ['directory'], access: ADMIN_KEY_SCHEME } satisfies Partial<ApiRouteConfig>;
/** 5000 allocations with a GitOps payload each fit with room to spare. */
export const MAX_DIRECTORY_BODY = 16 * 1024 * 1024;

const SYNC_DESCRIPTION = [
  `Up to ${MAX_DIRECTORY_RECORDS} records, upserted by the allocation system's \`id\`: answered with how many were inserted, updated`,
  'and unchanged; sending the same body again writes nothing. `?mode=full`: the body is the complete list, and every stored',
  'record of this kind it does not name becomes `active: false` (never deleted; old usage keeps its links); a list longer than',
  'one request is sent as several with the same `run` and `final=true` on the last. A record that cannot be stored is a 422',
  'naming it (`<kind>[i].<field>`) and nothing is written. A change that can alter a link (new records, a changed name,',
  'username, e-mail, OIDC subject, default project, validity or OpenStack payload) sends the events not resolved and the',
  'events linked to what changed to link mapping again; manual links stay.',
].join(' ');

function syncRoute<T extends z.ZodType>(kind: 'projects' | 'users' | 'allocations', operationId: string, schema: T, extra = '') {
  return apiRoute({
    ...operator,
    operationId,
    method: 'put',
    path: `/directory/${kind}`,
    summary: `Synchronise the allocation system's ${kind}`,
    description: `${SYNC_DESCRIPTION}${extra}`,
    middleware: [requireAdminKey, jsonBody(() => MAX_DIRECTORY_BODY)] as const,
    request: { query: SyncQuerySchema, body: { required: true, content: { 'application/json': { schema } } } },
    responses: {
      200: { description: 'Stored (and re-mapping queued)', content: { 'application/json': { schema: SyncResultSchema } } },
    },
    problems: [400, 413, 415, 422, 503],
  });
}

export const syncProjectsRoute = syncRoute('projects', 'syncDirectoryProjects', SyncProjectsRequestSchema);
export const syncUsersRoute = syncRoute(
  'users',
  'syncDirectoryUsers',
  SyncUsersRequestSchema,
  ' A username, e-mail (case-insensitive) or OIDC subject that another user has, here or stored, is a 422; a default project must exist.',
);
export const syncAllocationsRoute = syncRoute(
  'allocations',
  'syncDirectoryAllocations',
  SyncAllocationsRequestSchema,
  [
    ' The project must exist. Mapping charges an event to the project’s hpc allocation with the latest `valid_from` at or',
    'before the event’s time, so overlapping validities are allowed, and two active hpc allocations of one project with the',
    'same `valid_from` (which one is "the latest" would be ambiguous) are a 422; so is an OpenStack project named by',
    'active openstack allocations of two projects.',
  ].join(' '),
);

function listRoute<T extends z.ZodType>(kind: 'projects' | 'users' | 'allocations', operationId: string, schema: T) {
  return apiRoute({
    ...operator,
    operationId,
    method: 'get',
    path: `/directory/${kind}`,
    summary: `The synchronised ${kind}, by id (paged)`,
    description: 'Filters: `active`, `project`. Pass `next_cursor` back as `cursor` for the next page.',
    middleware: [requireAdminKey] as const,
    request: { query: DirectoryListQuerySchema },
    responses: {
      200: { description: 'One page', content: { 'application/json': { schema } } },
    },
    problems: [400, 422, 503],
  });
}

export const listProjectsRoute = listRoute('projects', 'listDirectoryProjects', ProjectsPageSchema);
export const listUsersRoute = listRoute('users', 'listDirectoryUsers', UsersPageSchema);
export const listAllocationsRoute = listRoute('allocations', 'listDirectoryAllocations', AllocationsPageSchema);

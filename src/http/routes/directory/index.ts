import { createRouter } from '../../router.ts';
import { listAllocations, listProjects, listUsers, syncAllocations, syncProjects, syncUsers } from './directory.handlers.ts';
import {
  listAllocationsRoute,
  listProjectsRoute,
  listUsersRoute,
  syncAllocationsRoute,
  syncProjectsRoute,
  syncUsersRoute,
} from './directory.routes.ts';

/** The directory sync (docs/directory.md): the allocation system's projects, users and allocations. */
export const directoryRouter = createRouter()
  .openapi(syncProjectsRoute, syncProjects)
  .openapi(syncUsersRoute, syncUsers)
  .openapi(syncAllocationsRoute, syncAllocations)
  .openapi(listProjectsRoute, listProjects)
  .openapi(listUsersRoute, listUsers)
  .openapi(listAllocationsRoute, listAllocations);

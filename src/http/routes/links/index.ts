import { createRouter } from '../../router.ts';
import { getLink, putManualLink, remap, unresolved } from './links.handlers.ts';
import { getLinkRoute, listUnresolvedRoute, remapRoute, setManualLinkRoute } from './links.routes.ts';

export const linksRouter = createRouter()
  .openapi(getLinkRoute, getLink)
  .openapi(setManualLinkRoute, putManualLink)
  .openapi(listUnresolvedRoute, unresolved)
  .openapi(remapRoute, remap);

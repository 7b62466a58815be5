import type { App } from '../../app.ts';
import { getLink, putManualLink, remap, unresolved } from './links.handlers.ts';
import { getLinkRoute, listUnresolvedRoute, remapRoute, setManualLinkRoute } from './links.routes.ts';

export function registerLinks(app: App): void {
  app
    .openapi(getLinkRoute, getLink)
    .openapi(setManualLinkRoute, putManualLink)
    .openapi(listUnresolvedRoute, unresolved)
    .openapi(remapRoute, remap);
}

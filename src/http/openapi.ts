/**
 * The API description and its explorer. `GET /openapi.json` is generated from the very `createRoute`
 * definitions and zod schemas the routes validate with (no second copy of any shape); `GET /doc` is
 * Swagger UI over it, served by this Worker alone (see explorer.ts). Every operation comes from `apiRoute()`
 * (operations.ts), which fills the conventions the contract promises (docs/api.md, "The OpenAPI contract");
 * `info.version` is package.json's, the version of the API and of the client package alike.
 */
// Import attributes: Deno requires them for JSON; esbuild (wrangler) and vite read them too.
import packageJson from '../../package.json' with { type: 'json' };
import { COLLECTOR_KEY_HEADER } from '../contracts/usage-event.ts';
import type { App } from './app-env.ts';
import { EXPLORER_PATH, type LoadSwaggerUiFile, registerExplorer } from './explorer.ts';
import { TAGS } from './operations.ts';
import { SECURITY_SCHEMES } from './security.ts';

export const OPENAPI_PATH = '/openapi.json';

const TITLE = 'Zeus resource usage API';
const DESCRIPTION = `Resource usage of research-computing projects (CPU, GPU, memory, walltime per project and day):
collectors send usage events in, allocation managers read usage out.

Errors are always \`application/problem+json\` (\`type\`, \`title\`, \`status\`, \`detail\`, \`code\`, \`requestId\`,
and \`errors: [{path, message}]\` when a request fails validation).

Collector routes need a collector key in the \`${COLLECTOR_KEY_HEADER}\` header; reporting routes a read key (or an
operator key) and operator routes an operator key, both as \`Authorization: Bearer <key>\`. In the explorer at
[${EXPLORER_PATH}](${EXPLORER_PATH}), press **Authorize** and enter it once; then **Try it out** sends real requests to
this deployment.`;

type OpenApiDocument = ReturnType<App['getOpenAPI31Document']>;

/** Register the security schemes, `GET /openapi.json` and the explorer. Call after every route. */
export function registerOpenApi(app: App, loadSwaggerUiFile?: LoadSwaggerUiFile): void {
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) {
    app.openAPIRegistry.registerComponent('securitySchemes', name, scheme);
  }

  // Built on first use, once per app: every route is registered by then.
  let document: OpenApiDocument | undefined;
  app.get(OPENAPI_PATH, (c) => {
    document ??= app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: { title: TITLE, version: packageJson.version, description: DESCRIPTION, license: { name: packageJson.license } },
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    });
    const { openapi, info, ...rest } = document;
    // The origin this request reached: "Try it out" then goes back to the same place, whatever the host name.
    const servers = [{ url: new URL(c.req.url).origin, description: 'This deployment' }];
    return c.json({ openapi, info, servers, ...rest }, 200, { 'Cache-Control': 'no-cache' });
  });

  registerExplorer(app, { title: TITLE, specUrl: OPENAPI_PATH, loadSwaggerUiFile });
}

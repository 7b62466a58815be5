/**
 * The API explorer at /doc: Swagger UI served entirely by this Worker, so it works on a site with no
 * internet. The page is a few hundred bytes of server-rendered HTML; the Swagger UI files come from the
 * swagger-ui-dist package, read through the runtime's own loader (the Worker: text modules, wrangler.toml
 * `[[rules]] type = "Text"`; Deno: the files in node_modules) on the first request that needs them, and
 * served under a versioned path, so browsers may keep them for a year.
 */
import swaggerUiPackage from 'swagger-ui-dist/package.json' with { type: 'json' };
import { html } from 'hono/html';
import type { App } from './app-env.ts';
import { ApiError } from './problem.ts';

export const EXPLORER_PATH = '/doc';
/** Our own files (the page's start-up script): they change with this service. */
export const EXPLORER_ASSETS_PATH = `${EXPLORER_PATH}/assets`;
/** Swagger UI's files: they change only with the swagger-ui-dist version, which is part of the path. */
export const SWAGGER_UI_ASSETS_PATH = `${EXPLORER_ASSETS_PATH}/swagger-ui-${swaggerUiPackage.version}`;

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Every file of swagger-ui-dist the page loads, with its content type. */
const SWAGGER_UI_FILES = { 'swagger-ui-bundle.js': JS, 'swagger-ui.css': CSS, 'index.css': CSS } as const;
export type SwaggerUiFile = keyof typeof SWAGGER_UI_FILES;
/** How the runtime reads one of those files as text (its entry supplies it: src/index.ts, src/deno/main.ts). */
export type LoadSwaggerUiFile = (file: SwaggerUiFile) => Promise<string>;
const isSwaggerUiFile = (name: string): name is SwaggerUiFile => Object.hasOwn(SWAGGER_UI_FILES, name);

/**
 * Only this origin, for everything: scripts and styles from files (no inline code), images from files or
 * the data: URLs inside swagger-ui.css, requests ("Try it out", the spec) to this origin only.
 */
export const EXPLORER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const NO_SNIFF = { 'X-Content-Type-Options': 'nosniff' };
const REVALIDATE = { ...NO_SNIFF, 'Cache-Control': 'no-cache' };
const IMMUTABLE = { ...NO_SNIFF, 'Cache-Control': 'public, max-age=31536000, immutable' };

/** The page: `html` escapes the title and the spec URL. */
function renderPage(title: string, specUrl: string) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · explorer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${SWAGGER_UI_ASSETS_PATH}/swagger-ui.css">
<link rel="stylesheet" href="${SWAGGER_UI_ASSETS_PATH}/index.css">
</head>
<body>
<div id="swagger-ui"><noscript>The explorer needs JavaScript. The API description is at <a href="${specUrl}">${specUrl}</a>.</noscript></div>
<script src="${SWAGGER_UI_ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="${EXPLORER_ASSETS_PATH}/explorer.js"></script>
</body>
</html>
`;
}

/** Swagger UI's start-up: the spec from this origin, no topbar, no outside validator, keys kept across reloads. */
function renderStartScript(specUrl: string): string {
  const options = {
    url: specUrl,
    dom_id: '#swagger-ui',
    layout: 'BaseLayout',
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    queryConfigEnabled: false,
    validatorUrl: 'none',
  };
  return `window.ui = SwaggerUIBundle(Object.assign(${JSON.stringify(options)}, { presets: [SwaggerUIBundle.presets.apis] }));\n`;
}

/**
 * GET /doc, its start-up script and Swagger UI's files; nothing here refers to another origin. Each file
 * is read once (a failed read is tried again on the next request); without `loadSwaggerUiFile` (an app
 * built only for tests of other routes) the files are 404.
 */
export function registerExplorer(app: App, opts: { title: string; specUrl: string; loadSwaggerUiFile?: LoadSwaggerUiFile | undefined }): void {
  const page = renderPage(opts.title, opts.specUrl);
  const startScript = renderStartScript(opts.specUrl);
  const loaded = new Map<SwaggerUiFile, Promise<string>>();
  const load = (file: SwaggerUiFile, read: LoadSwaggerUiFile) => {
    let text = loaded.get(file);
    if (!text) {
      text = read(file);
      text.catch(() => loaded.delete(file));
      loaded.set(file, text);
    }
    return text;
  };

  app.get(EXPLORER_PATH, (c) => c.html(page, 200, { ...REVALIDATE, 'Content-Security-Policy': EXPLORER_CSP, 'Referrer-Policy': 'no-referrer' }));
  app.get(`${EXPLORER_ASSETS_PATH}/explorer.js`, (c) => c.body(startScript, 200, { ...REVALIDATE, 'Content-Type': JS }));
  app.get(`${SWAGGER_UI_ASSETS_PATH}/:file`, async (c) => {
    const file = c.req.param('file');
    if (!isSwaggerUiFile(file) || !opts.loadSwaggerUiFile) {
      throw new ApiError({ code: 'not_found', detail: `no explorer asset ${c.req.path}` });
    }
    const text = await load(file, opts.loadSwaggerUiFile);
    return c.body(text, 200, { ...IMMUTABLE, 'Content-Type': SWAGGER_UI_FILES[file] });
  });
}

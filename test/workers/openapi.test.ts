import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { COLLECTOR_KEY_SCHEME } from '../../src/http/security.ts';

const ORIGIN = 'http://worker.test';
const get = (path: string) => exports.default.fetch(`${ORIGIN}${path}`);

type Operation = { summary?: string; security?: Record<string, string[]>[]; responses: Record<string, unknown> };
type Document = {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

async function getDocument(): Promise<Document> {
  const res = await get('/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Document;
}

/** Every `$ref` anywhere in the document. */
function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const v of value) refsIn(v, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document of this API, served from this origin', async () => {
    const doc = await getDocument();
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBe('Zeus resource usage API');
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(doc.info.description).toContain('X-Zeus-Collector-Key');
    expect(doc.servers).toEqual([{ url: ORIGIN, description: 'This deployment' }]);
    expect(doc.paths['/health']?.get?.responses).toHaveProperty('200');
    expect(doc.paths['/health']?.get?.responses).toHaveProperty('503');
    // The document and the explorer are not operations of the API.
    expect(Object.keys(doc.paths)).not.toContain('/openapi.json');
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/doc'))).toEqual([]);
  });

  it('describes the collector key and the ingest operation that needs it', async () => {
    const doc = await getDocument();
    expect(doc.components.securitySchemes[COLLECTOR_KEY_SCHEME]).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'X-Zeus-Collector-Key',
    });
    const ingest = doc.paths['/collector/resource-usage']?.post;
    expect(ingest, 'post /collector/resource-usage').toBeDefined();
    expect(ingest?.security).toEqual([{ [COLLECTOR_KEY_SCHEME]: [] }]);
    expect(Object.keys(ingest?.responses ?? {})).toEqual(expect.arrayContaining(['200', '401', '413', '415', '422', '503']));
    expect(doc.components.schemas).toHaveProperty('IngestRequest');
    expect(doc.components.schemas).toHaveProperty('Problem');
  });

  it('refers only to components it defines', async () => {
    const doc = await getDocument();
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const [, kind, name] = /^#\/components\/(\w+)\/(.+)$/.exec(ref) ?? [];
      expect((doc.components as Record<string, Record<string, unknown>>)[kind ?? '']?.[name ?? ''], ref).toBeDefined();
    }
  });
});

describe('GET /doc', () => {
  it('is a small HTML page whose every script, style and link is on this origin', async () => {
    const res = await get('/doc');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    expect(html.length).toBeLessThan(2048);
    const urls = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] ?? '');
    expect(urls.filter((u) => u.endsWith('.js'))).toHaveLength(2);
    expect(urls.filter((u) => u.endsWith('.css'))).toHaveLength(2);
    for (const url of urls) expect(url, url).toMatch(/^(\/(?!\/)|data:,$)/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('forbids every other origin in its Content-Security-Policy', async () => {
    const res = await get('/doc');
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...v]) => [name, v]),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    for (const name of ['script-src', 'style-src', 'connect-src']) expect(directives.get(name), name).toEqual(["'self'"]);
    expect(directives.get('img-src')).toEqual(["'self'", 'data:']);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp).not.toMatch(/https?:|\*|unsafe-/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves each asset the page loads with its content type and cache policy', async () => {
    const html = await (await get('/doc')).text();
    const assets = [...html.matchAll(/<(?:script src|link rel="stylesheet" href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    const expected: Record<string, { type: string; min: number; cache: RegExp; contains: string }> = {
      'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', min: 1_000_000, cache: /immutable/, contains: 'SwaggerUIBundle' },
      'swagger-ui.css': { type: 'text/css; charset=utf-8', min: 100_000, cache: /immutable/, contains: '.swagger-ui' },
      'index.css': { type: 'text/css; charset=utf-8', min: 100, cache: /immutable/, contains: 'box-sizing' },
      'explorer.js': { type: 'text/javascript; charset=utf-8', min: 100, cache: /^no-cache$/, contains: '"url":"/openapi.json"' },
    };
    expect(assets.map((a) => a.split('/').pop()).sort()).toEqual(Object.keys(expected).sort());
    for (const path of assets) {
      const want = expected[path.split('/').pop() ?? '']!;
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(want.type);
      expect(res.headers.get('cache-control'), path).toMatch(want.cache);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      const body = await res.text();
      expect(body.length, path).toBeGreaterThan(want.min);
      expect(body, path).toContain(want.contains);
    }
  });

  it('puts the Swagger UI version in the asset path and answers an unknown asset with a problem', async () => {
    const html = await (await get('/doc')).text();
    const dir = /"(\/doc\/assets\/swagger-ui-\d+\.\d+\.\d+)\/swagger-ui-bundle\.js"/.exec(html)?.[1];
    expect(dir).toBeDefined();
    for (const path of ['/doc/assets/swagger-ui-0.0.0/swagger-ui-bundle.js', `${dir}/constructor`, `${dir}/package.json`]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toBe('application/problem+json');
    }
  });
});

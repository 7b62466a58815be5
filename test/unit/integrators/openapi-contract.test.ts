/**
 * The contract integrators' tools read: `GET /openapi.json` as the Worker (`wrangler dev`) serves it.
 * - Redocly's CLI (`redocly lint`, recommended rules with the exceptions of redocly.yaml) finds no error and
 *   no warning, and does find them in a copy that breaks the conventions (so this test can fail).
 * - Every operation in the document, whoever added it, follows the conventions of apiRoute()
 *   (src/http/operations.ts): a camelCase unique operationId, declared tags, explicit security, 401 when
 *   keyed, 400/422 when it takes input, and every error as the shared Problem schema.
 * - Every example in it validates against its schema (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
 * - openapi-typescript generates types from the served document and an integrator's program, type-checked
 *   against them, calls the Worker through openapi-fetch: the seed's event is ingested, /usage is read and a
 *   422 comes back as a typed Problem.
 */
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_CURL_EVENT } from '../../support/events.ts';
import { type IntegratorProject, integratorProject, ROOT, run, startIntegratorWorker } from '../../support/integrator.ts';
import { TEST_COLLECTOR_KEY, TEST_READ_KEY } from '../../support/keys.ts';
import type { WranglerDev } from '../../support/wrangler-dev.ts';

type Json = Record<string, unknown>;
interface Operation {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface Document {
  tags?: { name: string; description?: string }[];
  info: { version: string; license?: { name: string } };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

let worker: WranglerDev;
let project: IntegratorProject;
let served: string;
let doc: Document;

beforeAll(async () => {
  worker = await startIntegratorWorker();
  const res = await fetch(`${worker.origin}/openapi.json`);
  expect(res.status).toBe(200);
  served = await res.text();
  doc = JSON.parse(served) as Document;
  project = integratorProject('openapi-integrator');
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  project?.remove();
});

/** Every operation of the document: method, path and the operation object. */
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
  );

/** `redocly lint` of a document written to the integrator's folder; its JSON report. */
async function redoclyLint(file: string, document: unknown) {
  project.write(file, JSON.stringify(document, null, 2));
  const out = await run(
    process.execPath,
    [join(ROOT, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', join(project.dir, file), '--config', join(ROOT, 'redocly.yaml'), '--format=json'],
    { cwd: project.dir, env: { REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' } },
  );
  const report = JSON.parse(out.stdout.slice(out.stdout.indexOf('{'))) as {
    totals: { errors: number; warnings: number };
    problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
  };
  return { ...out, report };
}

describe('GET /openapi.json, linted with Redocly', () => {
  it('has no error and no warning under the recommended rules', { timeout: 60_000 }, async () => {
    const { report } = await redoclyLint('openapi.json', doc);
    const found = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(found).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('reports a copy without operationId, security or license (the lint bites)', { timeout: 60_000 }, async () => {
    const broken = JSON.parse(served) as Document & { info: Json };
    const health = broken.paths['/health']!.get!;
    delete health.operationId;
    delete health.security;
    delete broken.info.license;
    const { report } = await redoclyLint('broken.json', broken);
    const rules = report.problems.map((p) => p.ruleId).sort();
    expect(rules).toEqual(expect.arrayContaining(['info-license', 'operation-operationId', 'security-defined']));
    expect(report.totals.errors).toBeGreaterThan(0);
  });
});

describe('every operation in the document', () => {
  it('has a unique camelCase operationId, declared tags and explicit security', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThanOrEqual(11);
    const declaredTags = new Set((doc.tags ?? []).map((t) => t.name));
    for (const t of doc.tags ?? []) expect(t.description, `tag ${t.name}`).toBeTruthy();
    const ids = ops.map(({ name, op }) => {
      expect(op.operationId, name).toMatch(/^[a-z][A-Za-z0-9]+$/);
      expect(op.tags?.length, `${name} tags`).toBeGreaterThan(0);
      for (const tag of op.tags ?? []) expect(declaredTags, `${name} tag ${tag}`).toContain(tag);
      expect(Array.isArray(op.security), `${name} security`).toBe(true);
      for (const requirement of op.security ?? [])
        for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes, `${name}: ${scheme}`).toHaveProperty(scheme);
      return op.operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
    // The names integrators' generated code already calls.
    expect(ids).toEqual(
      expect.arrayContaining(['getServiceInfo', 'getHealth', 'ingestUsageEvents', 'getUsage', 'getEventLink', 'listCollectionRuns']),
    );
    expect(doc.paths['/']?.get?.security).toEqual([]);
    expect(doc.paths['/health']?.get?.security).toEqual([]);
  });

  it('answers its errors as the shared Problem: 401 when it needs a key, 400 or 422 when it takes input', () => {
    for (const { name, op } of operations()) {
      const statuses = Object.keys(op.responses);
      for (const status of statuses.filter((s) => /^[45]/.test(s))) expect(op.responses[status]?.content, `${name} ${status}`).toEqual(PROBLEM);
      if ((op.security ?? []).length > 0) expect(statuses, `${name}: keyed`).toContain('401');
      if ((op.parameters ?? []).length > 0 || op.requestBody)
        expect(
          statuses.some((s) => s === '400' || s === '422'),
          `${name}: takes input`,
        ).toBe(true);
      expect(
        statuses.some((s) => /^2/.test(s)),
        `${name}: a success answer`,
      ).toBe(true);
    }
  });

  it('has a license and the version of package.json (the client package has the same)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string };
    expect(doc.info.version).toBe(pkg.version);
    expect(doc.info.license).toEqual({ name: pkg.license });
  });
});

describe('the examples in the document', () => {
  /** Every example with the JSON pointer of the schema it illustrates. */
  function examples(): { at: string; schema: string; value: unknown }[] {
    const found: { at: string; schema: string; value: unknown }[] = [];
    const pointerPart = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
    const walk = (node: unknown, pointer: string, isPropertyMap: boolean) => {
      if (Array.isArray(node)) {
        for (const [i, v] of node.entries()) walk(v, `${pointer}/${i}`, false);
        return;
      }
      if (!node || typeof node !== 'object') return;
      const o = node as Json;
      if (!isPropertyMap) {
        const schema = 'schema' in o ? `${pointer}/schema` : pointer;
        if ('example' in o) found.push({ at: `${pointer}/example`, schema, value: o.example });
        if (Array.isArray(o.examples)) for (const [i, value] of o.examples.entries()) found.push({ at: `${pointer}/examples/${i}`, schema, value });
        else if (o.examples && typeof o.examples === 'object') {
          for (const [k, ex] of Object.entries(o.examples as Record<string, { value?: unknown }>))
            found.push({ at: `${pointer}/examples/${pointerPart(k)}`, schema, value: ex.value });
        }
      }
      for (const [k, v] of Object.entries(o)) if (k !== 'example' && k !== 'examples') walk(v, `${pointer}/${pointerPart(k)}`, k === 'properties');
    };
    walk(doc, '', false);
    return found;
  }

  const validator = () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats.default(ajv);
    ajv.addSchema(JSON.parse(served) as object, 'openapi.json');
    return (schemaPointer: string, value: unknown) => {
      const validate = ajv.compile({ $ref: `openapi.json#${schemaPointer}` });
      return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    };
  };

  it('each validates against the schema it illustrates (Ajv, JSON Schema 2020-12)', () => {
    const all = examples();
    expect(all.length).toBeGreaterThanOrEqual(20);
    const check = validator();
    const invalid = all.map((e) => ({ at: e.at, errors: check(e.schema, e.value) })).filter((e) => e.errors.length > 0);
    expect(invalid).toEqual([]);
  });

  it('a wrong value fails the same check (the check bites)', () => {
    const check = validator();
    const dated = examples().find((e) => e.value === '2025-11-19T00:00:00Z');
    expect(dated).toBeDefined();
    expect(check(dated!.schema, 'yesterday')).not.toEqual([]);
    const problem = '/components/schemas/Problem';
    expect(check(problem, { type: '/problems/x', title: 'X', status: 422, detail: 'x', code: 'no_such_code', requestId: 'r' })).not.toEqual([]);
  });
});

describe('a client generated from the document (openapi-typescript + openapi-fetch)', () => {
  it('ingests the seed event, reads /usage and gets a 422 as a typed Problem', { timeout: 120_000 }, async () => {
    // The generator reads the document from the running Worker, as an integrator's build would.
    const generated = await run(
      process.execPath,
      [join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'), `${worker.origin}/openapi.json`, '--output', join(project.dir, 'zeus-api.d.ts')],
      { cwd: project.dir, env: { NO_COLOR: '1' } },
    );
    expect(generated.code, generated.stderr).toBe(0);
    const types = readFileSync(join(project.dir, 'zeus-api.d.ts'), 'utf8');
    for (const id of ['ingestUsageEvents', 'getUsage']) expect(types).toContain(`${id}: {`);

    // The project's one dependency: openapi-fetch (and its helper types), as `npm install openapi-fetch` gives.
    mkdirSync(join(project.dir, 'node_modules'), { recursive: true });
    for (const dep of ['openapi-fetch', 'openapi-typescript-helpers'])
      symlinkSync(join(ROOT, 'node_modules', dep), join(project.dir, 'node_modules', dep));
    project.write(
      'generated-client.ts',
      `import createClient from 'openapi-fetch';
import type { components, paths } from './zeus-api.js';

type Problem = components['schemas']['Problem'];
const zeus = createClient<paths>({ baseUrl: process.env.ZEUS_ENDPOINT! });
const collector = { 'X-Zeus-Collector-Key': process.env.ZEUS_API_KEY! };
const reader = { Authorization: \`Bearer \${process.env.ZEUS_READ_KEY!}\` };

const seed: components['schemas']['UsageEvent'] = ${JSON.stringify(SEED_CURL_EVENT)};
const ingested = await zeus.POST('/collector/resource-usage', { headers: collector, body: { events: [seed] } });
if (!ingested.data) throw new Error(\`ingest failed: \${ingested.response.status}\`);
const stored: number = ingested.data.inserted + ingested.data.updated + ingested.data.unchanged;
const id: string = ingested.data.events[0]!.id;

const usage = await zeus.GET('/usage', {
  headers: reader,
  params: { query: { from: '2025-11-19', to: '2025-11-20', group_by: 'cluster', cluster: 'metacentrum' } },
});
// 200 is JSON or CSV (Accept: text/csv); openapi-fetch parses JSON, the type says both.
const report = typeof usage.data === 'string' ? undefined : usage.data;
const row = report?.rows.find((r) => r.cluster === 'metacentrum');

const refused = await zeus.POST('/collector/resource-usage', {
  headers: collector,
  body: { events: [{ ...seed, time_window_end: 'yesterday' }] },
});
const problem: Problem | undefined = refused.error;
const firstPath: string | undefined = refused.error?.errors?.[0]?.path;

console.log(JSON.stringify({ stored, id, usageStatus: usage.response.status, ram: row?.ram_bytes_allocated, status: refused.response.status, problem, firstPath }));
`,
    );
    const compiled = await project.compile();
    expect(compiled.code, compiled.stdout).toBe(0);
    const out = await project.node('out/generated-client.js', {
      ZEUS_ENDPOINT: worker.origin,
      ZEUS_API_KEY: TEST_COLLECTOR_KEY,
      ZEUS_READ_KEY: TEST_READ_KEY,
    });
    expect(out.code, out.stderr.slice(-2000)).toBe(0);
    const result = JSON.parse(out.stdout) as {
      stored: number;
      id: string;
      usageStatus: number;
      ram: number;
      status: number;
      problem: Json;
      firstPath: string;
    };
    expect(result.stored).toBe(1);
    expect(result.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.usageStatus).toBe(200);
    expect(result.ram).toBeGreaterThanOrEqual(SEED_CURL_EVENT.metrics.ram_bytes_allocated);
    expect(result.status).toBe(422);
    expect(result.problem).toMatchObject({ status: 422, code: 'validation_failed', type: '/problems/validation_failed' });
    expect(result.firstPath).toBe('events[0].time_window_end');
  });
});

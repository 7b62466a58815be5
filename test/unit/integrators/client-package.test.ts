/**
 * The client as integrators get it: `npm run client:pack` makes one tarball; `npm install`ed into an empty
 * project outside this repository (nothing else installed, no registry needed), the README's example compiles
 * with `tsc` against the package's own declarations and, run with Node, sends the seed's event to the real
 * Worker. Bad input is refused before anything is sent, naming the field, and no output ever shows the key.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IntegratorProject, integratorProject, ROOT, run, startIntegratorWorker } from '../../support/integrator.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY } from '../../support/keys.ts';
import { SEED_CURL_EVENT } from '../../support/events.ts';
import type { WranglerDev } from '../../support/wrangler-dev.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const WRONG_KEY = 'wrong-key-that-must-never-be-printed-5a1c9e';

let worker: WranglerDev;
let project: IntegratorProject;
let packOutput: string;
let installed: string;

beforeAll(async () => {
  const [started, packed] = await Promise.allSettled([
    startIntegratorWorker(),
    run('npm', ['run', '-s', 'client:pack'], { cwd: ROOT, env: { npm_config_update_notifier: 'false' } }),
  ]);
  if (started.status === 'rejected') throw started.reason;
  worker = started.value;
  if (packed.status === 'rejected') throw packed.reason;
  expect(packed.value.code, packed.value.stderr).toBe(0);
  packOutput = packed.value.stdout;
  project = integratorProject('client-package');
  const tarball = join(ROOT, `dist/zeus-client-${VERSION}.tgz`);
  const install = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: project.dir, encoding: 'utf8' });
  expect(install.status, install.stderr).toBe(0);
  installed = join(project.dir, 'node_modules/zeus-client');
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  project?.remove();
});

/** The first ```ts block of a Markdown text. */
const firstTsBlock = (markdown: string) => /```ts\n([\s\S]*?)```/.exec(markdown)?.[1] ?? '';

describe('npm run client:pack', () => {
  it('makes a package of the API version with exports, types, engines, a README and no dependencies', () => {
    expect(packOutput).toMatch(
      new RegExp(`^client:pack: dist/zeus-client-${VERSION.replace(/\./g, '\\.')}\\.tgz \\(\\d+ KiB, \\d+ files, sha256 [0-9a-f]{64}\\)$`, 'm'),
    );
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      name: 'zeus-client',
      version: VERSION,
      type: 'module',
      exports: { '.': { types: './index.d.ts', default: './index.js' } },
      engines: { node: '>=20' },
    });
    expect(manifest).not.toHaveProperty('dependencies');
    expect(manifest).not.toHaveProperty('peerDependencies');
    // The installing project got the package and nothing else.
    expect(readdirSync(join(project.dir, 'node_modules')).filter((d) => !d.startsWith('.'))).toEqual(['zeus-client']);
    const files = readdirSync(installed).sort();
    expect(files).toEqual(expect.arrayContaining(['README.md', 'index.d.ts', 'index.js', 'package.json', 'wire.d.ts']));
    expect(files.filter((f) => !/\.(js|d\.ts|json|md)$/.test(f))).toEqual([]);
  });

  it('carries no server code and imports nothing: zod and the contracts are compiled in', () => {
    const code = readFileSync(join(installed, 'index.js'), 'utf8');
    const specifiers = [
      ...code.matchAll(/(?:^|[;}\s])(?:import|export)\s*[^;]*?\bfrom\s*["']([^"']+)["']/g),
      ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
    ].map((m) => m[1]);
    expect(specifiers).toEqual([]);
    for (const server of ['OpenAPIHono', 'drizzle', 'neondatabase', 'HTTPException', 'DATABASE_URL']) expect(code, server).not.toContain(server);
    // The declarations stand alone: every import is one of the package's own files.
    for (const file of readdirSync(installed).filter((f) => f.endsWith('.d.ts'))) {
      const text = readFileSync(join(installed, file), 'utf8');
      for (const [, from] of text.matchAll(/from '([^']+)'/g))
        expect(existsSync(join(installed, from!.replace(/\.js$/, '.d.ts'))), `${file}: ${from}`).toBe(true);
    }
  });

  it("has the README whose example (the seed's) compiles against the package and sends the event to the Worker", { timeout: 120_000 }, async () => {
    const readme = readFileSync(join(installed, 'README.md'), 'utf8');
    expect(readme).toContain(`npm install zeus-client-<version>.tgz`);
    const example = firstTsBlock(readme);
    expect(example).toContain("from 'zeus-client'");
    project.write('example.ts', example);
    const compiled = await project.compile();
    expect(compiled.code, compiled.stdout).toBe(0);

    const { code, stdout, stderr } = await project.node('out/example.js', { ZEUS_ENDPOINT: worker.origin, ZEUS_API_KEY: TEST_COLLECTOR_KEY });
    expect(code, stderr.slice(-2000)).toBe(0);
    expect(stdout.replace(/\s+/g, ' ')).toMatch(/\{ events: 1, inserted: 1, updated: 0, unchanged: 0, failed: 0, skipped: 0 \}/);
    const batch = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{"type":"batch"'))!) as Record<string, unknown>;
    expect(batch).toMatchObject({ type: 'batch', outcome: 'ok', status: 200, attempts: 1 });
    // The second send of the example is refused locally, naming the field.
    expect(stderr).toMatch(/^1 invalid field, nothing was sent: events\[0\]\.time_window_end: /m);
    expect(`${stdout}${stderr}`).not.toContain(TEST_COLLECTOR_KEY);
  });

  it('sends the seed curl event as stored rows the Worker answers for, refuses bad input and never prints the key', {
    timeout: 120_000,
  }, async () => {
    project.write(
      'integrator.ts',
      `import { createIngestClient, IngestValidationError, type SendReport, type UsageEventInput } from 'zeus-client';

const seed: UsageEventInput = ${JSON.stringify(SEED_CURL_EVENT)};
let requests = 0;
const counted = (request: Request) => {
  requests++;
  return fetch(request);
};
const notes: unknown[] = [];
const options = { endpoint: process.env.ZEUS_ENDPOINT!, fetch: counted, batchMax: 1, maxAttempts: 2, baseDelayMs: 1, onEvent: (e: unknown) => notes.push(e) };

const good = await createIngestClient({ ...options, apiKey: process.env.ZEUS_API_KEY! }).send([seed]);
const first = good.batches[0];
const id: string | undefined = first?.outcome === 'ok' ? first.response.events[0]?.id : undefined;

let refused: { message: string; issues: { index: number; path: string }[] } | undefined;
const before = requests;
try {
  await createIngestClient({ ...options, apiKey: process.env.ZEUS_API_KEY! }).send([seed, { ...seed, metrics: { cpu_time_seconds: -1 }, source: 'slurm' as 'pbs' }]);
} catch (err) {
  if (err instanceof IngestValidationError) refused = { message: err.message, issues: err.issues };
}
const sentForInvalid = requests - before;

const wrong: SendReport = await createIngestClient({ ...options, apiKey: process.env.WRONG_KEY! }).send([seed, seed]);
let badKey = '';
try {
  createIngestClient({ ...options, apiKey: process.env.WRONG_KEY + ' \\u00e9' });
} catch (err) {
  badKey = String(err);
}
console.log(JSON.stringify({ good, id, refused, sentForInvalid, wrong, badKey, notes }));
`,
    );
    const compiled = await project.compile();
    expect(compiled.code, compiled.stdout).toBe(0);
    const out = await project.node('out/integrator.js', { ZEUS_ENDPOINT: worker.origin, ZEUS_API_KEY: TEST_COLLECTOR_KEY, WRONG_KEY });
    expect(out.code, out.stderr.slice(-2000)).toBe(0);
    const result = JSON.parse(out.stdout) as {
      good: { ok: boolean; totals: Record<string, number> };
      id: string;
      refused: { message: string; issues: { index: number; path: string }[] };
      sentForInvalid: number;
      wrong: { ok: boolean; stopped: string; totals: Record<string, number>; batches: { status: number | null; outcome: string }[] };
      badKey: string;
    };
    expect(result.good.ok).toBe(true);
    expect(result.good.totals.events).toBe(1);
    expect(result.good.totals.inserted! + result.good.totals.updated! + result.good.totals.unchanged!).toBe(1);
    expect(result.id).toMatch(/^[0-9a-f-]{36}$/);
    // Stored: the day's usage report counts it.
    const usage = await fetch(`${worker.origin}/usage?from=2025-11-19&to=2025-11-20&group_by=cluster&cluster=metacentrum`, {
      headers: { Authorization: `Bearer ${TEST_ADMIN_KEY}` },
    });
    expect(usage.status).toBe(200);
    const rows = ((await usage.json()) as { rows: { cluster: string; events: number; ram_bytes_allocated: number }[] }).rows;
    expect(rows.find((r) => r.cluster === 'metacentrum')?.ram_bytes_allocated).toBeGreaterThanOrEqual(SEED_CURL_EVENT.metrics.ram_bytes_allocated);

    // Invalid events: nothing sent, every bad field named by its place in the caller's list.
    expect(result.sentForInvalid).toBe(0);
    expect(result.refused.issues.map((i) => i.path).sort()).toEqual(['events[1].metrics.cpu_time_seconds', 'events[1].source']);
    expect(result.refused.message).toMatch(/^2 invalid fields, nothing was sent: events\[1\]\./);

    // A wrong key: one 401, the rest skipped; a malformed key refused without being quoted.
    expect(result.wrong).toMatchObject({ ok: false, stopped: 'unauthorized', totals: { events: 2, failed: 1, skipped: 1 } });
    expect(result.wrong.batches.map((b) => [b.outcome, b.status])).toEqual([
      ['failed', 401],
      ['skipped', null],
    ]);
    expect(result.badKey).toMatch(/apiKey must be printable ASCII/);
    for (const key of [TEST_COLLECTOR_KEY, WRONG_KEY]) expect(`${out.stdout}${out.stderr}`).not.toContain(key);
  });
});

/**
 * An integrator's side of the API, for the tests of the published contract (test/unit/integrators): the real
 * Worker under `wrangler dev` with the test keys, and an empty project of theirs in a temporary folder, outside
 * this repository, where their TypeScript is compiled with `tsc` and run with Node.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY, TEST_READ_KEY } from './keys.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The Worker as deployed, on the test database, with the test keys. */
export function startIntegratorWorker(): Promise<WranglerDev> {
  return startWranglerDev({
    DATABASE_URL: inject('databaseUrl'),
    DATABASE_HTTP_URL: inject('gatewaySqlUrl'),
    COLLECTOR_API_KEY: TEST_COLLECTOR_KEY,
    READ_API_KEY: TEST_READ_KEY,
    ADMIN_API_KEY: TEST_ADMIN_KEY,
  });
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a program to its end (no shell), with a time limit. */
export function run(command: string, args: string[], opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export interface IntegratorProject {
  dir: string;
  write(file: string, text: string): void;
  /** `tsc -p .` with this repository's TypeScript (the project has none of its own). */
  compile(): Promise<Run>;
  /** `node <file>` in the project. */
  node(file: string, env?: Record<string, string>): Promise<Run>;
  remove(): void;
}

/**
 * An empty ES-module project with a strict tsconfig that compiles `*.ts` to `out/` for Node (NodeNext
 * resolution, as an npm package is resolved; library declarations checked too: skipLibCheck off).
 */
export function integratorProject(name: string): IntegratorProject {
  const dir = mkdtempSync(join(tmpdir(), `zeus-${name}-`));
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  };
  write('package.json', `${JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  write(
    'tsconfig.json',
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          types: [],
          outDir: 'out',
        },
        include: ['*.ts'],
      },
      null,
      2,
    )}\n`,
  );
  // What @types/node would give the README's example; the project has nothing installed but what the test adds.
  write('node-globals.d.ts', 'declare const process: { env: Record<string, string | undefined>; exitCode?: number };\n');
  return {
    dir,
    write,
    compile: () => run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir }),
    node: (file, env = {}) => run(process.execPath, [file], { cwd: dir, env }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

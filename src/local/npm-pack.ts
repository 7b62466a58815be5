/**
 * What the packers share (`npm run relay:pack`, `npm run client:pack`): a fresh staging folder under dist/,
 * its package.json, and `npm pack` of it into dist/ with the line that names the tarball and its sha256.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RootPackage {
  version: string;
  license: string;
  engines: Record<string, string>;
  scripts: Record<string, string>;
}

export const readRootPackage = (): RootPackage => JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as RootPackage;

/** An empty `dist/<name>` (whatever an earlier run left there is removed). */
export function freshStage(name: string): string {
  const stage = join(ROOT, 'dist', name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  return stage;
}

export function writePackageJson(stage: string, manifest: Record<string, unknown>): void {
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** `npm pack` the stage into dist/ and print `<label>: dist/<file> (size, files, sha256)`; returns the tarball's path. */
export function packStage(stage: string, label: string): string {
  const out = execFileSync('npm', ['pack', '--pack-destination', join(ROOT, 'dist'), '--json'], { cwd: stage, encoding: 'utf8' });
  const [packed] = JSON.parse(out) as { filename: string; size: number; entryCount: number }[];
  const tarball = join(ROOT, 'dist', packed!.filename);
  const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  console.log(`${label}: dist/${packed!.filename} (${(packed!.size / 1024).toFixed(0)} KiB, ${packed!.entryCount} files, sha256 ${sha256})`);
  return tarball;
}

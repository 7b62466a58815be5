/**
 * `npm run build` — prove the Worker bundles for deployment (`wrangler deploy --dry-run`), print its
 * size, and check that nothing local-only (gateway, relay, tests, PGlite, node pg) got into it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const outdir = 'dist';
rmSync(outdir, { recursive: true, force: true });
const run = spawnSync(
  process.execPath,
  ['node_modules/wrangler/bin/wrangler.js', 'deploy', '--dry-run', '--minify', '--outdir', outdir, '--metafile', join(outdir, 'meta.json')],
  { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
);
if (run.status !== 0) process.exit(run.status ?? 1);

const meta = JSON.parse(readFileSync(join(outdir, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
const forbidden = [/src\/local\//, /src\/relay\//, /src\/deno\//, /src\/deploy\//, /(^|\/)test\//, /@electric-sql\/pglite/, /node_modules\/pg\//];
const leaked = Object.keys(meta.inputs).filter((input) => forbidden.some((re) => re.test(input)));
if (leaked.length > 0) {
  console.error(`build: local-only code in the Worker bundle:\n  ${leaked.join('\n  ')}`);
  process.exit(1);
}

// Every module wrangler uploads (the Worker's code plus text modules such as the explorer's assets).
const modules = readdirSync(outdir).filter((f) => !f.endsWith('.map') && f !== 'meta.json' && f !== 'README.md');
let raw = 0;
let gzipped = 0;
for (const file of modules) {
  const bytes = readFileSync(join(outdir, file));
  const size = statSync(join(outdir, file)).size;
  const packed = gzipSync(bytes).length;
  raw += size;
  gzipped += packed;
  console.log(`build:   ${file.padEnd(60)} ${(size / 1024).toFixed(1).padStart(8)} KiB  ${(packed / 1024).toFixed(1).padStart(7)} KiB gzipped`);
}
console.log(
  `build: Worker bundle ${(raw / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped ` +
    `(Workers limit: 3 MiB gzipped on the free plan, 10 MiB paid); ${Object.keys(meta.inputs).length} inputs, none local-only`,
);

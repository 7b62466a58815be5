/**
 * `npm run relay:pack` — the relay as one file for a site: `dist/zeus-relay-<version>.tgz`, an npm package
 * of the self-contained relay bundle (`npm run relay:build`) (its dependencies are bundled in: nothing to install beside
 * Node), with the example systemd unit and environment file. A site unpacks it into /opt/zeus-relay or
 * installs it with `npm install --global` (docs/deploy.md, "The relay at a site").
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  engines: Record<string, string>;
  scripts: Record<string, string>;
};
/** The Node flags `npm run relay` starts the bundle with; the bin and the systemd unit use the same. */
const flags = / node ((?:--\S+ )*)dist\/relay\/main\.mjs/.exec(root.scripts.relay ?? '')?.[1]?.trim() ?? '';

// The build `npm run relay:build` runs, into the package's own folder (dist/relay may be in use).
const stage = join(ROOT, 'dist/relay-package');
rmSync(stage, { recursive: true, force: true });
const buildScript = root.scripts['relay:build'] ?? '';
if (!buildScript.includes(' --outdir=dist/relay '))
  throw new Error(`package.json's relay:build no longer writes --outdir=dist/relay: ${buildScript}`);
const build = spawnSync('sh', ['-c', buildScript.replace(' --outdir=dist/relay ', ` --outdir=${stage} `)], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}` },
});
if (build.status !== 0) process.exit(build.status ?? 1);
mkdirSync(join(stage, 'bin'));
mkdirSync(join(stage, 'deploy'));
writeFileSync(join(stage, 'bin/zeus-relay.mjs'), `#!/usr/bin/env -S node ${flags}\nimport '../main.mjs';\n`, { mode: 0o755 });
for (const file of ['zeus-relay.service', 'relay.env.example']) cpSync(join(ROOT, 'deploy', file), join(stage, 'deploy', file));
writeFileSync(
  join(stage, 'package.json'),
  `${JSON.stringify(
    {
      name: 'zeus-relay',
      version: root.version,
      description: 'The on-site relay of the Zeus resource-usage pipeline: serves PBS job records to the Worker over signed HTTPS.',
      type: 'module',
      private: true,
      bin: { 'zeus-relay': 'bin/zeus-relay.mjs' },
      engines: { node: root.engines.node },
    },
    null,
    2,
  )}\n`,
);
writeFileSync(
  join(stage, 'README.md'),
  `# zeus-relay ${root.version}

The on-site relay of the Zeus resource-usage pipeline, bundled: Node ${root.engines.node} is all it needs.

    node ${flags} main.mjs        # or: zeus-relay, when installed with npm install --global

Configuration comes from the environment (deploy/relay.env.example); deploy/zeus-relay.service runs it
as a hardened systemd service from /opt/zeus-relay. The full guide is docs/deploy.md in the repository.
`,
);

const out = execFileSync('npm', ['pack', '--pack-destination', join(ROOT, 'dist'), '--json'], { cwd: stage, encoding: 'utf8' });
const [packed] = JSON.parse(out) as { filename: string; size: number; entryCount: number }[];
const tarball = join(ROOT, 'dist', packed!.filename);
const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex');
console.log(`relay:pack: dist/${packed!.filename} (${(packed!.size / 1024).toFixed(0)} KiB, ${packed!.entryCount} files, sha256 ${sha256})`);

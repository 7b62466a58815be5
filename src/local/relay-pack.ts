/**
 * `npm run relay:pack` — the relay as one file for a site: `dist/zeus-relay-<version>.tgz`, an npm package
 * of the self-contained relay bundle (`npm run relay:build`) (its dependencies are bundled in: nothing to install beside
 * Node), with the example systemd unit and environment file. A site unpacks it into /opt/zeus-relay or
 * installs it with `npm install --global` (docs/deploy.md, "The relay at a site").
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshStage, packStage, ROOT, readRootPackage, writePackageJson } from './npm-pack.ts';

const root = readRootPackage();
/** The Node flags `npm run relay` starts the bundle with; the bin and the systemd unit use the same. */
const flags = / node ((?:--\S+ )*)dist\/relay\/main\.mjs/.exec(root.scripts.relay ?? '')?.[1]?.trim() ?? '';

// The build `npm run relay:build` runs, into the package's own folder (dist/relay may be in use).
const stage = freshStage('relay-package');
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
writePackageJson(stage, {
  name: 'zeus-relay',
  version: root.version,
  description: 'The on-site relay of the Zeus resource-usage pipeline: serves PBS job records to the Worker over signed HTTPS.',
  type: 'module',
  private: true,
  bin: { 'zeus-relay': 'bin/zeus-relay.mjs' },
  engines: { node: root.engines.node },
});
writeFileSync(
  join(stage, 'README.md'),
  `# zeus-relay ${root.version}

The on-site relay of the Zeus resource-usage pipeline, bundled: Node ${root.engines.node} is all it needs.

    node ${flags} main.mjs        # or: zeus-relay, when installed with npm install --global

Configuration comes from the environment (deploy/relay.env.example); deploy/zeus-relay.service runs it
as a hardened systemd service from /opt/zeus-relay. The full guide is docs/deploy.md in the repository.
`,
);

packStage(stage, 'relay:pack');

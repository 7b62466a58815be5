/**
 * The relay a site installs: `npm run relay:pack` makes one tarball; installed with npm into an empty
 * prefix (away from this repository's node_modules) it needs nothing else, and started as its systemd
 * unit starts it, unprivileged where this test can drop privileges, it serves a day over HTTPS. The
 * example unit and environment file agree with the package and the relay's configuration.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRelayRequest } from '../../../src/contracts/relay-signing.ts';
import { writeDemoAccountingLog } from '../../../src/local/demo-accounting.ts';
import { parseRelayConfig } from '../../../src/relay/config.ts';
import { readDevVars } from '../../../src/local/settings.ts';
import { parseJobStream, relayNodeFlags, TEST_RELAY_SECRET } from '../../support/relay-process.ts';
import { httpsGet, makeTestCertificate } from '../../support/tls.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const UNIT = readFileSync(join(ROOT, 'deploy/zeus-relay.service'), 'utf8');

let site: string;
let prefix: string;
let relay: ChildProcess | undefined;

beforeAll(() => {
  site = mkdtempSync(join(tmpdir(), 'zeus-relay-site-'));
  chmodSync(site, 0o755);
  prefix = join(site, 'prefix');
});

afterAll(() => {
  relay?.kill('SIGKILL');
  rmSync(site, { recursive: true, force: true });
});

/** Every `Key=value` of the unit's [Service] section (a key may repeat). */
function serviceDirectives(): Map<string, string[]> {
  const section = UNIT.slice(UNIT.indexOf('[Service]'), UNIT.indexOf('[Install]'));
  const directives = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) directives.set(m[1]!, [...(directives.get(m[1]!) ?? []), m[2]!]);
  }
  return directives;
}

describe('the relay package', () => {
  it('packs, installs with npm alone and serves a day over HTTPS as its unit runs it', { timeout: 180_000 }, async () => {
    const packed = spawnSync('npm', ['run', '-s', 'relay:pack'], { cwd: ROOT, encoding: 'utf8' });
    expect(packed.status, packed.stderr).toBe(0);
    const tarball = join(ROOT, `dist/zeus-relay-${VERSION}.tgz`);
    expect(packed.stdout).toContain(`dist/zeus-relay-${VERSION}.tgz`);
    execFileSync('npm', ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball], { cwd: site });
    const installed = join(prefix, 'lib/node_modules/zeus-relay');

    // Self-contained: no file of it imports or requires a module other than Node's own (pg-native is
    // pg's optional native binding, required only through pg.native, which the relay never uses).
    for (const dir of [installed, join(installed, 'chunks')]) {
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.mjs'))) {
        const code = readFileSync(join(dir, file), 'utf8');
        const specifiers = [
          ...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm),
          ...code.matchAll(/\b(?:import|require)\(\s*["']([^"']+)["']\s*\)/g),
        ].map((m) => m[1]!);
        const outside = specifiers.filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s) && s !== 'pg-native');
        expect(outside, file).toEqual([]);
      }
    }
    expect(readFileSync(join(prefix, 'bin/zeus-relay'), 'utf8')).toBe(
      `#!/usr/bin/env -S node ${relayNodeFlags().join(' ')}\nimport '../main.mjs';\n`,
    );

    // A site: accounting logs and a certificate, readable by anyone, written by no one but root.
    const accounting = join(site, 'accounting');
    await writeDemoAccountingLog({ dir: accounting, days: ['2026-04-02'], jobsPerDay: 25, timeZone: 'UTC', seed: 3 });
    const cert = await makeTestCertificate(site);
    for (const f of readdirSync(accounting)) chmodSync(join(accounting, f), 0o444);
    chmodSync(accounting, 0o555);
    chmodSync(cert.keyFile, 0o644);

    // As the unit starts it (ExecStart's command, from the installed package), as `nobody` with
    // no_new_privs when this test runs as root (setpriv, util-linux), from a folder with no node_modules.
    const [execStart] = serviceDirectives().get('ExecStart')!;
    const argv = execStart!.split(' ').map((a) => (a === '/opt/zeus-relay/main.mjs' ? join(installed, 'main.mjs') : a));
    const dropPrivileges = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
    const command = dropPrivileges ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--no-new-privs', ...argv] : argv;
    relay = spawn(command[0]!, command.slice(1), {
      cwd: site,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        RELAY_SECRETS: TEST_RELAY_SECRET,
        RELAY_HOST: '127.0.0.1',
        RELAY_PORT: '0',
        RELAY_ACCOUNTING_DIR: accounting,
        RELAY_TLS_CERT: cert.certFile,
        RELAY_TLS_KEY: cert.keyFile,
      },
    });
    let output = '';
    relay.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      relay!.stdout!.on('data', (d: Buffer) => {
        output += d.toString();
        const m = /"msg":"listening","url":"(https:\/\/[^"]+)"/.exec(output);
        if (m) resolve(m[1]!);
      });
      relay!.once('exit', (code) => reject(new Error(`the installed relay exited with ${code}:\n${output}`)));
    });
    expect(output).toContain('"parse_threads":2'); // the bundle's parse threads came along
    const path = '/v1/jobs?from=2026-04-02T00:00:00Z&to=2026-04-03T00:00:00Z';
    const answer = await httpsGet(`${url}${path}`, cert.cert, await signRelayRequest(TEST_RELAY_SECRET, 'GET', path));
    expect(answer.status, answer.body).toBe(200);
    const { records, summary } = parseJobStream(answer.body);
    expect(records).toHaveLength(25);
    expect(summary?.count).toBe(25);
    relay.kill('SIGTERM');
  });

  it('has a systemd unit with a dedicated user, read-only access, restart on failure and journald logs', () => {
    const d = serviceDirectives();
    const one = (key: string) => d.get(key)?.join(' ');
    expect(one('User')).toBe('zeus-relay');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('Restart')).toBe('on-failure');
    expect(one('StandardOutput')).toBe('journal');
    expect(one('EnvironmentFile')).toBe('/etc/zeus-relay/relay.env');
    expect(one('ReadOnlyPaths')).toMatch(/server_priv\/accounting$/);
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    // Nothing but binding port 443, and that only where the relay serves TLS itself.
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    expect(one('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
    // The flags `npm run relay` runs the bundle with, on the package's main.
    expect(one('ExecStart')).toBe(['/usr/bin/node', ...relayNodeFlags(), '/opt/zeus-relay/main.mjs'].join(' '));
    // systemd's own check, where systemd is installed: no unknown key, no bad value.
    if (spawnSync('systemd-analyze', ['--version']).status === 0) {
      const verify = spawnSync('systemd-analyze', ['verify', join(ROOT, 'deploy/zeus-relay.service')], { encoding: 'utf8' });
      expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('');
    }
  });

  it('has an example environment file the relay accepts once its secret is filled in', () => {
    const example = readDevVars(join(ROOT, 'deploy/relay.env.example'));
    expect(Object.keys(example).every((k) => k.startsWith('RELAY_'))).toBe(true);
    const config = parseRelayConfig({ ...example, RELAY_SECRETS: TEST_RELAY_SECRET });
    expect(config.tls).toEqual({ certFile: '/etc/zeus-relay/tls/relay.crt', keyFile: '/etc/zeus-relay/tls/relay.key' });
    expect(config).toMatchObject({ host: '0.0.0.0', port: 443 });
    expect(config.accounting?.dir).toBe(serviceDirectives().get('ReadOnlyPaths')![0]);
  });
});

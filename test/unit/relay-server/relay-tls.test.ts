/**
 * The relay over TLS, as a site runs it: the built bundle with a self-signed certificate made here
 * (RELAY_TLS_CERT, RELAY_TLS_KEY) serves its signed routes over HTTPS only; it refuses plain HTTP on an
 * address other than loopback unless RELAY_ALLOW_PLAIN_HTTP=1; it refuses unreadable or mismatched PEM
 * files naming the key; and SIGHUP makes it serve a renewed certificate without a restart.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_HEALTH_PATH } from '../../../src/contracts/relay-api.ts';
import { signRelayRequest } from '../../../src/contracts/relay-signing.ts';
import { isLoopbackHost } from '../../../src/relay/tls.ts';
import { startRelayProcess, TEST_RELAY_SECRET } from '../../support/relay-process.ts';
import { httpsGet, makeTestCertificate, type TestCertificate } from '../../support/tls.ts';

let dir: string;
let cert: TestCertificate;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zeus-relay-tls-'));
  cert = await makeTestCertificate(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tlsEnv = (c: TestCertificate) => ({ RELAY_TLS_CERT: c.certFile, RELAY_TLS_KEY: c.keyFile });

/** A plain-HTTP GET: the status, or the network error's code when no HTTP answer came. */
function plainGet(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

/** Start a relay expected to refuse its configuration; what it logged. */
async function refusal(env: Record<string, string>): Promise<string> {
  const err = await startRelayProcess({ env, timeoutMs: 15_000 }).then(
    async (relay) => {
      await relay.stop();
      throw new Error(`the relay started with ${JSON.stringify(env)}`);
    },
    (e: Error) => e,
  );
  expect(err.message).toMatch(/the relay exited with 2/);
  return err.message;
}

describe('relay TLS', () => {
  it('the built relay serves its signed health route over HTTPS with its certificate, and no plain HTTP', async () => {
    const relay = await startRelayProcess({ bundle: true, env: tlsEnv(cert), ca: cert.cert });
    try {
      expect(relay.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const signed = await signRelayRequest(TEST_RELAY_SECRET, 'GET', RELAY_HEALTH_PATH);
      const health = await httpsGet(`${relay.url}${RELAY_HEALTH_PATH}`, cert.cert, signed);
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', sources: ['accounting'] });
      expect(health.peerFingerprint256).toBe(cert.fingerprint256);
      // Unsigned is still refused, over TLS as over HTTP.
      expect((await httpsGet(`${relay.url}${RELAY_HEALTH_PATH}`, cert.cert)).status).toBe(401);
      // The same port does not speak plain HTTP.
      expect(await plainGet(`${relay.url.replace('https:', 'http:')}${RELAY_HEALTH_PATH}`)).not.toBe(200);
      // A client that does not trust the certificate cannot connect.
      await expect(httpsGet(`${relay.url}${RELAY_HEALTH_PATH}`, (await makeTestCertificate(dir, 'other')).cert)).rejects.toThrow(
        /self[- ]signed|unable to verify|certificate/i,
      );
    } finally {
      await relay.stop();
    }
  });

  it('refuses plain HTTP on an address other than loopback, naming the keys that fix it', async () => {
    const message = await refusal({ RELAY_HOST: '0.0.0.0' });
    expect(message).toContain('RELAY_HOST: 0.0.0.0 is not a loopback address');
    expect(message).toContain('RELAY_TLS_CERT and RELAY_TLS_KEY');
    expect(message).toContain('RELAY_ALLOW_PLAIN_HTTP=1');
  });

  it('serves plain HTTP on every interface when RELAY_ALLOW_PLAIN_HTTP=1, and HTTPS there with a certificate', async () => {
    const plain = await startRelayProcess({ env: { RELAY_HOST: '0.0.0.0', RELAY_ALLOW_PLAIN_HTTP: '1' } });
    try {
      expect(plain.url).toMatch(/^http:\/\//);
      expect((await plain.fetch(RELAY_HEALTH_PATH)).status).toBe(200);
    } finally {
      await plain.stop();
    }
    const secure = await startRelayProcess({ env: { RELAY_HOST: '0.0.0.0', ...tlsEnv(cert) }, ca: cert.cert });
    try {
      expect((await secure.fetch(RELAY_HEALTH_PATH)).status).toBe(200);
    } finally {
      await secure.stop();
    }
  });

  it('refuses a missing, unreadable or mismatched certificate or key, naming the key', async () => {
    expect(await refusal({ RELAY_TLS_CERT: cert.certFile })).toContain('RELAY_TLS_KEY: is required with RELAY_TLS_CERT');
    expect(await refusal({ RELAY_TLS_CERT: join(dir, 'absent.crt'), RELAY_TLS_KEY: cert.keyFile })).toMatch(
      /RELAY_TLS_CERT: cannot read .*absent\.crt \(ENOENT\)/,
    );
    const other = await makeTestCertificate(dir, 'mismatch');
    const mismatched = await refusal({ RELAY_TLS_CERT: cert.certFile, RELAY_TLS_KEY: other.keyFile });
    expect(mismatched).toMatch(/RELAY_TLS_CERT, RELAY_TLS_KEY: not a PEM certificate and its private key/);
    expect(mismatched).not.toContain('PRIVATE KEY');
    expect(await refusal({ ...tlsEnv(cert), RELAY_ALLOW_PLAIN_HTTP: 'yes' })).toContain('RELAY_ALLOW_PLAIN_HTTP: must be 1 or 0');
  });

  it('serves a renewed certificate after SIGHUP, without a restart', async () => {
    const live = { certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key') };
    copyFileSync(cert.certFile, live.certFile);
    copyFileSync(cert.keyFile, live.keyFile);
    const relay = await startRelayProcess({ env: { RELAY_TLS_CERT: live.certFile, RELAY_TLS_KEY: live.keyFile }, ca: cert.cert });
    try {
      const renewed = await makeTestCertificate(dir, 'renewed');
      copyFileSync(renewed.certFile, live.certFile);
      copyFileSync(renewed.keyFile, live.keyFile);
      process.kill(relay.pid, 'SIGHUP');
      await relay.waitForLog((l) => l.msg === 'TLS certificate reloaded');
      const signed = await signRelayRequest(TEST_RELAY_SECRET, 'GET', RELAY_HEALTH_PATH);
      const after = await httpsGet(`${relay.url}${RELAY_HEALTH_PATH}`, renewed.cert, signed);
      expect(after.status).toBe(200);
      expect(after.peerFingerprint256).toBe(renewed.fingerprint256);
      // A broken renewal keeps the certificate being served.
      copyFileSync(cert.keyFile, live.keyFile);
      process.kill(relay.pid, 'SIGHUP');
      await relay.waitForLog((l) => l.level === 'error' && String(l.msg).startsWith('TLS certificate not reloaded'));
      expect((await httpsGet(`${relay.url}${RELAY_HEALTH_PATH}`, renewed.cert, signed)).peerFingerprint256).toBe(renewed.fingerprint256);
    } finally {
      await relay.stop();
    }
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::2', '::ffff:10.0.0.1', 'relay.example.org', 'localhost.example.org']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

/**
 * TLS for tests: a self-signed certificate made here (selfsigned: pure Node, no openssl needed) for
 * 127.0.0.1 and localhost, written as the PEM files a relay reads, and HTTPS requests that trust it.
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { generate } from 'selfsigned';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate (PEM): the CA a client must trust, as it is self-signed. */
  cert: string;
  /** SHA-256 fingerprint as node:tls reports it (`AA:BB:…`). */
  fingerprint256: string;
}

/** A self-signed certificate (its own CA) for 127.0.0.1 and localhost, valid for a day, in `dir`. */
export async function makeTestCertificate(dir: string, name = 'relay'): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: `zeus test ${name}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Date.now() + 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  const { X509Certificate } = await import('node:crypto');
  return { certFile, keyFile, cert: pems.cert, fingerprint256: new X509Certificate(pems.cert).fingerprint256 };
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The SHA-256 fingerprint of the certificate the server presented. */
  peerFingerprint256: string;
}

/** GET over HTTPS trusting only `ca` (a fresh connection each time: no session reuse across certificates). */
export function httpsGet(url: string, ca: string, headers: Record<string, string> = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers, agent: false }, (res) => {
      const peer = (res.socket as TLSSocket).getPeerCertificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, peerFingerprint256: peer.fingerprint256 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

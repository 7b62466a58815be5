/**
 * How the relay listens: HTTPS with its own certificate (RELAY_TLS_CERT, RELAY_TLS_KEY: PEM files), or
 * plain HTTP, which carries job records unencrypted and so is only allowed on a loopback address (where
 * a reverse proxy or `cloudflared` on the same host ends TLS) unless RELAY_ALLOW_PLAIN_HTTP=1 says so.
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { createSecureContext } from 'node:tls';

export interface RelayTlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped), and `localhost`, which RFC 6761 keeps on loopback. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) {
    const canonical = new URL(`http://[${h}]`).hostname; // compressed: [::1], [::ffff:7f00:1]
    return canonical === '[::1]' || canonical.startsWith('[::ffff:7f');
  }
  return false;
}

/** Check the TLS keys of the relay's environment against its host; problems name the key, never a value. */
export function parseListenSecurity(e: Record<string, string>, host: string, problems: string[]): { tls?: RelayTlsFiles } {
  const cert = e.RELAY_TLS_CERT;
  const key = e.RELAY_TLS_KEY;
  if (cert && !key) problems.push('RELAY_TLS_KEY: is required with RELAY_TLS_CERT (the PEM file of its private key)');
  if (key && !cert) problems.push('RELAY_TLS_CERT: is required with RELAY_TLS_KEY (the PEM file of the certificate chain)');
  const allow = e.RELAY_ALLOW_PLAIN_HTTP;
  if (allow !== undefined && !['0', '1', 'true', 'false'].includes(allow)) problems.push('RELAY_ALLOW_PLAIN_HTTP: must be 1 or 0');
  if (cert && key) return { tls: { certFile: cert, keyFile: key } };
  if (!cert && !key && !isLoopbackHost(host) && allow !== '1' && allow !== 'true') {
    problems.push(
      `RELAY_HOST: ${host} is not a loopback address, and plain HTTP would carry job records unencrypted: ` +
        'set RELAY_TLS_CERT and RELAY_TLS_KEY (PEM files) to serve HTTPS, or RELAY_ALLOW_PLAIN_HTTP=1 if TLS ends in front of the relay',
    );
  }
  return {};
}

/**
 * Read the certificate and key and check they make a TLS context (PEM, and a key that matches the
 * certificate). The error names both keys and says why, never the contents.
 */
export function loadTlsCredentials(files: RelayTlsFiles): TlsCredentials {
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const credentials = { cert: read('RELAY_TLS_CERT', files.certFile), key: read('RELAY_TLS_KEY', files.keyFile) };
  try {
    createSecureContext(credentials);
  } catch (err) {
    throw new Error(`RELAY_TLS_CERT, RELAY_TLS_KEY: not a PEM certificate and its private key (${(err as Error).message})`);
  }
  return credentials;
}

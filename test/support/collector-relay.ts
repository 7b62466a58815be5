/**
 * The relay the collector tests read from: a REAL relay process on loopback serving a generated
 * PBS Pro accounting log (Europe/Prague, days 2026-03-01 to 2026-03-03; 2026-03-04 has no file), a
 * few malformed lines in it, and a second address that serves the same relay but cuts every
 * response off half-way (gzip or not) (a network fault no real relay can be asked to make).
 */
import { appendFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { writeDemoAccountingLog } from '../../src/local/demo-accounting.ts';
import { type RelayProcess, startRelayProcess } from './relay-process.ts';

export const COLLECTOR_RELAY_DAYS = ['2026-03-01', '2026-03-02', '2026-03-03'];
export const COLLECTOR_RELAY_TIMEZONE = 'Europe/Prague';
export const COLLECTOR_RELAY_JOBS_PER_DAY = 150;

export interface CollectorRelay {
  relay: RelayProcess;
  cutoffUrl: string;
  stop(): Promise<void>;
}

function startCutoffProxy(target: string): Promise<Server> {
  const server = createServer((req, res) => {
    const upstream = httpRequest(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      // The first half of the body (at most 4 KiB: /v1/usage is small, gzip smaller still), then the
      // connection drops mid-stream, the chunked body never ended.
      const chunks: Buffer[] = [];
      up.on('data', (chunk: Buffer) => chunks.push(chunk));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        res.write(body.subarray(0, Math.min(body.length >> 1, 4096)));
        res.socket?.end();
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function startCollectorRelay(): Promise<CollectorRelay> {
  const relay = await startRelayProcess({ accountingFiles: {}, env: { RELAY_TIMEZONE: COLLECTOR_RELAY_TIMEZONE } });
  const log = await writeDemoAccountingLog({
    dir: relay.accountingDir,
    days: COLLECTOR_RELAY_DAYS,
    jobsPerDay: COLLECTOR_RELAY_JOBS_PER_DAY,
    timeZone: COLLECTOR_RELAY_TIMEZONE,
    seed: 7,
  });
  // Noise a real log has: a torn line and a record with an unreadable header.
  appendFileSync(join(relay.accountingDir, log.files[1]!), 'this is not an accounting record\n03/02/2026 1x:00:00;E;1.x;user=a end=1\n');
  const proxy = await startCutoffProxy(relay.url);
  const { port } = proxy.address() as { port: number };
  return {
    relay,
    cutoffUrl: `http://127.0.0.1:${port}`,
    async stop() {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
      await relay.stop();
    },
  };
}

/**
 * The Worker (workerd under `wrangler dev`) collects a day from a relay over HTTPS. workerd checks the
 * relay's certificate against its own trust store, which miniflare extends with the PEM certificates of
 * NODE_EXTRA_CA_CERTS (read when wrangler starts): with the relay's self-signed certificate there, the
 * cron's collection succeeds; without it, the same collection fails on the TLS handshake.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeDemoAccountingLog } from '../../../src/local/demo-accounting.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY } from '../../support/keys.ts';
import { type RelayProcess, startRelayProcess, TEST_RELAY_SECRET } from '../../support/relay-process.ts';
import { makeTestCertificate, type TestCertificate } from '../../support/tls.ts';
import { startWranglerDev } from '../../support/wrangler-dev.ts';

const DAY = '2026-03-01';
const JOBS = 40;

let dir: string;
let cert: TestCertificate;
let relay: RelayProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zeus-worker-tls-'));
  cert = await makeTestCertificate(dir);
  relay = await startRelayProcess({ accountingFiles: {}, env: { RELAY_TLS_CERT: cert.certFile, RELAY_TLS_KEY: cert.keyFile }, ca: cert.cert });
  await writeDemoAccountingLog({ dir: relay.accountingDir, days: [DAY], jobsPerDay: JOBS, timeZone: 'UTC', seed: 11 });
});

afterAll(async () => {
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Run the daily cron on a Worker whose only relay is the HTTPS one, and wait for the day's run. */
async function collectOnce(env: Record<string, string>): Promise<Record<string, unknown>> {
  const cluster = `tls-${randomBytes(4).toString('hex')}`;
  const worker = await startWranglerDev(
    {
      DATABASE_URL: inject('databaseUrl'),
      DATABASE_HTTP_URL: inject('gatewaySqlUrl'),
      COLLECTOR_API_KEY: TEST_COLLECTOR_KEY,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      RELAY_SECRET: TEST_RELAY_SECRET,
      RELAYS: JSON.stringify([{ cluster, url: relay.url, authority: 'tls.example.org' }]),
      COLLECT_START_DATE: DAY,
      COLLECT_MAX_DAYS_PER_RUN: '1',
    },
    90_000,
    env,
  );
  try {
    expect((await fetch(`${worker.origin}/__scheduled?cron=15+2+*+*+*`)).status).toBe(200);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const res = await fetch(`${worker.origin}/admin/collection/runs?cluster=${cluster}`, {
        headers: { Authorization: `Bearer ${TEST_ADMIN_KEY}` },
      });
      const runs = ((await res.json()) as { runs: Record<string, unknown>[] }).runs;
      const done = runs.find((r) => r.status !== 'running');
      if (done) return done;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`no finished collection run for ${cluster} within 60 s`);
  } finally {
    await worker.stop();
  }
}

describe('the Worker and a relay over HTTPS', () => {
  it('collects a day through HTTPS when workerd trusts the relay certificate (NODE_EXTRA_CA_CERTS)', { timeout: 180_000 }, async () => {
    const run = await collectOnce({ NODE_EXTRA_CA_CERTS: cert.certFile });
    expect(run).toMatchObject({ day: DAY, status: 'succeeded', jobs: JOBS });
  });

  it('fails the same collection when workerd does not trust it', { timeout: 180_000 }, async () => {
    const run = await collectOnce({ NODE_EXTRA_CA_CERTS: '' });
    expect(run).toMatchObject({ day: DAY, status: 'failed', jobs: 0 });
    // workerd reports a failed TLS handshake as an opaque "internal error" of the fetch.
    expect(String(run.error)).toMatch(/^relay tls-[0-9a-f]+: network: internal error/);
  });
});

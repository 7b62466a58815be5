/**
 * The accounting-database source through a real relay process, against a real PostgreSQL table made
 * for this file (unique name, dropped after): paging through a cursor, column mapping and validation,
 * a query failing mid-stream, a client going away mid-query.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobStream, type RelayProcess, startRelayProcess } from '../../support/relay-process.ts';

const ADMIN_URL = process.env.RELAY_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const suffix = randomBytes(4).toString('hex');
const TABLE = `relay_source_jobs_${suffix}`;
/** The relay's sessions carry this name, so the test can find them in pg_stat_activity. */
const APP = `relay-db-test-${suffix}`;

const QUERY = `
  SELECT job_id, usr AS "user", grp AS "group", queue,
         ctime_text AS ctime, queued_local AS qtime, etime_epoch AS etime, started AS start, ended AS "end",
         walltime AS walltime_used_seconds, cpu_seconds AS cpu_time_seconds, mem AS mem_used_bytes, ncpus,
         CASE WHEN fail THEN 1 / (length(job_id) * 0) END AS boom, -- not a constant: the planner would fold 1 / 0
         CASE WHEN slow THEN pg_sleep(0.02) IS NULL END AS nap
    FROM ${TABLE}
   WHERE ended >= $1 AND ended < $2;`;

let admin: pg.Client;
let relay: RelayProcess;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`
    CREATE TABLE ${TABLE} (
      job_id text, usr text, grp text, queue text,
      ctime_text text, queued_local timestamp, etime_epoch bigint, started timestamptz, ended timestamptz,
      walltime interval, cpu_seconds numeric, mem bigint, ncpus int,
      fail boolean NOT NULL DEFAULT false, slow boolean NOT NULL DEFAULT false)`);
  // Physical order is insertion order here (no ORDER BY: rows reach the cursor as they are computed).
  await admin.query(`
    INSERT INTO ${TABLE} (job_id, usr, grp, queue, ctime_text, queued_local, etime_epoch, started, ended, walltime, cpu_seconds, mem, ncpus)
    SELECT g || '.db-test', 'user' || (g % 7), 'grp', 'workq', '2025-10-31T23:00:00+01:00', '2025-11-01 08:00:00',
           1761984000, timestamptz '2025-11-01T00:00:00Z' + g * interval '5 s',
           timestamptz '2025-11-01T00:00:00Z' + g * interval '10 s', '1 day 01:02:03', 3500.5, 5368709120, 4
      FROM generate_series(1, 2500) g`);
  await admin.query(`
    INSERT INTO ${TABLE} (job_id, ended, ncpus, walltime) VALUES
      ('bad-ncpus.db-test', '2025-11-01T12:00:00Z', -1, NULL),
      ('', '2025-11-01T12:00:00Z', 1, NULL),
      ('bad-interval.db-test', '2025-11-01T12:00:00Z', 1, '1 mon'),
      ('next-day.db-test', '2025-11-02T00:00:00Z', 1, NULL)`);
  await admin.query(`
    INSERT INTO ${TABLE} (job_id, ended, fail)
    SELECT 'w2-' || g, timestamptz '2025-11-10T00:00:00Z' + g * interval '1 s', g = 1501 FROM generate_series(1, 1501) g`);
  await admin.query(`
    INSERT INTO ${TABLE} (job_id, ended, slow)
    SELECT 'w3-' || g, timestamptz '2025-11-20T00:00:00Z' + g * interval '1 s', true FROM generate_series(1, 3000) g`);

  const url = new URL(ADMIN_URL);
  url.searchParams.set('application_name', APP);
  relay = await startRelayProcess({
    accountingFiles: false,
    env: { RELAY_ACCOUNTING_DB_URL: url.toString(), RELAY_ACCOUNTING_DB_QUERY: QUERY, RELAY_TIMEZONE: 'Europe/Prague' },
  });
});

afterAll(async () => {
  await relay?.stop();
  await admin?.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await admin?.end();
});

const relaySessions = async () =>
  (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [APP])).rows[0]!.n;

describe('relay database source', () => {
  it('pages through the query and maps, converts and validates every row', async () => {
    const res = await relay.fetch('/v1/jobs?from=2025-11-01T00:00:00Z&to=2025-11-02T00:00:00Z&source=db');
    expect(res.status).toBe(200);
    const stream = parseJobStream(await res.text());
    expect(stream.records).toHaveLength(2500); // three pages of 1000
    expect(stream.summary).toMatchObject({
      count: 2500,
      malformed: 3,
      skipped: 0,
      inputs: [{ name: QUERY.trim().replace(/\s+/g, ' ').slice(0, 80), lines: 2503 }],
    });
    expect(stream.summary!.malformed_examples).toEqual([
      expect.stringMatching(/^row \d+: ncpus: /),
      expect.stringMatching(/^row \d+: job_id: /),
      expect.stringMatching(/^row \d+: walltime_used_seconds: interval/),
    ]);
    expect(stream.records[0]).toEqual({
      job_id: '1.db-test',
      user: 'user1',
      group: 'grp',
      project: null,
      account: null,
      queue: 'workq',
      jobname: null,
      ctime: '2025-10-31T22:00:00Z', // text with an offset
      qtime: '2025-11-01T07:00:00Z', // timestamp without time zone, read in Europe/Prague (CET)
      etime: '2025-11-01T08:00:00Z', // unix seconds
      start: '2025-11-01T00:00:05Z',
      end: '2025-11-01T00:00:10Z',
      walltime_used_seconds: 90_123,
      walltime_requested_seconds: null,
      cpu_time_seconds: 3500.5,
      cpu_percent: null,
      mem_used_bytes: 5_368_709_120,
      vmem_used_bytes: null,
      mem_requested_bytes: null,
      ncpus: 4,
      ngpus: null,
      nodes: null,
      exit_status: null,
      run_count: null,
      exec_host: null,
      origin: { source: 'db', record: 'E', query: QUERY.trim().replace(/\s+/g, ' ').slice(0, 80) },
    });
    expect(stream.records.at(-1)?.job_id).toBe('2500.db-test');
    expect(await relaySessions()).toBe(0); // the connection is closed after each request
  });

  it('ends the stream without a summary when the query fails mid-stream', async () => {
    const res = await relay.fetch('/v1/jobs?from=2025-11-10T00:00:00Z&to=2025-11-11T00:00:00Z');
    expect(res.status).toBe(200);
    const stream = parseJobStream(await res.text());
    expect(stream.records).toHaveLength(1000); // the first page went out; the second failed at row 1501
    expect(stream.summary).toBeNull();
    expect(stream.error).toEqual({ source: 'db', message: 'division by zero' });
    const line = await relay.waitForLog((l) => l.msg === 'request' && l.records === 1000);
    expect(line).toMatchObject({ level: 'error', status: 200, complete: false, error: { source: 'db', message: 'division by zero' } });
  });

  it('stops the query when the client goes away', async () => {
    const client = new AbortController();
    const res = await relay.fetch('/v1/jobs?from=2025-11-20T00:00:00Z&to=2025-11-21T00:00:00Z', { signal: client.signal });
    expect(res.status).toBe(200);
    // the first page alone takes 20 s (1000 × pg_sleep(0.02)); wait until it is running
    const deadline = Date.now() + 5000;
    while ((await relaySessions()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await relaySessions()).toBe(1);
    client.abort();
    const line = await relay.waitForLog((l) => l.msg === 'request' && l.aborted === true);
    expect(line).toMatchObject({ status: 200, records: 0, complete: false });
    // the server notices the closed connection within client_connection_check_interval (1 s)
    const gone = Date.now() + 5000;
    while ((await relaySessions()) > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
    expect(await relaySessions()).toBe(0);
  });
});

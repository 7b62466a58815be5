/**
 * The qstat source: a real relay process whose RELAY_QSTAT_COMMAND is a small Node script printing the
 * shared qstat fixtures (or failing like qstat does), plus the command runner's limits in process.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newStats } from '../../../src/relay/source.ts';
import { parseQstatJson } from '../../../src/relay/sources/qstat.ts';
import { qstatSource, runCommand } from '../../../src/relay/sources/qstat-command.ts';
import { parseJobStream, type RelayProcess, startRelayProcess } from '../../support/relay-process.ts';

const FIXTURES = '/work/shared/fixtures/pbs/qstat-json';
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

/** One envelope: the OpenPBS finished job (2022), a running copy of it, the PBS Pro 19 finished job (2024). */
function qstatOutput(): string {
  const envelope = fixture('baw-server_qstat_xf_json_finished_job.json').raw;
  const [, job] = Object.entries(envelope.Jobs as Record<string, Record<string, unknown>>)[0]!;
  envelope.Jobs['1.725ccdf1a5fb'] = { ...job, job_state: 'R' };
  const examon = fixture('examon_pbs19_finished_job.json').raw_job;
  envelope.Jobs[`${examon.Job_Id}.login02`] = examon;
  return JSON.stringify(envelope, null, 4);
}

const FAKE_QSTAT = `
const { existsSync, readFileSync } = require('node:fs');
const dir = process.argv[2];
if (existsSync(dir + '/fail')) {
  process.stderr.write('qstat: cannot connect to server pbs01 (errno=15010)\\nsecond line\\n');
  process.exit(2);
}
process.stdout.write(readFileSync(dir + '/output.json'));
`;

let dir: string;
let relay: RelayProcess;
const MARCH_13 = '/v1/jobs?from=2024-03-13T00:00:00Z&to=2024-03-14T00:00:00Z';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zeus-fake-qstat-'));
  writeFileSync(join(dir, 'qstat.cjs'), FAKE_QSTAT);
  writeFileSync(join(dir, 'output.json'), qstatOutput());
  relay = await startRelayProcess({
    accountingFiles: {},
    env: { RELAY_QSTAT_COMMAND: `'${process.execPath}' '${join(dir, 'qstat.cjs')}' '${dir}'` },
  });
});

afterAll(async () => {
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('relay qstat source', () => {
  it('serves the finished jobs qstat lists whose end is in the window', async () => {
    const expected = parseQstatJson(qstatOutput(), { timeZone: 'UTC' }).records.filter((r) => r.end!.startsWith('2024-03-13'));
    expect(expected).toHaveLength(1);

    const res = await relay.fetch(`${MARCH_13}&source=qstat`);
    expect(res.status).toBe(200);
    const stream = parseJobStream(await res.text());
    expect(stream.records).toEqual(expected);
    expect(stream.records[0]).toMatchObject({ job_id: '4732778.login02', walltime_used_seconds: 86_732, origin: { source: 'qstat' } });
    expect(stream.summary).toMatchObject({ count: 1, malformed: 0, skipped: 2 }); // the running job, the 2022 one
    expect(stream.summary!.inputs).toEqual([{ name: expect.stringContaining('qstat.cjs'), lines: 2 }]);
  });

  it('reads both configured sources in turn when no source is named', async () => {
    const res = await relay.fetch(MARCH_13);
    const stream = parseJobStream(await res.text());
    expect(stream.summary?.count).toBe(1);
    expect(stream.summary!.inputs.map((i) => i.name)).toEqual([
      expect.stringMatching(/^20240312/), // accounting days around the window (no files here)
      expect.stringMatching(/^20240313/),
      expect.stringMatching(/^20240314/),
      expect.stringContaining('qstat.cjs'),
    ]);
  });

  it('ends the stream with an error line (no summary) when qstat fails, and logs its first stderr line', async () => {
    writeFileSync(join(dir, 'fail'), '');
    try {
      const res = await relay.fetch(`${MARCH_13}&source=qstat`);
      expect(res.status).toBe(200);
      const stream = parseJobStream(await res.text());
      expect(stream).toEqual({
        records: [],
        summary: null,
        error: { source: 'qstat', message: expect.stringMatching(/cannot connect to server pbs01/) },
        lines: 1,
      });
      const line = await relay.waitForLog((l) => l.msg === 'request' && l.level === 'error');
      expect(line.error).toEqual({
        source: 'qstat',
        message: expect.stringMatching(/exited with status 2: qstat: cannot connect to server pbs01 \(errno=15010\)$/),
      });
    } finally {
      rmSync(join(dir, 'fail'));
    }
  });
});

describe('qstat command runner', () => {
  const run = (argv: string[], extra: Partial<{ maxBytes: number; timeoutMs: number; signal: AbortSignal }> = {}) =>
    runCommand(argv, { maxBytes: 1024 * 1024, timeoutMs: 10_000, signal: new AbortController().signal, ...extra });

  it('runs argv without a shell', async () => {
    const out = await run([process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', '$HOME', 'a|b', '*']);
    expect(JSON.parse(out)).toEqual(['$HOME', 'a|b', '*']);
  });

  it('fails when the command cannot start, writes too much or takes too long', async () => {
    await expect(run(['/nonexistent/qstat', '-x'])).rejects.toThrow(/could not run: spawn \/nonexistent\/qstat ENOENT/);
    await expect(run([process.execPath, '-e', 'process.stdout.write("x".repeat(4096))'], { maxBytes: 1000 })).rejects.toThrow(
      /wrote more than 1000 bytes/,
    );
    await expect(run([process.execPath, '-e', 'setTimeout(() => {}, 60000)'], { timeoutMs: 300 })).rejects.toThrow(/took longer than 300 ms/);
    await expect(run([process.execPath, '-e', 'process.kill(process.pid, "SIGKILL")'])).rejects.toThrow(/killed by SIGKILL: \(no stderr\)/);
  });

  it('kills the command when the request is aborted', async () => {
    const pidDir = mkdtempSync(join(tmpdir(), 'zeus-qstat-abort-'));
    const pidFile = join(pidDir, 'pid');
    const source = qstatSource({
      command: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setTimeout(() => {}, 60000)`],
      timeZone: 'UTC',
    });
    const controller = new AbortController();
    const window = { from: new Date('2024-03-13T00:00:00Z'), to: new Date('2024-03-14T00:00:00Z') };
    const reading = (async () => {
      for await (const _ of source.jobs(window, newStats(), controller.signal)) void _;
    })();
    const deadline = Date.now() + 5000;
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8') === '') {
      if (Date.now() > deadline) throw new Error('the command did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    const pid = Number(readFileSync(pidFile, 'utf8'));
    controller.abort(new Error('client disconnected'));
    await expect(reading).rejects.toThrow('client disconnected');
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    rmSync(pidDir, { recursive: true, force: true });
  });
});

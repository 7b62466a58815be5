import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type JobRecord, JobRecordSchema } from '../../../src/contracts/job-record.ts';
import { parseDuration } from '../../../src/relay/pbs/values.ts';
import { parseQstatJson, parseQstatTime } from '../../../src/relay/sources/qstat.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixture JSON, read field by field
type Json = any;

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/pbs/qstat-json/${name}`, import.meta.url), 'utf8')) as Json;
const baw = fixture('baw-server_qstat_xf_json_finished_job.json');
const examon = fixture('examon_pbs19_finished_job.json');

/** qstat's own layout: 4-space indentation, one attribute per line. */
const qstatText = (doc: unknown) => JSON.stringify(doc, null, 4);
const BAW_ID = '0.725ccdf1a5fb';

function only(text: string, timeZone = 'UTC'): JobRecord {
  const result = parseQstatJson(text, { timeZone });
  expect(result.malformed, result.examples.join('; ')).toBe(0);
  expect(result.records).toHaveLength(1);
  return JobRecordSchema.parse(result.records[0]);
}

describe('qstat samples', () => {
  it('baw-server (OpenPBS 22.05.11): every value its spec expects', () => {
    const record = only(qstatText(baw.raw));
    const job = baw.expected_by_source_test.jobs[BAW_ID];
    const used = job.resources_used;
    expect(record.job_id).toBe(BAW_ID);
    expect(record.cpu_percent).toBe(used.cpupercent);
    expect(record.cpu_time_seconds).toBeCloseTo(used.cput_seconds, 6); // "1234:56:78.9012345", as the spec reads it
    expect(record.mem_used_bytes).toBe(used.mem_bytes);
    expect(record.ncpus).toBe(used.ncpus);
    expect(record.vmem_used_bytes).toBe(used.vmem_bytes);
    expect(record.walltime_used_seconds).toBe(used.walltime_seconds);
    expect(record.exit_status).toBe(job.exit_status);
    expect(record.run_count).toBe(job.run_count);
    // The container ran in UTC ("parsed as UTC by this app"): history_timestamp agrees with obittime.
    expect(record.ctime).toBe('2022-10-11T08:13:45Z');
    expect(record.end).toBe('2022-10-11T08:13:47Z');
    expect(Date.parse(record.end!) / 1000).toBe(1665476027);
    // Values of the spec that are not job-record fields, read from the same object:
    expect(parseDuration(baw.raw.Jobs[BAW_ID].eligible_time)).toBe(job.eligible_time_seconds);
    expect(baw.raw.Jobs[BAW_ID].job_state).toBe(job.job_state);
    expect(record).toMatchObject({
      user: 'pbsuser',
      group: 'pbsuser',
      project: '_pbs_project_default',
      account: null,
      queue: 'workq',
      jobname: 'testname',
      qtime: '2022-10-11T08:13:45Z',
      etime: '2022-10-11T08:13:45Z',
      start: '2022-10-11T08:13:45Z',
      walltime_requested_seconds: null,
      mem_requested_bytes: null,
      ngpus: 0,
      nodes: 1,
      exec_host: '725ccdf1a5fb/0',
      origin: { source: 'qstat', record: 'E' },
    });
  });

  it('the same output from a server in Europe/Prague (CEST, UTC+2)', () => {
    const record = only(qstatText(baw.raw), 'Europe/Prague');
    expect(record.ctime).toBe('2022-10-11T06:13:45Z');
    expect(record.end).toBe('2022-10-11T06:13:47Z');
  });

  it('ExaMon (PBS Pro 19.2.8, no envelope): walltime 24:05:32, cput 420:16:02, local times in Europe/Rome', () => {
    const record = only(qstatText(examon.raw_job), 'Europe/Rome');
    expect(record).toMatchObject({
      job_id: '4732778',
      user: 'user123',
      group: null,
      account: null,
      project: '_pbs_project_default',
      queue: 'compute',
      jobname: 'example_job_48h.pbs',
      ctime: '2024-03-12T09:27:52Z',
      start: '2024-03-12T12:04:41Z',
      // No obittime: history_timestamp (an epoch), which agrees with mtime 13:10:13 CET.
      end: '2024-03-13T12:10:13Z',
      walltime_used_seconds: 24 * 3600 + 5 * 60 + 32,
      walltime_requested_seconds: 48 * 3600,
      cpu_time_seconds: 420 * 3600 + 16 * 60 + 2,
      cpu_percent: 1966,
      mem_used_bytes: 1622428 * 1024,
      vmem_used_bytes: 636708164 * 1024,
      mem_requested_bytes: 96 * 2 ** 30,
      ncpus: 48,
      ngpus: 0,
      nodes: 1,
      exit_status: 0,
      run_count: 1,
    });
    expect((Date.parse(record.end!) - Date.parse(record.start!)) / 1000).toBe(record.walltime_used_seconds);
    // Inside the usual envelope, the id is the key of Jobs.
    const envelope = { timestamp: 1710331900, pbs_version: '19.2.8', pbs_server: 'login02', Jobs: { '4732778.login02': examon.raw_job } };
    const wrapped = only(qstatText(envelope), 'Europe/Rome');
    expect(wrapped.job_id).toBe('4732778.login02');
  });
});

describe('qstat times', () => {
  it('ctime(3) strings in server local time, DST-aware; epochs as they are', () => {
    expect(parseQstatTime('Sun Mar 31 01:59:59 2024', 'Europe/Prague')).toBe('2024-03-31T00:59:59Z');
    expect(parseQstatTime('Sun Mar 31 03:00:00 2024', 'Europe/Prague')).toBe('2024-03-31T01:00:00Z');
    expect(parseQstatTime('Sun Oct 27 02:30:00 2024', 'Europe/Prague')).toBe('2024-10-27T00:30:00Z');
    expect(parseQstatTime('Tue Oct  1 08:13:45 2024', 'UTC')).toBe('2024-10-01T08:13:45Z');
    expect(parseQstatTime(1665476027, 'Europe/Prague')).toBe('2022-10-11T08:13:47Z');
    expect(parseQstatTime('Xyz Oct 11 08:13:45 2022', 'UTC')).toBeUndefined();
    expect(parseQstatTime('yesterday', 'UTC')).toBeUndefined();
    expect(parseQstatTime(undefined, 'UTC')).toBeNull();
  });
});

describe('qstat output that is not valid JSON', () => {
  const bawText = qstatText(baw.raw);
  const bawJob = baw.raw.Jobs[BAW_ID];
  const envelope = (jobs: Record<string, unknown>) => qstatText({ timestamp: 1665476097, pbs_version: '22.05.11', pbs_server: 'srv', Jobs: jobs });

  it('unescaped quotes inside a string (openpbs PR #830)', () => {
    const text = bawText.replace('"-N testname -"', '"-N "my job" -v A="x y" -"');
    expect(() => JSON.parse(text)).toThrow();
    expect(only(text).job_id).toBe(BAW_ID);
  });

  it("invalid \\' and \\, escapes from the environment (openpbs PR #2049)", () => {
    const text = bawText.replace('"PBS_O_SYSTEM": "Linux"', '"PBS_O_SYSTEM": "Lin\\,ux",\n            "QUOTE": "it\\\'s"');
    expect(() => JSON.parse(text)).toThrow();
    expect(only(text).jobname).toBe('testname');
  });

  it('bare numeric-looking values such as 005 (openpbs #1255), and True', () => {
    const text = bawText.replace('"PBS_O_SYSTEM": "Linux"', '"PBS_O_SYSTEM": 005,\n            "FLAG": True');
    expect(() => JSON.parse(text)).toThrow();
    expect(only(text).run_count).toBe(1);
  });

  it('Exit_status as a string is coerced (baw-server #875)', () => {
    expect(only(bawText.replace('"Exit_status": 0', '"Exit_status": "-29"')).exit_status).toBe(-29);
  });

  it('no Jobs at all: no records, nothing malformed', () => {
    const result = parseQstatJson(qstatText({ timestamp: 1, pbs_version: '22.05.11', pbs_server: 'srv' }), { timeZone: 'UTC' });
    expect(result).toEqual({ records: [], malformed: 0, examples: [], skipped: 0 });
    expect(parseQstatJson('', { timeZone: 'UTC' }).records).toEqual([]);
  });

  it('text mixed in before, between and after JSON objects (openpbs PR #2675, PR #585)', () => {
    const other = { ...bawJob, Job_Name: 'second' };
    const text = `qstat: warning: something\n${bawText}\nqstat: Unknown Job Id 9.srv\n${envelope({ '1.srv': other })}\ntrailing`;
    const result = parseQstatJson(text, { timeZone: 'UTC' });
    expect(result.malformed).toBe(0);
    expect(result.records.map((r) => [r.job_id, r.jobname])).toEqual([
      [BAW_ID, 'testname'],
      ['1.srv', 'second'],
    ]);
  });

  it('trailing and doubled commas', () => {
    const text = bawText.replace('"Exit_status": 0,', '"Exit_status": 0,,').replace('"walltime": "00:00:00"', '"walltime": "00:00:00",');
    expect(only(text).walltime_used_seconds).toBe(0);
  });

  it('one hopeless job is skipped and counted; the jobs around it are kept', () => {
    const text = envelope({ '1.srv': bawJob, '2.srv': bawJob, '3.srv': bawJob }).replace(
      /("2\.srv": \{\n\s+"Job_Name": "testname",)/,
      '$1\n            "resources_used": { "cput": [[[ : } ,\n            "x": {{{ }',
    );
    const result = parseQstatJson(text, { timeZone: 'UTC' });
    expect(result.records.map((r) => r.job_id)).toEqual(['1.srv', '3.srv']);
    expect(result.malformed).toBe(1);
    expect(result.examples).toEqual(['job 2.srv: invalid JSON']);
  });

  it('a message line between two jobs costs nothing once the output is cut into jobs', () => {
    const text = envelope({ '1.srv': bawJob, '2.srv': bawJob }).replace(/\n(\s+"2\.srv": \{)/, '\nqstat: Unknown Job Id 7.srv\n$1');
    const result = parseQstatJson(text, { timeZone: 'UTC' });
    expect(result.records.map((r) => r.job_id)).toEqual(['1.srv', '2.srv']);
    expect(result.malformed).toBe(0);
  });

  it('unfinished jobs and array parents are skipped; sub-jobs in state X are kept; bad times are malformed', () => {
    const result = parseQstatJson(
      envelope({
        '1.srv': { ...bawJob, job_state: 'R' },
        '2[].srv': { ...bawJob, job_state: 'F' },
        '2[1].srv': { ...bawJob, job_state: 'X' },
        '3.srv': { ...bawJob, stime: 'soon' },
        '4.srv': { ...bawJob, stime: 'Tue Oct 11 09:00:00 2022' },
        '5.srv': 'not a job',
      }),
      { timeZone: 'UTC' },
    );
    expect(result.records.map((r) => r.job_id)).toEqual(['2[1].srv']);
    expect(result.skipped).toBe(2);
    expect(result.examples).toEqual(['job 3.srv: stime is not a time', 'job 4.srv: end before start', 'job 5.srv: not an object']);
  });

  it('output that is not JSON at all is one malformed entry, never an exception', () => {
    expect(parseQstatJson('qstat: cannot connect to server pbs (errno=15010)', { timeZone: 'UTC' })).toMatchObject({ records: [], malformed: 1 });
    expect(parseQstatJson('{"Jobs": {"1.srv": {"job_state": "F", "ctime": ', { timeZone: 'UTC' }).malformed).toBe(1);
  });
});

/**
 * Every entry of the third-party accounting-log vectors in test/fixtures/pbs (copied from
 * /work/shared/fixtures/pbs with their provenance): each E and R record must give exactly the values
 * its source's own test asserts, converted to our units (bytes, seconds, RFC 3339 UTC); every other
 * record type, and every entry the source expects to be ignored or to fail, is skipped or malformed.
 * Each expected key must be handled below: an unknown key fails the test rather than being ignored.
 * The few values we deliberately do not reproduce are listed in KNOWN_DIFFERENCES with the reason.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type JobRecord, JobRecordSchema } from '../../../src/contracts/job-record.ts';
import { parseAccountingLine } from '../../../src/relay/pbs/accounting-line.ts';
import { parseExecHost } from '../../../src/relay/pbs/exec-host.ts';
import { splitAccountingHeader, tokenizePayload } from '../../support/pbs-reference.ts';
import { parseNodesSpec } from '../../../src/relay/pbs/resources.ts';
import { parseDuration, parseSize } from '../../../src/relay/pbs/values.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixture JSON, shaped differently by each source, read field by field
type Json = any;

interface Entry {
  id: string;
  record_type: string;
  line: string;
  expected: Record<string, Json>;
  expected_outcome?: string;
  message_only?: boolean;
}

const load = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/pbs/${name}`, import.meta.url), 'utf8')) as Json;

interface Ctx {
  record: JobRecord;
  attrs: Map<string, string>;
  stray: string[];
  line: string;
}
type Check = (theirs: Json, ctx: Ctx) => void;

/** What we emit instead of the source's value, and why (asserted: ours must be exactly this). */
const KNOWN_DIFFERENCES: Record<string, Record<string, { ours: (ctx: Ctx) => unknown; is: unknown; why: string }>> = {
  'apel-non-mpi-no-exec-host': {
    NodeCount: { ours: (c) => c.record.nodes, is: 1, why: 'APEL with mpi=False reports 0; we take the request nodes=1:ppn=8' },
    Processors: { ours: (c) => c.record.ncpus, is: 8, why: 'APEL with mpi=False reports 0; we take nodes × ppn = 8' },
  },
  'xdmod-9': {
    resources_used_cpus: {
      ours: (c) => c.record.ncpus,
      is: 48,
      why: 'XDMoD counts exec_host "host/0*0" as 2 (a loop quirk); Resource_List.ncpus=48',
    },
  },
  'pbsparse-E-4413086-start0': {
    'start(local)': { ours: (c) => c.record.start, is: null, why: 'start=0 is null; pbsparse estimates end − walltime' },
    start_epoch_estimated: { ours: (c) => c.record.start, is: null, why: 'as above (the transform may estimate; the record does not invent)' },
    _estimates: { ours: (c) => c.record.start, is: null, why: 'as above' },
    waittime: { ours: (c) => c.record.start, is: null, why: 'derived from the estimated start' },
  },
  'pbsparse-E-4413086-end0': {
    'end(local)': { ours: (c) => c.record.end, is: null, why: 'end=0 is null; pbsparse estimates start + walltime' },
    end_epoch_estimated: { ours: (c) => c.record.end, is: null, why: 'as above' },
  },
};

const iso = (epoch: number | string) => new Date(Number(epoch) * 1000).toISOString().replace('.000Z', 'Z');
const field =
  (pick: (c: Ctx) => unknown, convert: (t: Json) => unknown = (t) => t): Check =>
  (t, c) =>
    expect(pick(c)).toEqual(convert(t));
const attr =
  (name: string, convert: (t: Json) => unknown = (t) => t): Check =>
  (t, c) =>
    expect(c.attrs.get(name) ?? null).toEqual(convert(t));
const kib = (t: Json) => (t === null ? null : t * 1024);
const hms = (t: { days: number; hours: number; minutes: number; seconds: number }) => t.days * 86400 + t.hours * 3600 + t.minutes * 60 + t.seconds;
const hosts = (c: Ctx) => parseExecHost(c.record.exec_host)?.hosts ?? [];
const NOT_FROM_LINE: Check = () => {}; // set by the source's own configuration, not parsed from the line

const APEL: Record<string, Check> = {
  JobName: field((c) => c.record.job_id),
  LocalUserID: field((c) => c.record.user),
  LocalUserGroup: field((c) => c.record.group),
  WallDuration: field((c) => c.record.walltime_used_seconds),
  CpuDuration: field((c) => c.record.cpu_time_seconds),
  StartTime: field((c) => Date.parse(c.record.start!), Date.parse),
  StartTime_epoch: field((c) => c.record.start, iso),
  StopTime: field((c) => Date.parse(c.record.end!), Date.parse),
  StopTime_epoch: field((c) => c.record.end, iso),
  MemoryReal: field((c) => c.record.mem_used_bytes, kib),
  MemoryVirtual: field((c) => c.record.vmem_used_bytes, kib),
  NodeCount: field((c) => c.record.nodes),
  Processors: field((c) => c.record.ncpus),
  Site: NOT_FROM_LINE,
  MachineName: NOT_FROM_LINE,
  Infrastructure: NOT_FROM_LINE,
};

const XDMOD: Record<string, Check> = {
  job_id: field((c) => c.record.job_id.split('.')[0]), // XDMoD keeps only the sequence number
  host: NOT_FROM_LINE,
  queue: field((c) => c.record.queue),
  user: field((c) => c.record.user),
  groupname: field((c) => c.record.group),
  account: field((c) => c.record.account),
  jobname: field((c) => c.record.jobname),
  owner: attr('owner'),
  session: attr('session'),
  ctime: field((c) => c.record.ctime, iso),
  qtime: field((c) => c.record.qtime, iso),
  etime: field((c) => c.record.etime, iso),
  start: field((c) => c.record.start, iso),
  end: field((c) => c.record.end, iso),
  exit_status: field((c) => c.record.exit_status, Number),
  resources_used_vmem: field((c) => c.record.vmem_used_bytes),
  resources_used_mem: field((c) => c.record.mem_used_bytes),
  resources_used_walltime: field((c) => c.record.walltime_used_seconds),
  resources_used_nodes: field((c) => c.record.nodes),
  resources_used_cpus: field((c) => c.record.ncpus),
  resources_used_cput: field((c) => c.record.cpu_time_seconds),
  resources_used_gpus: field((c) => c.record.ngpus, Number),
  resource_list_walltime: field((c) => c.record.walltime_requested_seconds),
  resource_list_mem: field((c) => c.record.mem_requested_bytes),
  resource_list_pcput: field((c) => parseDuration(c.attrs.get('Resource_List.pcput'))),
  resource_list_ncpus: attr('Resource_List.ncpus'),
  resource_list_nodect: attr('Resource_List.nodect'),
  resource_list_nodes: attr('Resource_List.nodes'),
  resource_list_neednodes: attr('Resource_List.neednodes'),
  node_list: field((c) => hosts(c).join(',')),
};

const nodesTotal = (spec: Array<{ number?: number; name?: string; ppn: number | null }>) => ({
  nodes: spec.reduce((n, p) => n + (p.number ?? 1), 0),
  cpus: spec.reduce((n, p) => n + (p.number ?? 1) * (p.ppn ?? 1), 0),
});
const HNORMALISE_REQUEST: Record<string, Check> = {
  neednodes: field((c) => {
    const s = parseNodesSpec(c.attrs.get('Resource_List.neednodes'));
    return { nodes: s?.nodes, cpus: s?.cpus };
  }, nodesTotal),
  nodes: field((c) => {
    const s = parseNodesSpec(c.attrs.get('Resource_List.nodes'));
    return { nodes: s?.nodes, cpus: s?.cpus };
  }, nodesTotal),
  nice: attr('Resource_List.nice', String),
  nodeCount: attr('Resource_List.nodect', String),
  vmem_bytes: field((c) => parseSize(c.attrs.get('Resource_List.vmem'))),
  walltime: field((c) => c.record.walltime_requested_seconds, hms),
  cputime: field((c) => parseDuration(c.attrs.get('Resource_List.cput')), hms),
};
const HNORMALISE_USAGE: Record<string, Check> = {
  cputime_s: field((c) => c.record.cpu_time_seconds),
  energy: field(
    (c) => c.attrs.get('resources_used.energy_used') ?? null,
    (t) => (t === null ? null : String(t)),
  ),
  mem_bytes: field((c) => c.record.mem_used_bytes),
  vmem_bytes: field((c) => c.record.vmem_used_bytes),
  walltime: field((c) => c.record.walltime_used_seconds, hms),
};
const nested =
  (checks: Record<string, Check>): Check =>
  (theirs, ctx) => {
    for (const [key, value] of Object.entries(theirs)) {
      expect(checks[key], `unhandled expected key ${key}`).toBeDefined();
      checks[key]!(value, ctx);
    }
  };
const HNORMALISE: Record<string, Check> = {
  datestamp: field((c) => c.line.slice(0, 19)),
  // hnormalise keeps number[arrayId].master.cluster and drops the rest of the domain; we keep it all.
  job: (j, c) => expect(c.record.job_id.startsWith(`${j.number}${j.arrayId === null ? '' : `[${j.arrayId}]`}.${j.master}.${j.cluster}.`)).toBe(true),
  user: field((c) => c.record.user),
  group: field((c) => c.record.group),
  account: field((c) => c.record.account),
  jobname: field((c) => c.record.jobname),
  queue: field((c) => c.record.queue),
  startCount: attr('start_count'),
  owner: attr('owner'),
  session: attr('session', String),
  ctime: field((c) => c.record.ctime, iso),
  qtime: field((c) => c.record.qtime, iso),
  etime: field((c) => c.record.etime, iso),
  start: field((c) => c.record.start, iso),
  end: field((c) => c.record.end, iso),
  exec_host: field(
    (c) => parseExecHost(c.record.exec_host),
    (hs: Array<{ name: string; cores: number[] }>) => ({
      hosts: hs.map((h) => h.name),
      cores: hs.reduce((n, h) => n + h.cores.length, 0),
    }),
  ),
  resource_request: nested(HNORMALISE_REQUEST),
  resource_usage: nested(HNORMALISE_USAGE),
  total_execution_slots: field((c) => c.record.ncpus),
  unique_node_count: field((c) => c.record.nodes),
  exit_status: field((c) => c.record.exit_status),
};

const OSC: Record<string, Check> = {
  jobid: field((c) => c.record.job_id),
  // Torque 6 `Resource_Request_2.0=-L tasks=… -L tasks=…`: the first `-L` is the value of the key,
  // later ones are stray tokens, and `tasks=` is an ordinary pair; nothing after them is lost.
  'tasks()': (theirs, c) => {
    expect(c.attrs.get('Resource_Request_2.0')).toBe('-L');
    expect(c.stray.every((s) => s === '-L')).toBe(true);
    expect(
      Array(1 + c.stray.length)
        .fill(c.attrs.get('tasks'))
        .join('+'),
    ).toBe(theirs);
    expect(c.record.end).not.toBeNull();
  },
  numeric_jobid: field((c) => Number(c.record.job_id.split('.')[0])),
  user: field((c) => c.record.user),
  group: field((c) => c.record.group),
  account: field((c) => c.record.account),
  submithost: field((c) => c.attrs.get('owner')?.split('@')[1]),
  queue: field((c) => c.record.queue),
  start_count: attr('start_count', String),
  nodes: attr('Resource_List.nodes'),
  nodes_used: field(hosts),
  num_nodes: field((c) => c.record.nodes),
  num_processors: field((c) => c.record.ncpus),
  num_gpus: field((c) => c.record.ngpus),
  mem_limit_kb: field((c) => c.record.mem_requested_bytes, kib),
  mem_used_kb: field((c) => c.record.mem_used_bytes, kib),
  vmem_limit_kb: field((c) => parseSize(c.attrs.get('Resource_List.vmem')), kib),
  vmem_used_kb: field((c) => c.record.vmem_used_bytes, kib),
  cput_limit_sec: field((c) => parseDuration(c.attrs.get('Resource_List.cput'))),
  cput_used_sec: field((c) => c.record.cpu_time_seconds),
  walltime_limit_sec: field((c) => c.record.walltime_requested_seconds),
  walltime_used_sec: field((c) => c.record.walltime_used_seconds),
};

const NCAR: Record<string, Check> = {
  'resources_used.ncpus': (t, c) => {
    expect(c.attrs.get('resources_used.ncpus')).toBe(String(t));
    expect(c.record.ncpus).toBe(t);
  },
  run_count: field((c) => c.record.run_count),
  end: field(
    (c) => c.record.end,
    (t) => (t === '' ? null : t),
  ),
  'get_nodes()': field(hosts),
  _raw_record: NOT_FROM_LINE, // pbsparse keeps the line; we keep file and line number in origin
};

const TORQUE2DB: Record<string, Check> = {
  jobid: field((c) => Number(c.record.job_id.split('.')[0])),
  username: field((c) => c.record.user),
  groupname: field((c) => c.record.group),
  queue: field((c) => c.record.queue),
  queue_time: field((c) => c.record.qtime, iso),
  start_time: field((c) => c.record.start, iso),
  completion_time: field((c) => c.record.end, iso),
  required_memory: field((c) => c.record.mem_requested_bytes, kib),
  used_memory: field((c) => c.record.mem_used_bytes, kib),
  used_virtual_memory: field((c) => c.record.vmem_used_bytes, kib),
  allocated_tasks: field((c) => c.record.ncpus),
  required_walltime: field((c) => c.record.walltime_requested_seconds),
  used_walltime: field((c) => c.record.walltime_used_seconds),
  allocated_hostlist: field((c) => c.record.exec_host),
  exit_status: field((c) => c.record.exit_status),
  job_data: (t, c) => {
    for (const [key, value] of Object.entries(t)) expect(c.attrs.get(key)).toBe(String(value));
  },
};

const SOURCES: Array<[file: string, checks: Record<string, Check>]> = [
  ['apel.json', APEL],
  ['xdmod.json', XDMOD],
  ['hnormalise.json', HNORMALISE],
  ['osc_pbstools.json', OSC],
  ['ncar_pbsparse.json', NCAR],
  ['torque2db.json', TORQUE2DB],
  ['pbs_logs_cpan.json', {}],
];

function checkJob(file: string, index: number, entry: Entry, checks: Record<string, Check>) {
  const result = parseAccountingLine(entry.line, { file, line: index + 1 });
  if (result.kind !== 'job') throw new Error(`${entry.id}: ${result.kind} (${result.reason})`);
  const record = JobRecordSchema.parse(result.record);
  expect(record.origin).toEqual({ source: 'accounting', record: entry.record_type, file, line: index + 1 });
  const head = splitAccountingHeader(entry.line);
  if (!head.ok) throw new Error(head.reason);
  const { attrs, stray } = tokenizePayload(head.header.payload);
  const ctx: Ctx = { record, attrs, stray, line: entry.line };
  for (const [key, theirs] of Object.entries(entry.expected)) {
    const known = KNOWN_DIFFERENCES[entry.id]?.[key];
    if (known) {
      expect(known.ours(ctx), `${key}: ${known.why}`).toEqual(known.is);
      continue;
    }
    const check = checks[key];
    if (!check) throw new Error(`${entry.id}: unhandled expected key ${key}`);
    check(theirs, ctx);
  }
}

describe.each(SOURCES)('%s', (file, checks) => {
  const doc = load(file);
  it('keeps its provenance', () => {
    expect(doc.provenance.repo).toMatch(/\S/);
    expect(doc.entries.length).toBeGreaterThan(0);
  });
  for (const [index, entry] of (doc.entries as Entry[]).entries()) {
    it(`${entry.id} (${entry.record_type}${entry.expected_outcome ? `, ${entry.expected_outcome.split(' ')[0]}` : ''})`, () => {
      if (entry.message_only) return; // a payload without header: see pbs-parsers.test.ts
      const outcome = entry.expected_outcome ?? 'record';
      const result = parseAccountingLine(entry.line, { file, line: index + 1 });
      if (outcome.startsWith('error')) expect(result.kind).toBe('malformed');
      else if (outcome.startsWith('ignored')) expect(result.kind).toBe('skip');
      else if (entry.record_type === 'E' || (entry.record_type === 'R' && entry.line.split(';')[3]!.trim() !== '')) {
        if (file === 'pbs_logs_cpan.json') expect(result.kind).toBe('job');
        else checkJob(file, index, entry, checks);
      } else expect(result, entry.id).toMatchObject({ kind: 'skip' });
    });
  }
});

describe('PBS-Logs header split (every record type)', () => {
  const doc = load('pbs_logs_cpan.json');
  for (const entry of (doc.entries as Entry[]).filter((e) => !e.message_only)) {
    it(entry.id, () => {
      const head = splitAccountingHeader(entry.line);
      if (!head.ok) throw new Error(head.reason);
      const { stamp, type, id, payload } = head.header;
      const p2 = (n: number) => String(n).padStart(2, '0');
      expect(`${p2(stamp.month)}/${p2(stamp.day)}/${stamp.year} ${p2(stamp.hour)}:${p2(stamp.minute)}:${p2(stamp.second)}`).toBe(
        entry.expected.datetime,
      );
      expect(type).toBe(entry.expected.record_type);
      expect(id).toBe(entry.expected.id);
      expect(payload).toBe(entry.expected.message); // S records keep their trailing space
      const result = parseAccountingLine(entry.line);
      if (type === 'E' && result.kind === 'job') expect(result.record.job_id).toBe(entry.expected.id);
      else expect(result.kind).toBe('skip');
    });
  }
});

describe('fixture fragments', () => {
  it('APEL exec_host fragments: nodes and cores', () => {
    for (const { exec_host, expected } of load('apel.json').exec_host_fragments) {
      const parsed = parseExecHost(exec_host);
      expect({ nodes: parsed?.hosts.length, cores: parsed?.cores }, exec_host).toEqual(expected);
    }
  });

  it('torque2db memory strings (KiB), except its "516b" = 516 KiB bug', () => {
    for (const { input, kb } of load('torque2db.json').memory_string_fragments) {
      if (input === '516b')
        expect(parseSize(input)).toBe(516); // bytes, as PBS means it
      else expect(parseSize(input), input).toBe(kb * 1024);
    }
  });

  it('the NCAR R record is emitted as an R record with its usage', () => {
    const entry = (load('ncar_pbsparse.json').entries as Entry[]).find((e) => e.record_type === 'R')!;
    const result = parseAccountingLine(entry.line);
    expect(result).toMatchObject({ kind: 'job', record: { origin: { record: 'R' }, run_count: 21, exit_status: -3, mem_used_bytes: 0 } });
  });

  it('the hnormalise array sub-job keeps its full id; the array parent is skipped', () => {
    const entries = load('hnormalise.json').entries as Entry[];
    const sub = parseAccountingLine(entries.find((e) => e.id === 'hnormalise-E-161299[389]')!.line);
    expect(sub).toMatchObject({ kind: 'job', record: { job_id: '161299[389].mymaster.somecluster.somedomain' } });
    const parentQ = entries.find((e) => e.id === 'hnormalise-Q-1166970[]')!.line;
    expect(parseAccountingLine(parentQ.replace(';Q;', ';E;'))).toEqual({ kind: 'skip', reason: 'array parent' });
  });
});

describe('coverage', () => {
  it('all 37 E records of the README are in the files above', () => {
    let e = 0;
    for (const [file] of SOURCES) for (const entry of load(file).entries as Entry[]) if (entry.record_type === 'E') e++;
    expect(e).toBe(37);
  });
});

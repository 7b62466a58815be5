import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JobRecordSchema } from '../../../src/contracts/job-record.ts';
import { parseAccountingLine } from '../../../src/relay/pbs/accounting-line.ts';
import { parseExecHost, parseExecVnode } from '../../../src/relay/pbs/exec-host.ts';
import { parseEpochField, splitAccountingHeader, tokenizePayload } from '../../support/pbs-reference.ts';
import { deriveJobResources, parseNodesSpec } from '../../../src/relay/pbs/resources.ts';
import { parseDuration, parseInteger, parseSize } from '../../../src/relay/pbs/values.ts';

const E = (payload: string, id = '1.srv', stamp = '04/16/2025 10:19:48') => `${stamp};E;${id};${payload}`;
const BASE = 'user=u group=g jobname=j queue=q ctime=1744817013 qtime=1744817013 etime=1744817013 start=1744817058 end=1744820388';
const job = (line: string) => {
  const r = parseAccountingLine(line);
  if (r.kind !== 'job') throw new Error(`${r.kind}: ${r.reason}`);
  return JobRecordSchema.parse(r.record);
};

describe('sizes', () => {
  it.each([
    ['0b', 0],
    ['516b', 516],
    ['1024', 1024], // no suffix = bytes (OpenPBS)
    ['10k', 10 * 1024],
    ['1245kb', 1245 * 1024],
    ['4000mb', 4000 * 2 ** 20],
    ['1GB', 2 ** 30],
    ['20gb', 20 * 2 ** 30],
    ['2tb', 2 * 2 ** 40],
    ['1pb', 2 ** 50],
    ['1w', 8],
    ['3kw', 3 * 1024 * 8],
    ['143425316860b', 143425316860],
  ])('%s = %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['12.27M', '295.56M', '-1kb', 'kb', '', '10 kb', '10xb', '1e3', '9999999pb'])('%j is null', (text) => expect(parseSize(text)).toBeNull());
});

describe('durations', () => {
  it.each([
    ['00:00:00', 0],
    ['19:23:4', 19 * 3600 + 23 * 60 + 4],
    ['2:00:00', 7200],
    ['800:00:00', 800 * 3600],
    ['420:16:02', 420 * 3600 + 16 * 60 + 2],
    ['05:30', 330],
    ['12722', 12722],
    ['1:02:03:04', 86400 + 2 * 3600 + 3 * 60 + 4],
  ])('%s = %d s', (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  it('takes a fraction on the last field and minutes/seconds above 59 as written', () => {
    expect(parseDuration('1234:56:78.9012345')).toBeCloseTo(4445838.9012345, 6);
  });

  it.each(['-342359:-42:-21', '-5', '', '1::2', 'a:b:c', '1:2:3:4:5', '12.5:00'])('%j is null', (text) => expect(parseDuration(text)).toBeNull());
});

describe('epochs and integers', () => {
  it('0 is null, garbage is undefined, the rest RFC 3339 UTC', () => {
    expect(parseEpochField('0')).toBeNull();
    expect(parseEpochField('1317509945')).toBe('2011-10-01T22:59:05Z');
    expect(parseEpochField('1317509574start=1317509945')).toBeUndefined();
    expect(parseEpochField('-1')).toBeUndefined();
    expect(parseEpochField('99999999999999')).toBeUndefined();
  });
  it('integers may be negative, never fractional', () => {
    expect(parseInteger('-11')).toBe(-11);
    expect(parseInteger('271')).toBe(271);
    expect(parseInteger('1.0')).toBeNull();
    expect(parseInteger('"-29"')).toBeNull();
  });
});

describe('header and payload tokenizer', () => {
  it('splits the header with maxsplit 3, so a quoted account may hold ";" and spaces', () => {
    const line = E(`${BASE} account="P1; rm -rf / ; x=y" project="my project" Exit_status=0`);
    const head = splitAccountingHeader(line);
    if (!head.ok) throw new Error(head.reason);
    expect(head.header.id).toBe('1.srv');
    const { attrs, stray } = tokenizePayload(head.header.payload);
    expect(attrs.get('account')).toBe('P1; rm -rf / ; x=y');
    expect(attrs.get('project')).toBe('my project');
    expect(attrs.get('group')).toBe('g');
    expect(stray).toEqual([]);
    const record = job(line);
    expect(record).toMatchObject({ account: 'P1; rm -rf / ; x=y', project: 'my project', user: 'u', end: '2025-04-16T16:19:48Z' });
  });

  it('reads single quotes, keeps stray tokens apart, splits keys on the first "="', () => {
    const { attrs, stray } = tokenizePayload(`a='x "y" z' Resource_List.nodes=1:ppn=4 -L tasks=1:lprocs=2 =odd b="unterminated c=3`);
    expect(attrs.get('a')).toBe('x "y" z');
    expect(attrs.get('Resource_List.nodes')).toBe('1:ppn=4');
    expect(attrs.get('tasks')).toBe('1:lprocs=2');
    expect(attrs.get('b')).toBe('"unterminated');
    expect(attrs.get('c')).toBe('3');
    expect(stray).toEqual(['-L', '=odd']);
  });

  it('PBS::Logs quoted-value vector: quotes removed, inner whitespace and leading spaces kept', () => {
    const fixture = JSON.parse(readFileSync(new URL('../../fixtures/pbs/pbs_logs_cpan.json', import.meta.url), 'utf8'));
    const entry = fixture.entries.find((e: { message_only?: boolean }) => e.message_only);
    const { attrs } = tokenizePayload(entry.line);
    for (const [key, value] of Object.entries(entry.expected as Record<string, unknown>)) {
      if (typeof value === 'object' && value !== null) {
        for (const [sub, v] of Object.entries(value)) expect(attrs.get(`${key}.${sub}`)).toBe(v);
      } else if (key === 'user') {
        // PBS::Logs turns each whitespace character inside quotes into a space; we keep the characters.
        expect(attrs.get(key)).toBe('gonwat\t\t');
        expect(attrs.get(key)!.replace(/\s/g, ' ')).toBe(value);
      } else expect(attrs.get(key), key).toBe(value);
    }
  });

  it('strips the torque: syslog tag and a grep file-name prefix', () => {
    expect(job(`torque: ${E(BASE)}`).job_id).toBe('1.srv');
    expect(job(`20150327:${E(BASE)}`).job_id).toBe('1.srv');
    expect(job(`/var/spool/pbs/server_priv/accounting/20250416:${E(BASE)}`).job_id).toBe('1.srv');
    expect(job(`${E(BASE)}\r`).end).toBe('2025-04-16T16:19:48Z');
  });

  it.each([
    ['garbage', 'not a PBS accounting line'],
    ['04/16/2025 10:19:48;E', 'not a PBS accounting line'],
    ['2025-04-16 10:19:48;E;1.srv;end=1', 'bad timestamp'],
    ['13/16/2025 10:19:48;E;1.srv;end=1', 'bad timestamp'],
    ['04/16/2025 25:19:48;E;1.srv;end=1', 'bad timestamp'],
    ['04/16/2025 10:19:48;EE;1.srv;end=1', 'bad record type'],
    ['04/16/2025 10:19:48;E;;end=1', 'bad job id'],
    [E(''), 'E record without attributes'],
    [E('user=u start=1'), 'no end time'],
    [E('user=u end=12x'), 'end is not an epoch'],
    [E('user=u start=20 end=10'), 'end before start'],
  ])('malformed: %j', (line, reason) => {
    const r = parseAccountingLine(line);
    expect(r.kind).toBe('malformed');
    expect(r.kind === 'malformed' && r.reason).toContain(reason);
  });

  it('skips other record types, array parents and empty R records; keeps sub-jobs and R usage', () => {
    expect(parseAccountingLine(E(BASE).replace(';E;', ';S;'))).toEqual({ kind: 'skip', reason: 'record type S' });
    expect(parseAccountingLine(E(BASE).replace(';E;', ';e;'))).toEqual({ kind: 'skip', reason: 'record type e' });
    expect(parseAccountingLine(E(BASE, '123[]'))).toEqual({ kind: 'skip', reason: 'array parent' });
    expect(parseAccountingLine(E(BASE, '123[].srv.example.org')).kind).toBe('skip');
    expect(job(E(BASE, '123[4].srv')).job_id).toBe('123[4].srv');
    expect(parseAccountingLine('09/02/2013 17:34:26;R;34106.m;').kind).toBe('skip');
    expect(parseAccountingLine('09/02/2013 17:34:26;R;34106.m;requestor=root@h')).toEqual({ kind: 'skip', reason: 'R record without end' });
    expect(job(E(`${BASE} resources_used.walltime=00:10:00`).replace(';E;', ';R;')).origin).toEqual({ source: 'accounting', record: 'R' });
  });

  it('reads a line longer than 300 KiB', () => {
    const hosts = Array.from({ length: 30_000 }, (_, i) => `node${String(i).padStart(5, '0')}/0*4`).join('+');
    const line = E(`${BASE} exec_host=${hosts} Resource_List.ncpus=120000 resources_used.cput=1000:00:00`);
    expect(line.length).toBeGreaterThan(300 * 1024);
    const record = job(line);
    expect(record).toMatchObject({ nodes: 30_000, ncpus: 120_000, cpu_time_seconds: 3_600_000 });
  });
});

describe('placement and requests', () => {
  it('exec_host: distinct hosts, slots, ranges, idx*count', () => {
    expect(parseExecHost('c1/0*13+c2/0*13')).toEqual({ hosts: ['c1', 'c2'], cores: 26 });
    expect(parseExecHost('b391/0-1,5,11+b392/3')).toEqual({ hosts: ['b391', 'b392'], cores: 5 });
    expect(parseExecHost('h/0*0')).toEqual({ hosts: ['h'], cores: 0 });
    expect(parseExecHost('h/3-1')).toBeNull();
    expect(parseExecHost('')).toBeNull();
  });

  it('exec_vnode: hosts of vnodes and sums, including a chunk spread over vnodes', () => {
    expect(parseExecVnode('(h[1]:mem=1024kb:ngpus=2:ncpus=24+h[0]:ngpus=2:ncpus=24)+(g:ncpus=1)')).toEqual({
      hosts: ['h', 'g'],
      ncpus: 49,
      ngpus: 4,
      memBytes: 1024 * 1024,
    });
    expect(parseExecVnode('(a:ncpus=1)')).toMatchObject({ ngpus: null, memBytes: null });
  });

  it('nodes spec: counts, hosts, ppn, gpus; unreadable first field is null', () => {
    expect(parseNodesSpec('4:ppn=8')).toEqual({ nodes: 4, cpus: 32, gpus: null });
    expect(parseNodesSpec('2:ppn=28:gpus=2:default')).toEqual({ nodes: 2, cpus: 56, gpus: 4 });
    expect(parseNodesSpec('n1.example:ppn=2+n2.example:ppn=2')).toEqual({ nodes: 2, cpus: 4, gpus: null });
    expect(parseNodesSpec('1:ppn=24:gpu=4:reqmem=128849018880:gpu')).toEqual({ nodes: 1, cpus: 24, gpus: 4 });
    expect(parseNodesSpec('1pn=4')).toBeNull();
  });

  const derive = (payload: string) => deriveJobResources(tokenizePayload(payload).attrs);

  it('ncpus: Resource_List.ncpus, total_execution_slots, nodes × ppn, exec_host; never below exec_host cores', () => {
    expect(derive('Resource_List.ncpus=65 exec_host=c1/0*13').ncpus).toBe(65);
    expect(derive('total_execution_slots=40 Resource_List.nodes=1:ppn=4').ncpus).toBe(40);
    expect(derive('Resource_List.nodes=2:ppn=4 exec_host=a/1+b/2').ncpus).toBe(8);
    expect(derive('exec_host=a/0-27').ncpus).toBe(28);
    expect(derive('Resource_List.ncpus=1 Resource_List.nodes=1:ppn=4 exec_host=n/2+n/3+n/4+n/5').ncpus).toBe(4);
    expect(derive('exec_vnode=(a:ncpus=3)').ncpus).toBe(3);
    expect(derive('').ncpus).toBeNull();
  });

  it('ngpus: Resource_List.ngpus, exec_vnode, Resource_List.gpus, gpus= in nodes; else 0', () => {
    expect(derive('Resource_List.ngpus=4 exec_vnode=(a:ngpus=2)').ngpus).toBe(4);
    expect(derive('exec_vnode=(a:ngpus=2)+(b:ngpus=2)').ngpus).toBe(4);
    expect(derive('Resource_List.gpus=3').ngpus).toBe(3);
    expect(derive('Resource_List.nodes=2:ppn=28:gpus=1').ngpus).toBe(2);
    expect(derive('Resource_List.nodect=1:ppn=24:gpu=4').ngpus).toBe(4);
    expect(derive('Resource_List.gpu=2 Resource_List.neednodes=1:gpus=1').ngpus).toBe(0);
  });

  it('mem_requested: Resource_List.mem, else Σ exec_vnode mem, else pmem × ncpus, else null', () => {
    expect(derive('Resource_List.mem=20gb exec_vnode=(a:mem=1kb)').mem_requested_bytes).toBe(20 * 2 ** 30);
    expect(derive('exec_vnode=(a:mem=10485760kb)+(b:mem=10485760kb)').mem_requested_bytes).toBe(20 * 2 ** 30);
    expect(derive('Resource_List.pmem=2000mb Resource_List.nodes=1:ppn=4').mem_requested_bytes).toBe(4 * 2000 * 2 ** 20);
    expect(derive('Resource_List.vmem=4gb').mem_requested_bytes).toBeNull();
  });

  it('nodes: exec_host hosts, unique_node_count, vnode hosts, nodes spec, nodect', () => {
    expect(derive('exec_host=a/0+a/1+b/0').nodes).toBe(2);
    expect(derive('unique_node_count=3').nodes).toBe(3);
    expect(derive('exec_vnode=(a[0]:ncpus=1)+(a[1]:ncpus=1)').nodes).toBe(1);
    expect(derive('Resource_List.nodes=4:ppn=8').nodes).toBe(4);
    expect(derive('Resource_List.nodect=5').nodes).toBe(5);
  });

  it('walltime_used falls back to end − start when resources_used.walltime is missing or garbage', () => {
    expect(job(E(`${BASE} resources_used.walltime=-342359:-42:-21`)).walltime_used_seconds).toBe(1744820388 - 1744817058);
    expect(job(E(`${BASE} resources_used.walltime=00:55:26`)).walltime_used_seconds).toBe(3326);
    expect(job(E(BASE.replace('start=1744817058', 'start=0'))).walltime_used_seconds).toBeNull();
  });
});

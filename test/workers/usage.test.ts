import { exports } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC_KEYS } from '../../src/contracts/usage-event.ts';
import { type UsageDimension, type UsageReport, type UsageRow, usageColumns } from '../../src/contracts/usage-report.ts';
import { READ_KEY_SCHEME } from '../../src/http/security.ts';
import { linksOf, makeAllocation, makeProject, makeUser } from '../support/directory.ts';
import { uniqueId } from '../support/events.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY, TEST_READ_KEY } from '../support/keys.ts';
import { db } from './helpers.ts';
import { mapNow } from './mapping-helpers.ts';

const ORIGIN = 'http://worker.test';

function get(path: string, init: { key?: string | null; accept?: string } = {}) {
  const headers: Record<string, string> = {};
  const key = init.key === undefined ? TEST_READ_KEY : init.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (init.accept) headers.accept = init.accept;
  return exports.default.fetch(`${ORIGIN}${path}`, { headers });
}

async function report(query: Record<string, string>): Promise<UsageReport> {
  const res = await get(`/usage?${new URLSearchParams(query)}`);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as UsageReport;
}

async function problem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as { code: string; detail: string; errors?: { path: string; message: string }[] };
  expect(body.code).toBe(code);
  return body;
}

type Metrics = Partial<Record<(typeof METRIC_KEYS)[number], number>>;
type Spec = { start: string; source?: 'pbs' | 'openstack'; project: string; user: string; cluster?: string; metrics: Metrics };

/** Store events (as ingest would, with these metrics) and return their ids in order. */
async function store(specs: Spec[]): Promise<string[]> {
  const rows = specs.map((s, i) => ({
    i,
    source: s.source ?? 'pbs',
    start: s.start,
    end: new Date(Date.parse(s.start) + 3_600_000).toISOString(),
    metrics: s.metrics,
    identities: [{ scheme: 'perun_username', value: s.user, authority: 'demo.local' }],
    context: { ...(s.cluster === undefined ? {} : { cluster: s.cluster }), project: s.project, jobname: 'daily' },
  }));
  const { rows: ids } = await db.execute<{ id: string }>(sql`
    INSERT INTO resource_usage_events (natural_key, schema_version, source, time_window_start, time_window_end,
      collected_at, metrics, identities, context)
    SELECT md5(random()::text || x.i), '1.0', x.source, x.start, x."end", x."end", x.metrics, x.identities, x.context
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      AS x(i int, source text, start timestamptz, "end" timestamptz, metrics jsonb, identities jsonb, context jsonb)
    ORDER BY x.i
    RETURNING id::text`);
  return ids.map((r) => r.id);
}

// ---- An independent reference: the same report computed in JS from the events and their stored links. ----

type Known = Spec & { link?: { user_id: string | null; project_id: string | null; allocation_id: string | null; status: string } | undefined };
type Names = { projects: Map<string, string>; users: Map<string, string> };

function bucketOf(iso: string, bucket: string): string {
  const d = new Date(iso);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const start =
    bucket === 'day' ? day : bucket === 'week' ? day - ((d.getUTCDay() + 6) % 7) * 86_400_000 : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return new Date(start).toISOString().replace('.000Z', 'Z');
}

function expectedRows(events: Known[], bucket: string, groupBy: UsageDimension[], names: Names): UsageRow[] {
  const rows = new Map<string, Record<string, unknown>>();
  for (const e of events) {
    const l = e.link;
    const values: Record<string, unknown> = {};
    if (groupBy.includes('project'))
      Object.assign(values, { project: l?.project_id ? names.projects.get(l.project_id) : null, project_id: l?.project_id ?? null });
    if (groupBy.includes('user')) Object.assign(values, { user: l?.user_id ? names.users.get(l.user_id) : null, user_id: l?.user_id ?? null });
    if (groupBy.includes('allocation')) values.allocation_id = l?.allocation_id ?? null;
    if (groupBy.includes('cluster')) values.cluster = e.cluster ?? null;
    if (groupBy.includes('source')) values.source = e.source ?? 'pbs';
    const ordered = Object.fromEntries(
      groupBy
        .flatMap((d) =>
          d === 'project' ? ['project', 'project_id'] : d === 'user' ? ['user', 'user_id'] : [d === 'allocation' ? 'allocation_id' : d],
        )
        .map((k) => [k, values[k]]),
    );
    const key = JSON.stringify([bucketOf(e.start, bucket), ordered]);
    const row = rows.get(key) ?? {
      bucket_start: bucketOf(e.start, bucket),
      ...ordered,
      unmapped: ['project_id', 'user_id', 'allocation_id'].some((k) => k in ordered && ordered[k] === null),
      events: 0,
      unmapped_events: 0,
      ...Object.fromEntries(METRIC_KEYS.map((k) => [k, 0])),
    };
    row.events = (row.events as number) + 1;
    if (!l || !['resolved', 'manual'].includes(l.status)) row.unmapped_events = (row.unmapped_events as number) + 1;
    for (const k of METRIC_KEYS) row[k] = (row[k] as number) + (e.metrics[k] ?? 0);
    rows.set(key, row);
  }
  // A ratio is never summed: 100 × Σ cpu_time_seconds / Σ cpu_core_seconds, null without core-seconds.
  for (const row of rows.values()) {
    const core = row.cpu_core_seconds as number;
    row.used_cpu_percent = core > 0 ? Math.round((1e8 * (row.cpu_time_seconds as number)) / core) / 1e6 : null;
  }
  // The route's order: bucket, then each group column with nulls last (names, then ids).
  const sortKeys = (r: Record<string, unknown>) => [
    r.bucket_start,
    ...groupBy.flatMap((d) =>
      d === 'project' ? [r.project, r.project_id] : d === 'user' ? [r.user, r.user_id] : [r[d === 'allocation' ? 'allocation_id' : d]],
    ),
  ];
  const cmp = (a: unknown, b: unknown) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : String(a) < String(b) ? -1 : 1);
  return [...rows.values()].sort((a, b) => {
    const ka = sortKeys(a);
    const kb = sortKeys(b);
    for (let i = 0; i < ka.length; i++) if (cmp(ka[i], kb[i])) return cmp(ka[i], kb[i]);
    return 0;
  }) as UsageRow[];
}

/** Totals of the summed columns (used_cpu_percent is a ratio, recomputed per row: it does not add up). */
const SUMMED = METRIC_KEYS.filter((k) => k !== 'used_cpu_percent');
const totals = (rows: { events: number; [k: string]: unknown }[]) =>
  Object.fromEntries(['events', ...SUMMED].map((k) => [k, rows.reduce((s, r) => s + ((r as Record<string, number>)[k] ?? 0), 0)]));

// ---- The data: two projects, two users, every link status, events without a link, UTC boundaries. ----

let cluster: string;
let events: Known[];
let names: Names;
let ids: string[];
let ctx: {
  projectA: string;
  projectB: string;
  nameA: string;
  nameB: string;
  user1: { id: string; username: string; email: string };
  allocationA: string;
};
const RANGE = { from: '2026-02-01', to: '2026-05-01' };

beforeAll(async () => {
  cluster = uniqueId('usage');
  // A name needing CSV quotes.
  const a = await makeProject(db, { name: `${uniqueId('astro')}, "deep" sky` });
  const b = await makeProject(db);
  const [u1, u2] = [await makeUser(db), await makeUser(db)];
  const [allocA] = [await makeAllocation(db, a.id), await makeAllocation(db, b.id)];
  const ghost = uniqueId('ghost');
  const nowhere = uniqueId('nowhere');
  const m = (i: number): Metrics => ({
    cpu_time_seconds: 100 * (i + 1),
    walltime_used: 10 + i,
    cpu_core_seconds: 1000 * (i + 1),
    ...(i % 2 ? { ram_bytes_allocated: 8_589_934_592, used_cpu_percent: 12.25 + i } : { gpu_time_seconds: 7.5 * i }),
  });
  const specs: Spec[] = [
    { start: '2026-02-28T12:00:00Z', project: a.name, user: u1.username!, cluster, metrics: m(0) }, // Saturday
    { start: '2026-03-01T23:59:59.999Z', project: a.name, user: u1.username!, cluster, metrics: m(1) }, // Sunday, last instant
    { start: '2026-03-02T00:00:00Z', project: a.name, user: u2.username!, cluster, metrics: m(2) }, // Monday: a new week
    { start: '2026-03-02T00:30:00+01:00', project: b.name, user: u2.username!, cluster, metrics: m(3) }, // 1 March 23:30 UTC
    { start: '2026-03-31T23:30:00-02:00', project: b.name, user: u2.username!, cluster, metrics: m(4) }, // 1 April 01:30 UTC
    { start: '2026-03-15T00:00:00Z', project: nowhere, user: u1.username!, cluster, metrics: m(5) }, // partial: user only
    { start: '2026-03-16T00:00:00Z', project: nowhere, user: ghost, cluster, metrics: m(6) }, // unresolved
    { start: '2026-03-18T00:00:00Z', project: nowhere, user: ghost, cluster, metrics: m(7) }, // manual (set below)
    { start: '2026-03-17T00:00:00Z', project: a.name, user: u1.username!, cluster, metrics: m(8) }, // never mapped: no link
    { start: '2026-03-17T06:00:00Z', source: 'openstack', project: a.name, user: u1.username!, cluster, metrics: m(9) }, // no link
  ];
  ids = await store(specs);
  await mapNow(ids.slice(0, 8));
  const put = await exports.default.fetch(`${ORIGIN}/links/events/${ids[7]}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project_id: b.id, user_id: u2.id, note: 'usage test' }),
  });
  expect(put.status).toBe(200);
  const links = await linksOf(db, ids);
  expect(links.map((l) => l?.status ?? 'none')).toEqual([
    'resolved',
    'resolved',
    'resolved',
    'resolved',
    'resolved',
    'partial',
    'unresolved',
    'manual',
    'none',
    'none',
  ]);
  events = specs.map((s, i) => ({ ...s, link: links[i] }));
  names = {
    projects: new Map([
      [a.id, a.name],
      [b.id, b.name],
    ]),
    users: new Map([
      [u1.id, u1.username!],
      [u2.id, u2.username!],
    ]),
  };
  ctx = {
    projectA: a.id,
    projectB: b.id,
    nameA: a.name,
    nameB: b.name,
    user1: { id: u1.id, username: u1.username!, email: u1.email! },
    allocationA: allocA.id,
  };
});

describe('GET /usage — security', () => {
  it('answers 401 without a key, with a wrong one and with the collector key; the read and the operator key work', async () => {
    const path = `/usage?from=2026-02-01&to=2026-02-02&cluster=${cluster}`;
    for (const key of [null, `${TEST_READ_KEY}x`, TEST_COLLECTOR_KEY]) {
      const res = await get(path, { key });
      await problem(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect((await get(path, { key: TEST_READ_KEY })).status).toBe(200);
    expect((await get(path, { key: TEST_ADMIN_KEY })).status).toBe(200);
  });

  it('checks the key before the parameters', async () => {
    await problem(await get('/usage?bucket=year', { key: null }), 401, 'unauthorized');
  });

  it('is described in /openapi.json behind the read key, with JSON and CSV answers', async () => {
    const doc = (await (await exports.default.fetch(`${ORIGIN}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<string, { security?: unknown; parameters?: { name: string }[]; responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
      components: { schemas: Record<string, unknown> };
    };
    const op = doc.paths['/usage']?.get;
    expect(op?.security).toEqual([{ [READ_KEY_SCHEME]: [] }]);
    expect(op?.parameters?.map((p) => p.name)).toEqual(['from', 'to', 'bucket', 'group_by', 'project', 'user', 'allocation', 'cluster', 'source']);
    expect(Object.keys(op?.responses['200']?.content ?? {})).toEqual(['application/json', 'text/csv']);
    expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(['200', '401', '422', '503']));
    expect(doc.components.schemas).toHaveProperty('UsageReport');
    expect(doc.components.schemas).toHaveProperty('UsageRow');
  });
});

describe('GET /usage — parameters', () => {
  const cases: [string, string][] = [
    ['', 'from'],
    ['from=2026-01-01', 'to'],
    ['from=2026-13-01&to=2026-02-01', 'from'],
    ['from=2026-01-01T00:00:00&to=2026-02-01', 'from'], // no offset
    ['from=2026-01-01&to=yesterday', 'to'],
    ['from=2026-01-01&to=2026-01-01', 'to'],
    ['from=2026-02-01&to=2026-01-01', 'to'],
    ['from=2023-01-01&to=2026-01-02', 'to'], // more than 1096 days
    ['from=2026-01-01&to=2026-02-01&bucket=year', 'bucket'],
    ['from=2026-01-01&to=2026-02-01&group_by=project,team', 'group_by'],
    ['from=2026-01-01&to=2026-02-01&group_by=', 'group_by'],
    ['from=2026-01-01&to=2026-02-01&allocation=not-a-uuid', 'allocation'],
    ['from=2026-01-01&to=2026-02-01&source=slurm', 'source'],
  ];
  it.each(cases)('?%s is 422 naming %s', async (query, path) => {
    const body = await problem(await get(`/usage?${query}`), 422, 'validation_failed');
    expect(body.errors?.[0]?.path).toBe(path);
    expect(body.detail).toContain(path);
  });

  it('takes 1096 days, dates or date-times with any offset, lists comma-separated or repeated', async () => {
    const wide = await report({ from: '2024-01-01', to: '2027-01-01', bucket: 'month', cluster });
    expect(wide.from).toBe('2024-01-01T00:00:00.000Z');
    expect(wide.rows.map((r) => r.bucket_start)).toEqual(['2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z']);
    const offset = await report({ from: '2026-03-02T01:00:00+01:00', to: '2026-03-02T00:45:00Z', cluster, group_by: 'project' });
    expect(offset.from).toBe('2026-03-02T00:00:00.000Z');
    expect(offset.rows.map((r) => [r.bucket_start, r.project, r.events])).toEqual([['2026-03-02T00:00:00Z', ctx.nameA, 1]]);
    const res = await get(
      `/usage?from=2026-02-01&to=2026-05-01&group_by=source&group_by=project,source&source=pbs&source=openstack&cluster=${cluster}&bucket=month`,
    );
    expect(res.status).toBe(200);
    const both = (await res.json()) as UsageReport;
    expect(both.group_by).toEqual(['source', 'project']);
    expect(both.rows.reduce((s, r) => s + r.events, 0)).toBe(10);
  });
});

describe('GET /usage — totals', () => {
  const groupings: UsageDimension[][] = [
    [],
    ['project'],
    ['user'],
    ['allocation'],
    ['cluster'],
    ['source'],
    ['project', 'user'],
    ['user', 'project', 'allocation', 'cluster', 'source'],
  ];

  it('sums every metric and counts events per bucket and group, exactly as computed from the events and their links', async () => {
    for (const bucket of ['day', 'week', 'month']) {
      for (const groupBy of groupings) {
        const got = await report({ ...RANGE, bucket, cluster, ...(groupBy.length ? { group_by: groupBy.join(',') } : {}) });
        expect(got.group_by).toEqual(groupBy);
        expect(got.rows, `${bucket} by ${groupBy.join(',') || 'nothing'}`).toEqual(expectedRows(events, bucket, groupBy, names));
        for (const row of got.rows) expect(Object.keys(row)).toEqual(usageColumns(groupBy));
      }
    }
  });

  it('never drops unmapped usage: the rows of every grouping add up to the events stored', async () => {
    const { rows } = await db.execute<Record<string, string>>(sql`
      SELECT count(*)::text AS events,
        ${sql.raw(SUMMED.map((k) => `coalesce(sum((metrics ->> '${k}')::numeric), 0)::text AS ${k}`).join(', '))}
      FROM resource_usage_events WHERE context ->> 'cluster' = ${cluster}`);
    const stored = Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
    expect(stored.events).toBe(10);
    for (const groupBy of groupings) {
      const got = await report({ ...RANGE, bucket: 'month', cluster, ...(groupBy.length ? { group_by: groupBy.join(',') } : {}) });
      expect(totals(got.rows), groupBy.join(',')).toEqual(stored);
    }
  });

  it('reports unmapped usage under null with unmapped: true, and counts events not fully mapped', async () => {
    const got = await report({ ...RANGE, bucket: 'month', cluster, group_by: 'project' });
    const march = got.rows.filter((r) => r.bucket_start === '2026-03-01T00:00:00Z');
    // A's resolved events, B's (one of them manual), then the unmapped ones: partial, unresolved and two without a link.
    expect(march.map((r) => [r.project, r.unmapped, r.events, r.unmapped_events])).toEqual(
      [
        [ctx.nameA, false, 2, 0],
        [ctx.nameB, false, 2, 0],
        [null, true, 4, 4],
      ].sort((x, y) => (x[0] === null ? 1 : y[0] === null ? -1 : String(x[0]) < String(y[0]) ? -1 : 1)),
    );
    const total = await report({ ...RANGE, bucket: 'month', cluster });
    expect(total.rows.map((r) => [r.bucket_start, r.unmapped, r.events, r.unmapped_events])).toEqual([
      ['2026-02-01T00:00:00Z', false, 1, 0],
      ['2026-03-01T00:00:00Z', false, 8, 4],
      ['2026-04-01T00:00:00Z', false, 1, 0],
    ]);
  });
});

describe('GET /usage — filters', () => {
  const events = (r: UsageReport) => r.rows.reduce((s, row) => s + row.events, 0);

  it('by project name or id, by user (username, e-mail, id), by allocation id, source and cluster', async () => {
    const q = { ...RANGE, bucket: 'month', cluster };
    expect(events(await report({ ...q, project: ctx.nameB }))).toBe(3); // two resolved, one manual
    expect(events(await report({ ...q, project: ctx.projectA }))).toBe(3);
    expect(events(await report({ ...q, project: `${ctx.projectB},unknown-project` }))).toBe(3);
    // Repeated, and by id: A's name holds a comma, which separates values.
    const both = await get(`/usage?from=2026-02-01&to=2026-05-01&cluster=${cluster}&project=${ctx.nameB}&project=${ctx.projectA}`);
    expect(events((await both.json()) as UsageReport)).toBe(6);
    expect(events(await report({ ...q, user: ctx.user1.username }))).toBe(3); // two resolved, one partial
    expect(events(await report({ ...q, user: ctx.user1.email.toUpperCase() }))).toBe(3);
    expect(events(await report({ ...q, user: ctx.user1.id }))).toBe(3);
    expect(events(await report({ ...q, user: ctx.user1.username, project: ctx.projectA }))).toBe(2);
    expect(events(await report({ ...q, allocation: ctx.allocationA }))).toBe(3);
    expect(events(await report({ ...q, source: 'openstack' }))).toBe(1);
    expect(events(await report({ ...q, source: 'pbs' }))).toBe(9);
    expect(events(await report({ ...q, cluster: `${cluster},${uniqueId('other')}` }))).toBe(10);
  });

  it('a filter that matches nothing gives no rows', async () => {
    expect((await report({ ...RANGE, cluster, project: uniqueId('no-such-project') })).rows).toEqual([]);
    expect((await report({ ...RANGE, cluster: uniqueId('no-such-cluster') })).rows).toEqual([]);
  });
});

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  expect(field).toBe('');
  return rows;
}

describe('GET /usage — CSV', () => {
  it('Accept: text/csv gives the same rows as the JSON answer, RFC 4180 quoted', async () => {
    for (const groupBy of ['', 'project,user', 'project,user,allocation,cluster,source']) {
      const query = new URLSearchParams({ ...RANGE, bucket: 'week', cluster, ...(groupBy ? { group_by: groupBy } : {}) });
      const json = (await (await get(`/usage?${query}`)).json()) as UsageReport;
      const res = await get(`/usage?${query}`, { accept: 'text/csv' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('vary')).toContain('Accept');
      const text = await res.text();
      const [header, ...lines] = parseCsv(text);
      expect(header).toEqual(usageColumns(json.group_by));
      expect(lines).toEqual(
        json.rows.map((r) =>
          header!.map((c) => {
            const v = (r as Record<string, unknown>)[c];
            return v === null ? '' : String(v);
          }),
        ),
      );
      if (groupBy.includes('project')) expect(text).toContain(`"${ctx.nameA.replaceAll('"', '""')}"`);
    }
  });

  it('prefers what the client ranks higher; JSON by default', async () => {
    const query = `/usage?from=2026-02-01&to=2026-03-01&cluster=${cluster}`;
    expect((await get(query, { accept: 'application/json;q=0.5, text/csv' })).headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect((await get(query, { accept: 'text/csv;q=0.5, application/json' })).headers.get('content-type')).toMatch(/^application\/json/);
    expect((await get(query, { accept: '*/*' })).headers.get('content-type')).toMatch(/^application\/json/);
    expect((await get(query)).headers.get('content-type')).toMatch(/^application\/json/);
  });
});

describe('GET /usage — size', () => {
  it('answers 422 report_too_large past 10,000 rows, and the same span in months is fine', async () => {
    const big = uniqueId('usage-big');
    const clusters = Array.from({ length: 10 }, (_, i) => `${big}-${i}`);
    // One event per cluster per day for three years: 10,960 day × cluster rows.
    await db.execute(sql`
      INSERT INTO resource_usage_events (natural_key, schema_version, source, time_window_start, time_window_end,
        collected_at, metrics, identities, context)
      SELECT md5(${big} || c || '-' || d), '1.0', 'pbs', t, t + interval '1 hour', t + interval '1 hour',
        '{"cpu_time_seconds": 1}', '[]', jsonb_build_object('cluster', ${big} || '-' || c)
      FROM generate_series(0, 9) c, generate_series(0, 1095) d, LATERAL (SELECT '2031-01-01'::timestamptz + d * interval '1 day' AS t) x`);
    try {
      const query = { from: '2031-01-01', to: '2034-01-01', cluster: clusters.join(','), group_by: 'cluster' };
      const body = await problem(await get(`/usage?${new URLSearchParams({ ...query, bucket: 'day' })}`), 422, 'report_too_large');
      expect(body.detail).toContain('10000');
      const months = await report({ ...query, bucket: 'month' });
      expect(months.rows).toHaveLength(36 * 10);
      expect(months.rows.reduce((s, r) => s + r.events, 0)).toBe(10_960);
    } finally {
      await db.execute(sql`DELETE FROM resource_usage_events WHERE context ->> 'cluster' LIKE ${`${big}-%`}`);
    }
  });
});

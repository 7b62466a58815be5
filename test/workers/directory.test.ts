import { exports } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { IngestResponse } from '../../src/contracts/usage-event.ts';
import { MAX_DIRECTORY_RECORDS } from '../../src/contracts/directory.ts';
import { linksOf, makeProject, makeUser, storeEvents } from '../support/directory.ts';
import { makeEvent, uniqueId } from '../support/events.ts';
import { TEST_ADMIN_KEY, TEST_COLLECTOR_KEY, TEST_READ_KEY } from '../support/keys.ts';
import { db, postEvents, waitForLinks } from './helpers.ts';
import { mapNow } from './mapping-helpers.ts';

const ORIGIN = 'http://worker.test';

function call(method: string, path: string, body?: unknown, key: string | null = TEST_ADMIN_KEY) {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return exports.default.fetch(`${ORIGIN}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

async function ok<T = Record<string, unknown>>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function problem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as { code: string; detail: string; errors?: { path: string; message: string }[] };
  expect(body.code).toBe(code);
  return body;
}

const put = (kind: string, body: unknown, query = '') => call('PUT', `/directory/${kind}${query}`, body);

/** Poll until `check` passes (the mapping queue's consumer works in the background). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A project with an hpc allocation granting core seconds, both through the API. */
async function grantedProject(opts: { validFrom?: string; validTo?: string | null; grants?: Record<string, number> } = {}) {
  const project = { id: uniqueId('dp'), name: uniqueId('dproj') };
  await ok(await put('projects', { projects: [project] }));
  const allocation = {
    id: uniqueId('da'),
    project_id: project.id,
    kind: 'hpc',
    valid_from: opts.validFrom ?? '2026-01-01T00:00:00Z',
    valid_to: opts.validTo ?? null,
    grants: opts.grants ?? { cpu_core_seconds: 1000 },
  };
  await ok(await put('allocations', { allocations: [allocation] }));
  return { project, allocation };
}

describe('directory — security and description', () => {
  it('the sync and list routes need the operator key; the balances a read or operator key', async () => {
    for (const [method, path, body] of [
      ['PUT', '/directory/projects', { projects: [{ id: 'x', name: 'x' }] }],
      ['PUT', '/directory/users', { users: [{ id: 'x' }] }],
      ['PUT', '/directory/allocations', { allocations: [] }],
      ['GET', '/directory/projects'],
      ['GET', '/directory/users'],
      ['GET', '/directory/allocations'],
    ] as const) {
      for (const key of [null, TEST_READ_KEY, TEST_COLLECTOR_KEY]) {
        await problem(await call(method, path, body, key), 401, 'unauthorized');
      }
    }
    await problem(await call('GET', '/allocations', undefined, null), 401, 'unauthorized');
    await problem(await call('GET', '/allocations/x/balance', undefined, TEST_COLLECTOR_KEY), 401, 'unauthorized');
    await problem(await call('GET', `/allocations/${uniqueId('none')}/balance`, undefined, TEST_READ_KEY), 404, 'not_found');
  });

  it('every operation is in /openapi.json with an operationId, a tag and the shared problem for 401 and 422', async () => {
    const doc = (await (await exports.default.fetch(`${ORIGIN}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<string, { operationId?: string; tags?: string[]; responses: Record<string, { content: Record<string, { schema: unknown }> }> }>
      >;
    };
    const ops = [
      doc.paths['/directory/projects']?.put,
      doc.paths['/directory/users']?.put,
      doc.paths['/directory/allocations']?.put,
      doc.paths['/directory/projects']?.get,
      doc.paths['/directory/users']?.get,
      doc.paths['/directory/allocations']?.get,
      doc.paths['/allocations']?.get,
      doc.paths['/allocations/{id}/balance']?.get,
    ];
    const ids = new Set<string>();
    for (const op of ops) {
      expect(op?.operationId).toMatch(/^[a-z][A-Za-z]+$/);
      ids.add(op!.operationId!);
      expect(op?.tags?.length).toBe(1);
      for (const status of ['401', '422']) {
        expect(op!.responses[status]!.content['application/problem+json']!.schema).toEqual({ $ref: '#/components/schemas/Problem' });
      }
    }
    expect(ids.size).toBe(ops.length);
  });
});

describe('PUT /directory/projects', () => {
  it('inserts, answers unchanged for the same body, updates what changed, and lists them', async () => {
    const a = { id: uniqueId('p'), name: uniqueId('proj') };
    const b = { id: uniqueId('p'), name: uniqueId('proj') };
    expect(await ok(await put('projects', { projects: [a, b] }))).toMatchObject({ inserted: 2, updated: 0, unchanged: 0, deactivated: 0 });
    const { rows: before } = await db.execute<{ updated_at: string }>(sql`SELECT updated_at::text FROM projects WHERE directory_id = ${a.id}`);
    expect(await ok(await put('projects', { projects: [a, b] }))).toMatchObject({ inserted: 0, updated: 0, unchanged: 2, remap_queued: 0 });
    const { rows: after } = await db.execute<{ updated_at: string }>(sql`SELECT updated_at::text FROM projects WHERE directory_id = ${a.id}`);
    expect(after).toEqual(before);

    const renamed = { ...b, name: uniqueId('renamed'), active: false };
    expect(await ok(await put('projects', { projects: [a, renamed] }))).toMatchObject({ inserted: 0, updated: 1, unchanged: 1 });
    const listed = await ok<{ projects: { id: string; name: string; active: boolean }[] }>(
      await call('GET', `/directory/projects?project=${encodeURIComponent(b.id)}`),
    );
    expect(listed.projects).toEqual([{ id: b.id, name: renamed.name, active: false, updated_at: expect.any(String) }]);
  });

  it('stores every character as sent (quotes, backslashes, braces, commas, the word NULL, white space), and again is unchanged', async () => {
    const odd = (tag: string) => `${uniqueId(tag)} "q" \\ \\" {a,b} NULL, é ✓`;
    const project = { id: odd('p'), name: odd('n') };
    const nullName = { id: `${uniqueId('p')}"`, name: 'NULL' };
    // Bare in the array literal only what PostgreSQL reads back as it is: not white space at either end, not null.
    const spaced = { id: ` ${uniqueId('p')}\t`, name: `\n ${uniqueId('n')} x ` };
    const lowerNull = { id: uniqueId('p'), name: 'null' };
    const user = { id: odd('u'), username: 'NULL', oidc_sub: odd('s'), default_project_id: project.id };
    const allocation = {
      id: odd('a'),
      project_id: project.id,
      kind: 'hpc',
      valid_from: '2026-01-01T00:00:00+02:00',
      payload: { note: 'a "quoted" \\ back,slash {}', list: [1, 'NULL', null], nested: { '"k"': '\\"' } },
    };
    await db.execute(sql`DELETE FROM users WHERE username = 'NULL'`);
    await db.execute(sql`DELETE FROM projects WHERE name IN ('NULL', 'null')`);
    expect(await ok(await put('projects', { projects: [project, nullName, spaced, lowerNull] }))).toMatchObject({ inserted: 4 });
    expect(await ok(await put('users', { users: [user] }))).toMatchObject({ inserted: 1 });
    expect(await ok(await put('allocations', { allocations: [allocation] }))).toMatchObject({ inserted: 1 });
    const { rows } = await db.execute<{ name: string; username: string; sub: string; payload: unknown; vf: string }>(sql`
      SELECT p.name, u.username, u.external_id AS sub, a.payload, to_char(a.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS vf
      FROM projects p JOIN users u ON u.default_project_id = p.id JOIN allocations a ON a.project_id = p.id
      WHERE p.directory_id = ${project.id} AND u.directory_id = ${user.id} AND a.directory_id = ${allocation.id}`);
    expect(rows).toEqual([{ name: project.name, username: 'NULL', sub: user.oidc_sub, payload: allocation.payload, vf: '2025-12-31 22:00' }]);
    const { rows: named } = await db.execute<{ id: string; name: string }>(sql`
      SELECT directory_id AS id, name FROM projects WHERE directory_id IN (${nullName.id}, ${spaced.id}, ${lowerNull.id}) ORDER BY name`);
    expect(named).toEqual([spaced, nullName, lowerNull]);
    expect(await ok(await put('projects', { projects: [project, nullName, spaced, lowerNull] }))).toMatchObject({ unchanged: 4 });
    expect(await ok(await put('users', { users: [user] }))).toMatchObject({ unchanged: 1 });
    expect(await ok(await put('allocations', { allocations: [allocation] }))).toMatchObject({ unchanged: 1 });
  });

  it('a project made before the directory sync (same name, no id) is taken over: same row, its links stay', async () => {
    const legacy = await makeProject(db);
    const id = uniqueId('p');
    expect(await ok(await put('projects', { projects: [{ id, name: legacy.name }] }))).toMatchObject({ inserted: 0, updated: 1 });
    const { rows } = await db.execute<{ id: string }>(sql`SELECT id::text FROM projects WHERE directory_id = ${id}`);
    expect(rows).toEqual([{ id: legacy.id }]);
  });

  it('422 naming the record for a name taken (in the request or by another project) and a repeated id; nothing written', async () => {
    const stored = { id: uniqueId('p'), name: uniqueId('proj') };
    await ok(await put('projects', { projects: [stored] }));
    const fresh = uniqueId('proj');
    const res = await put('projects', {
      projects: [
        { id: uniqueId('p'), name: fresh },
        { id: uniqueId('p'), name: fresh },
        { id: uniqueId('p'), name: stored.name },
      ],
    });
    const body = await problem(res, 422, 'validation_failed');
    expect(body.errors?.map((e) => e.path)).toEqual(['projects[1].name', 'projects[2].name']);
    expect(body.errors?.[1]?.message).toContain(stored.id);
    const { rows } = await db.execute(sql`SELECT 1 FROM projects WHERE name = ${fresh}`);
    expect(rows).toEqual([]);

    const same = uniqueId('p');
    const twice = await problem(
      await put('projects', {
        projects: [
          { id: same, name: uniqueId() },
          { id: same, name: uniqueId() },
        ],
      }),
      422,
      'validation_failed',
    );
    expect(twice.errors).toEqual([{ path: 'projects[1].id', message: 'the same id as projects[0]' }]);
    const tooMany = Array.from({ length: MAX_DIRECTORY_RECORDS + 1 }, (_, i) => ({ id: `x${i}`, name: `x${i}` }));
    expect((await problem(await put('projects', { projects: tooMany }), 422, 'validation_failed')).errors?.[0]?.path).toBe('projects');
    const longId = 'x'.repeat(129);
    expect((await problem(await put('projects', { projects: [{ id: longId, name: 'y' }] }), 422, 'validation_failed')).errors?.[0]?.path).toBe(
      'projects[0].id',
    );
  });

  it('mode=full over two requests of one run: what the run did not name becomes inactive, never deleted', async () => {
    const older = { id: uniqueId('p'), name: uniqueId('proj') };
    await ok(await put('projects', { projects: [older] }));
    const run = uniqueId('run');
    const first = { id: uniqueId('p'), name: uniqueId('proj') };
    const second = { id: uniqueId('p'), name: uniqueId('proj') };
    expect(await ok(await put('projects', { projects: [first] }, `?mode=full&run=${run}`))).toMatchObject({ inserted: 1, deactivated: 0 });
    const closing = await ok<{ deactivated: number }>(await put('projects', { projects: [second] }, `?mode=full&run=${run}&final=true`));
    expect(closing.deactivated).toBeGreaterThanOrEqual(1);
    const { rows } = await db.execute<{ directory_id: string; active: boolean }>(sql`
      SELECT directory_id, active FROM projects WHERE directory_id IN (${older.id}, ${first.id}, ${second.id}) ORDER BY name`);
    expect(Object.fromEntries(rows.map((r) => [r.directory_id, r.active]))).toEqual({ [older.id]: false, [first.id]: true, [second.id]: true });
    const { rows: left } = await db.execute(sql`SELECT 1 FROM directory_sync_runs WHERE run = ${run}`);
    expect(left).toEqual([]);
    await problem(await put('projects', { projects: [first] }, `?run=${run}`), 422, 'validation_failed');
  });
});

describe('PUT /directory/users', () => {
  it('422 for an unknown default project and an e-mail another user has (in the request, any case, or stored)', async () => {
    const stored = { id: uniqueId('u'), username: uniqueId('n'), email: `${uniqueId('Mail')}@Example.org` };
    await ok(await put('users', { users: [stored] }));
    const email = `${uniqueId('mail')}@example.org`;
    const body = await problem(
      await put('users', {
        users: [
          { id: uniqueId('u'), username: uniqueId('n'), default_project_id: uniqueId('nope') },
          { id: uniqueId('u'), email },
          { id: uniqueId('u'), email: email.toUpperCase() },
          { id: uniqueId('u'), email: stored.email.toLowerCase() },
          { id: uniqueId('u'), username: stored.username },
        ],
      }),
      422,
      'validation_failed',
    );
    expect(body.errors?.map((e) => e.path)).toEqual(['users[0].default_project_id', 'users[2].email', 'users[3].email', 'users[4].username']);
    const { rows } = await db.execute(sql`SELECT 1 FROM users WHERE lower(email) = ${email}`);
    expect(rows).toEqual([]);
  });

  it('two records cannot take over the same user made before the sync', async () => {
    const legacy = await makeUser(db);
    const body = await problem(
      await put('users', {
        users: [
          { id: uniqueId('u'), username: legacy.username },
          { id: uniqueId('u'), email: legacy.email },
        ],
      }),
      422,
      'validation_failed',
    );
    expect(body.errors?.map((e) => e.path)).toEqual(['users[1].id']);
  });

  it('stores users with their default project; a user made before the sync is taken over by username', async () => {
    const { project } = await grantedProject();
    const legacy = await makeUser(db, { email: null, externalId: null });
    const fresh = {
      id: uniqueId('u'),
      username: uniqueId('n'),
      email: `${uniqueId('m')}@example.org`,
      oidc_sub: uniqueId('sub'),
      default_project_id: project.id,
    };
    const claimed = { id: uniqueId('u'), username: legacy.username!, default_project_id: project.id };
    expect(await ok(await put('users', { users: [fresh, claimed] }))).toMatchObject({ inserted: 1, updated: 1, unchanged: 0 });
    const { rows } = await db.execute<{ id: string }>(sql`SELECT id::text FROM users WHERE directory_id = ${claimed.id}`);
    expect(rows).toEqual([{ id: legacy.id }]);
    const listed = await ok<{ users: unknown[] }>(await call('GET', `/directory/users?project=${encodeURIComponent(project.id)}&active=true`));
    expect(listed.users).toEqual(
      [
        { ...fresh, active: true, updated_at: expect.any(String) },
        { ...claimed, email: null, oidc_sub: null, active: true, updated_at: expect.any(String) },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  });
});

describe('PUT /directory/allocations', () => {
  it('422 for an unknown project, an ambiguous latest allocation, and an OpenStack allocation without its project', async () => {
    const { project, allocation } = await grantedProject();
    const body = await problem(
      await put('allocations', {
        allocations: [
          { id: uniqueId('a'), project_id: uniqueId('nope'), kind: 'hpc', valid_from: '2026-01-01T00:00:00Z' },
          { id: uniqueId('a'), project_id: project.id, kind: 'hpc', valid_from: allocation.valid_from },
          { id: uniqueId('a'), project_id: project.id, kind: 'openstack', valid_from: '2026-01-01T00:00:00Z', payload: {} },
          { id: uniqueId('a'), project_id: project.id, kind: 'hpc', valid_from: '2026-02-01T00:00:00Z', valid_to: '2026-01-01T00:00:00Z' },
          { id: uniqueId('a'), project_id: project.id, kind: 'hpc', valid_from: '2026-03-01T00:00:00Z', grants: { core_hours: 5 } },
        ],
      }),
      422,
      'validation_failed',
    );
    expect(body.errors?.map((e) => e.path)).toEqual(['allocations[2].payload.openstack', 'allocations[3].valid_to', 'allocations[4].grants']);
    const referential = await problem(
      await put('allocations', {
        allocations: [
          { id: uniqueId('a'), project_id: uniqueId('nope'), kind: 'hpc', valid_from: '2026-01-01T00:00:00Z' },
          { id: uniqueId('a'), project_id: project.id, kind: 'hpc', valid_from: allocation.valid_from },
        ],
      }),
      422,
      'validation_failed',
    );
    expect(referential.errors?.map((e) => e.path)).toEqual(['allocations[0].project_id', 'allocations[1].valid_from']);
    expect(referential.errors?.[1]?.message).toContain(allocation.id);
  });

  it('422 for two allocations of a project starting together, or two projects naming one OpenStack project: in the request and against stored ones', async () => {
    const { project, allocation } = await grantedProject();
    const other = { id: uniqueId('dp'), name: uniqueId('dproj') };
    await ok(await put('projects', { projects: [other] }));
    const os = (id: string) => ({ openstack: { project_id: id, project_name: `name-${id}` } });
    const cloud = uniqueId('os');
    const stored = { id: uniqueId('a'), project_id: project.id, kind: 'openstack', valid_from: '2026-01-01T00:00:00Z', payload: os(cloud) };
    await ok(await put('allocations', { allocations: [stored] }));
    const pair = uniqueId('os');
    const body = await problem(
      await put('allocations', {
        allocations: [
          { id: uniqueId('a'), project_id: other.id, kind: 'hpc', valid_from: '2027-01-01T00:00:00Z' },
          { id: uniqueId('a'), project_id: other.id, kind: 'hpc', valid_from: '2027-01-01T00:00:00Z' },
          { id: uniqueId('a'), project_id: other.id, kind: 'openstack', valid_from: '2026-01-01T00:00:00Z', payload: os(cloud) },
          { id: uniqueId('a'), project_id: project.id, kind: 'openstack', valid_from: '2026-01-01T00:00:00Z', payload: os(pair) },
          { id: uniqueId('a'), project_id: other.id, kind: 'openstack', valid_from: '2026-01-01T00:00:00Z', payload: os(pair) },
          // Inactive: no clash. The same OpenStack project as the stored one, in its project: a clash only with [2].
          { id: uniqueId('a'), project_id: other.id, kind: 'hpc', valid_from: '2027-01-01T00:00:00Z', active: false },
          { id: uniqueId('a'), project_id: project.id, kind: 'openstack', valid_from: '2026-01-01T00:00:00Z', payload: os(cloud) },
        ],
      }),
      422,
      'validation_failed',
    );
    expect(body.errors?.map((e) => e.path)).toEqual([
      'allocations[0].valid_from',
      'allocations[1].valid_from',
      // Against the stored one and against the last record (which is in the stored one's project).
      'allocations[2].payload.openstack.project_id',
      'allocations[2].payload.openstack.project_id',
      'allocations[3].payload.openstack.project_id',
      'allocations[4].payload.openstack.project_id',
      'allocations[6].payload.openstack.project_id',
    ]);
    expect(body.errors?.filter((e) => e.path === 'allocations[2].payload.openstack.project_id' && e.message.includes(stored.id))).toHaveLength(1);
    // A record that names a stored allocation replaces it: moving the stored one to the other project while
    // another record takes its OpenStack project in the first is no clash; nor is a stored allocation with itself.
    const moved = { ...stored, project_id: other.id, payload: os(uniqueId('os')) };
    const taker = { id: uniqueId('a'), project_id: project.id, kind: 'openstack', valid_from: '2026-01-01T00:00:00Z', payload: os(cloud) };
    expect(await ok(await put('allocations', { allocations: [moved, taker] }))).toMatchObject({ inserted: 1, updated: 1 });
    expect(await ok(await put('allocations', { allocations: [allocation, moved, taker] }))).toMatchObject({ unchanged: 3 });
  });
});

describe('a batch mostly sent before', () => {
  it('changes nothing when re-sent, and still refuses what its changed records break against the unchanged ones', async () => {
    const [p1, p2] = [
      { id: uniqueId('p'), name: uniqueId('proj') },
      { id: uniqueId('p'), name: uniqueId('proj') },
    ];
    await ok(await put('projects', { projects: [p1, p2] }));
    const [u1, u2] = [
      { id: uniqueId('u'), username: uniqueId('n'), email: `${uniqueId('m')}@example.org`, default_project_id: p1.id },
      { id: uniqueId('u'), username: uniqueId('n'), email: `${uniqueId('m')}@example.org` },
    ];
    await ok(await put('users', { users: [u1, u2] }));
    const [a1, a2] = [
      { id: uniqueId('a'), project_id: p1.id, kind: 'hpc', valid_from: '2027-01-01T00:00:00Z', grants: { cpu_core_seconds: 10 } },
      { id: uniqueId('a'), project_id: p1.id, kind: 'hpc', valid_from: '2028-01-01T00:00:00Z', grants: { cpu_core_seconds: 20 } },
    ];
    await ok(await put('allocations', { allocations: [a1, a2] }));
    const stamps = async () =>
      (
        await db.execute<{ t: string }>(sql`
          SELECT updated_at::text AS t FROM projects WHERE directory_id IN (${p1.id}, ${p2.id})
          UNION ALL SELECT updated_at::text FROM users WHERE directory_id IN (${u1.id}, ${u2.id})
          UNION ALL SELECT updated_at::text FROM allocations WHERE directory_id IN (${a1.id}, ${a2.id})`)
      ).rows.map((r) => r.t);
    const before = await stamps();
    expect(await ok(await put('projects', { projects: [p1, p2] }))).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
    expect(await ok(await put('users', { users: [u1, u2] }))).toMatchObject({ inserted: 0, updated: 0, unchanged: 2, remap_queued: 0 });
    expect(await ok(await put('allocations', { allocations: [a1, a2] }))).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
    expect(await stamps()).toEqual(before);

    // One record changed beside an unchanged one: the clash pairs them, and the unchanged one is named too.
    const names = await problem(await put('projects', { projects: [{ ...p2, name: p1.name }, p1] }), 422, 'validation_failed');
    expect(names.errors?.map((e) => e.path)).toEqual(['projects[0].name', 'projects[1].name']);
    const usernames = await problem(await put('users', { users: [{ ...u2, username: u1.username }, u1] }), 422, 'validation_failed');
    expect(usernames.errors?.map((e) => e.path)).toEqual(['users[0].username', 'users[1].username']);
    const project = await problem(await put('users', { users: [u1, { ...u2, default_project_id: uniqueId('nope') }] }), 422, 'validation_failed');
    expect(project.errors?.map((e) => e.path)).toEqual(['users[1].default_project_id']);
    const starts = await problem(await put('allocations', { allocations: [a1, { ...a2, valid_from: a1.valid_from }] }), 422, 'validation_failed');
    expect(starts.errors?.map((e) => e.path)).toEqual(['allocations[0].valid_from', 'allocations[1].valid_from']);
    expect(await stamps()).toEqual(before);
  });
});

describe('re-mapping after a directory change', () => {
  it('an event that waited for its user resolves when the user is added, without /links/remap', async () => {
    const { project } = await grantedProject();
    const username = uniqueId('late');
    const [id] = await storeEvents(db, [{ project: project.name, identities: [{ scheme: 'perun_username', value: username }] }]);
    expect((await mapNow([id!]))[0]).toMatchObject({ status: 'partial', user_id: null });

    const result = await ok<{ remap_queued: number }>(await put('users', { users: [{ id: uniqueId('u'), username }] }));
    expect(result.remap_queued).toBeGreaterThanOrEqual(1);
    const [link] = await eventually(
      () => linksOf(db, [id!]),
      ([l]) => l?.status === 'resolved',
    );
    expect(link).toMatchObject({ status: 'resolved' });
    expect(link!.user_id).not.toBeNull();
  });

  it('a new allocation with a later start takes over its project’s later events; manual links stay', async () => {
    const { project } = await grantedProject({ validFrom: '2026-01-01T00:00:00Z' });
    const user = await makeUser(db);
    const ids = await storeEvents(db, [
      { project: project.name, day: 3, identities: [{ scheme: 'perun_username', value: user.username! }] },
      { project: project.name, day: 20, identities: [{ scheme: 'perun_username', value: user.username! }] },
      { project: project.name, day: 21, identities: [{ scheme: 'perun_username', value: user.username! }] },
    ]);
    const [early, late, manual] = await mapNow(ids);
    expect(late!.allocation_id).toBe(early!.allocation_id);
    await ok(await call('PUT', `/links/events/${ids[2]}`, { project_id: manual!.project_id, allocation_id: manual!.allocation_id, note: 'kept' }));

    const next = { id: uniqueId('a'), project_id: project.id, kind: 'hpc', valid_from: '2026-01-15T00:00:00Z' };
    await ok(await put('allocations', { allocations: [next] }));
    const { rows } = await db.execute<{ id: string }>(sql`SELECT id::text FROM allocations WHERE directory_id = ${next.id}`);
    const links = await eventually(
      () => linksOf(db, ids),
      ([, l]) => l?.allocation_id === rows[0]!.id,
    );
    expect(links[0]!.allocation_id).toBe(early!.allocation_id);
    expect(links[1]!.allocation_id).toBe(rows[0]!.id);
    expect(links[2]).toMatchObject({ status: 'manual', allocation_id: early!.allocation_id, note: 'kept' });
  });
});

type Balance = { allocation_id: string; metrics: Record<string, { granted: number; used: number; remaining: number; used_share: number }> };

describe('balances', () => {
  it('used = Σ over linked events within the validity; follows a re-sent event; unmapped usage is not charged', async () => {
    // Valid from 06:00 on 1 January: the whole days from the per-day charges, the partial first day from the links.
    const { project, allocation } = await grantedProject({
      validFrom: '2026-01-01T06:00:00Z',
      grants: { cpu_core_seconds: 1000, gpu_time_seconds: 50 },
    });
    const username = uniqueId('bal');
    await ok(await put('users', { users: [{ id: uniqueId('u'), username }] }));
    const identities = [{ scheme: 'perun_username' as const, value: username }];
    const at = (start: string, cpu: number, gpu = 0) =>
      makeEvent({
        project: project.name,
        identities,
        time_window_start: start,
        time_window_end: new Date(Date.parse(start) + 3_600_000).toISOString(),
        collected_at: '2026-02-01T00:00:00Z',
        metrics: { cpu_core_seconds: cpu, gpu_time_seconds: gpu },
      });
    const sent = await ok<IngestResponse>(
      await postEvents({
        events: [
          at('2026-01-01T03:00:00Z', 1), // before the validity: not linked to it
          at('2026-01-01T12:00:00Z', 100, 10),
          at('2026-01-02T00:00:00Z', 200),
          at('2026-01-05T08:00:00Z', 300),
          { ...at('2026-01-06T00:00:00Z', 5000), context: { cluster: 'test-cluster', project: uniqueId('elsewhere') } },
        ],
      }),
    );
    await waitForLinks(sent.events.map((e) => e.id));

    const read = async () => ok<Balance>(await call('GET', `/allocations/${encodeURIComponent(allocation.id)}/balance`, undefined, TEST_READ_KEY));
    expect(await read()).toEqual({
      allocation_id: allocation.id,
      project_id: project.id,
      kind: 'hpc',
      valid_from: '2026-01-01T06:00:00.000Z',
      valid_to: null,
      active: true,
      metrics: {
        cpu_core_seconds: { granted: 1000, used: 600, remaining: 400, used_share: 0.6 },
        gpu_time_seconds: { granted: 50, used: 10, remaining: 40, used_share: 0.2 },
      },
    });

    // The same event collected again with new figures: its link stays, the charge follows.
    const again = { ...at('2026-01-02T00:00:00Z', 700), collected_at: '2026-02-02T00:00:00Z' };
    expect(await ok<IngestResponse>(await postEvents({ events: [again] }))).toMatchObject({ updated: 1 });
    const updated = await eventually(read, (b) => b.metrics.cpu_core_seconds?.used === 1100);
    expect(updated.metrics.cpu_core_seconds).toEqual({ granted: 1000, used: 1100, remaining: -100, used_share: 1.1 });

    // A validity cut short at noon on 2 January: only what started before then is charged.
    await ok(await put('allocations', { allocations: [{ ...allocation, valid_from: '2026-01-01T06:00:00Z', valid_to: '2026-01-02T12:00:00Z' }] }));
    const cut = await eventually(read, (b) => b.metrics.cpu_core_seconds?.used === 800);
    expect(cut.metrics.cpu_core_seconds?.used).toBe(800);

    // Re-mapping (queued by the change of validity) unlinks the event of 5 January.
    const list = await eventually(
      async () =>
        ok<{ allocations: Balance[]; unmapped_events: number; next_cursor: string | null }>(
          await call('GET', `/allocations?project=${encodeURIComponent(project.id)}&active=true`, undefined, TEST_READ_KEY),
        ),
      (l) => l.unmapped_events === 2,
    );
    expect(list.allocations).toEqual([cut]);
    expect(list.next_cursor).toBeNull();
    // The first event (before the validity) and the one on 5 January (after the cut) have no allocation.
    expect(list.unmapped_events).toBe(2);
  });

  it('the list pages by id and refuses a cursor it did not give', async () => {
    const { project } = await grantedProject();
    await ok(
      await put('allocations', {
        allocations: [
          { id: uniqueId('da'), project_id: project.id, kind: 'hpc', valid_from: '2027-01-01T00:00:00Z', grants: { walltime_allocated: 10 } },
        ],
      }),
    );
    const first = await ok<{ allocations: Balance[]; next_cursor: string }>(
      await call('GET', `/allocations?project=${encodeURIComponent(project.id)}&limit=1`, undefined, TEST_READ_KEY),
    );
    expect(first.allocations).toHaveLength(1);
    const second = await ok<{ allocations: Balance[]; next_cursor: string | null }>(
      await call(
        'GET',
        `/allocations?project=${encodeURIComponent(project.id)}&limit=1&cursor=${encodeURIComponent(first.next_cursor)}`,
        undefined,
        TEST_READ_KEY,
      ),
    );
    expect(second.allocations).toHaveLength(1);
    expect(second.allocations[0]!.allocation_id > first.allocations[0]!.allocation_id).toBe(true);
    expect(second.next_cursor).toBeNull();
    await problem(await call('GET', '/allocations?cursor=%21%21', undefined, TEST_READ_KEY), 400, 'bad_request');
  });
});

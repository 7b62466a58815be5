/**
 * The directory's write on a database of its own, where no row made before the directory sync is left to take over:
 * every batch goes the one-statement way, which first leaves names, usernames, e-mails and OIDC subjects to the
 * unique indexes and runs the full check only when one refuses a row (or the quick check finds something). The
 * answer must be the full check's all the same: every clashing record and field named, nothing written.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/client.ts';
import { syncDirectory } from '../../../src/mapping/directory-sync.ts';
import { uniqueId } from '../../support/events.ts';
import { type MigratedDatabase, startMigratedDatabase } from '../../support/fresh-database.ts';

let database: MigratedDatabase;
let db: Database;

beforeAll(async () => {
  database = await startMigratedDatabase();
  db = database.db;
}, 120_000);
afterAll(() => database?.close());

const merge = { mode: 'merge' as const };
const count = async (table: 'projects' | 'users') =>
  Number((await db.execute<{ n: string }>(sql`SELECT count(*) AS n FROM ${sql.raw(table)}`)).rows[0]!.n);

describe('syncDirectory with no row left to take over', () => {
  it('users: a clash with a stored user or within the request is a 422 naming every record and field, with the unknown default project; nothing written', async () => {
    const project = { id: uniqueId('p'), name: uniqueId('proj') };
    expect(await syncDirectory(db, 'projects', { projects: [project] }, merge)).toMatchObject({ ok: true, write: { inserted: 1 } });
    const stored = { id: uniqueId('u'), username: uniqueId('alice'), email: `${uniqueId('alice')}@example.org`, oidc_sub: uniqueId('sub') };
    expect(await syncDirectory(db, 'users', { users: [stored] }, merge)).toMatchObject({ ok: true, write: { inserted: 1 } });
    const users = await count('users');

    const shared = `${uniqueId('bob')}@Example.org`;
    const outcome = await syncDirectory(
      db,
      'users',
      {
        users: [
          { id: uniqueId('u'), username: stored.username },
          { id: uniqueId('u'), email: shared },
          { id: uniqueId('u'), email: shared.toLowerCase() },
          { id: uniqueId('u'), oidc_sub: stored.oidc_sub, default_project_id: uniqueId('missing') },
          { id: uniqueId('u'), username: uniqueId('carol'), default_project_id: project.id },
        ],
      },
      merge,
    );
    expect(outcome).toEqual({
      ok: false,
      errors: [
        { path: 'users[0].username', message: `user ${stored.id} already has this username` },
        { path: 'users[2].email', message: 'the same email as an earlier user of this request' },
        { path: 'users[3].default_project_id', message: 'no project has this id (PUT /directory/projects first)' },
        { path: 'users[3].oidc_sub', message: `user ${stored.id} already has this OIDC subject` },
      ],
    });
    expect(await count('users')).toBe(users);

    // The unknown default project alone: the quick check's own finding, the same answer.
    const alone = await syncDirectory(db, 'users', { users: [{ id: uniqueId('u'), default_project_id: uniqueId('missing') }] }, merge);
    expect(alone).toEqual({
      ok: false,
      errors: [{ path: 'users[0].default_project_id', message: 'no project has this id (PUT /directory/projects first)' }],
    });

    // A clean batch is stored, and the same batch again changes nothing.
    const clean = { users: [{ id: uniqueId('u'), username: uniqueId('dave'), email: shared, default_project_id: project.id }] };
    expect(await syncDirectory(db, 'users', clean, merge)).toMatchObject({ ok: true, write: { inserted: 1, updated: 0 } });
    expect(await syncDirectory(db, 'users', clean, merge)).toMatchObject({ ok: true, write: { inserted: 0, updated: 0, unchanged: 1 } });
    expect(await count('users')).toBe(users + 1);
  });

  it('a changed user taking a value another stored user has is refused by name; swapping two usernames in one request too', async () => {
    const a = { id: uniqueId('u'), username: uniqueId('erin') };
    const b = { id: uniqueId('u'), username: uniqueId('frank') };
    expect(await syncDirectory(db, 'users', { users: [a, b] }, merge)).toMatchObject({ ok: true, write: { inserted: 2 } });
    expect(await syncDirectory(db, 'users', { users: [{ ...a, username: b.username }] }, merge)).toEqual({
      ok: false,
      errors: [{ path: 'users[0].username', message: `user ${b.id} already has this username` }],
    });
    const swapped = await syncDirectory(
      db,
      'users',
      {
        users: [
          { ...a, username: b.username },
          { ...b, username: a.username },
        ],
      },
      merge,
    );
    expect(swapped).toEqual({
      ok: false,
      errors: [
        { path: 'users[0].username', message: `user ${b.id} already has this username` },
        { path: 'users[1].username', message: `user ${a.id} already has this username` },
      ],
    });
    const { rows } = await db.execute<{ id: string; username: string }>(
      sql`SELECT directory_id AS id, username FROM users WHERE directory_id IN (${a.id}, ${b.id}) ORDER BY username`,
    );
    expect(rows).toEqual([a, b].sort((x, y) => (x.username < y.username ? -1 : 1)));
  });

  it('projects: a name another project has, stored or earlier in the request, is a 422 naming both; nothing written', async () => {
    const stored = { id: uniqueId('p'), name: uniqueId('proj') };
    expect(await syncDirectory(db, 'projects', { projects: [stored] }, merge)).toMatchObject({ ok: true });
    const projects = await count('projects');
    const name = uniqueId('twice');
    const outcome = await syncDirectory(
      db,
      'projects',
      {
        projects: [
          { id: uniqueId('p'), name: stored.name },
          { id: uniqueId('p'), name },
          { id: uniqueId('p'), name },
        ],
      },
      merge,
    );
    expect(outcome).toEqual({
      ok: false,
      errors: [
        { path: 'projects[0].name', message: `project ${stored.id} already has this name` },
        { path: 'projects[2].name', message: 'the same name as an earlier project of this request' },
      ],
    });
    expect(await count('projects')).toBe(projects);
  });

  it('allocations: grants are stored as the JSON the record holds, and the same grants again change nothing', async () => {
    const project = { id: uniqueId('p'), name: uniqueId('proj') };
    await syncDirectory(db, 'projects', { projects: [project] }, merge);
    const grantsOf = [
      { cpu_core_seconds: 3_600_000, gpu_time_seconds: 0.1 + 0.2, storage_bytes_allocated: 1e18, walltime_allocated: 1e-7 },
      { walltime_allocated: 12.5 },
      {},
      undefined,
    ];
    const records = grantsOf.map((grants, i) => ({
      id: uniqueId('a'),
      project_id: project.id,
      kind: 'hpc' as const,
      valid_from: `202${i}-01-01T00:00:00Z`,
      ...(grants ? { grants } : {}),
    }));
    expect(await syncDirectory(db, 'allocations', { allocations: records }, merge)).toMatchObject({ ok: true, write: { inserted: 4 } });
    for (const r of records) {
      const { rows } = await db.execute<{ same: boolean }>(
        sql`SELECT grants = ${JSON.stringify(r.grants ?? {})}::jsonb AS same FROM allocations WHERE directory_id = ${r.id}`,
      );
      expect(rows).toEqual([{ same: true }]);
    }
    expect(await syncDirectory(db, 'allocations', { allocations: records }, merge)).toMatchObject({ ok: true, write: { unchanged: 4 } });
    const changed = [{ ...records[1]!, grants: { walltime_allocated: 12.25 } }];
    expect(await syncDirectory(db, 'allocations', { allocations: changed }, merge)).toMatchObject({ ok: true, write: { updated: 1 } });
  });
});

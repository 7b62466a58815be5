/**
 * The directory batches' plain path (src/contracts/directory.ts, acceptingPlain): a batch whose every record is
 * plainly valid is taken as it is, without zod. It must answer exactly as zod does. Each body below goes through the
 * route's method (safeParse) and through zod itself (the schema's Standard Schema `validate`, which the plain path
 * does not touch): the same verdict and the same value, for valid records and for every field bent in many ways.
 */
import { describe, expect, it } from 'vitest';
import { SyncAllocationsRequestSchema, SyncProjectsRequestSchema, SyncUsersRequestSchema } from '../../../src/contracts/directory.ts';

type Schema = typeof SyncUsersRequestSchema | typeof SyncProjectsRequestSchema | typeof SyncAllocationsRequestSchema;

function zodVerdict(schema: Schema, body: unknown): { ok: boolean; value?: unknown } {
  const result = schema['~standard'].validate(body) as { value?: unknown; issues?: unknown[] };
  return result.issues ? { ok: false } : { ok: true, value: result.value };
}

/** Every body through both; how many the plain path took (the value is the body itself, not zod's copy). */
function compare(schema: Schema, bodies: unknown[]): { plain: number; valid: number } {
  let plain = 0;
  let valid = 0;
  for (const body of bodies) {
    const ours = schema.safeParse(body);
    const zods = zodVerdict(schema, body);
    expect({ body, ok: ours.success }).toEqual({ body, ok: zods.ok });
    if (ours.success) {
      valid++;
      expect(ours.data).toEqual(zods.value);
      if (ours.data === body) plain++;
    }
  }
  return { plain, valid };
}

const TEXT = [
  '',
  'a',
  ' ',
  'x'.repeat(128),
  'x'.repeat(129),
  'x'.repeat(256),
  'x'.repeat(257),
  'x'.repeat(512),
  'x'.repeat(513),
  'é✓ "q" \\',
  'NULL',
];
const ODD = [undefined, null, 0, 1, -1, 1.5, true, false, [], ['a'], {}, { a: 1 }, 'true'];
const EMAILS = [
  'alice@example.org',
  'Alice.Smith+tag@Example.ORG',
  "o'hara@example.co.uk",
  'a@b.c',
  'a@b.cc',
  'a..b@example.org',
  '.a@example.org',
  'a.@example.org',
  'a@-example.org',
  'a@example',
  'a@example.o1',
  '@example.org',
  'a b@example.org',
  `${'a'.repeat(310)}@example.org`,
  `${'a'.repeat(308)}@example.org`,
];
const INSTANTS = [
  '2026-01-01T00:00:00Z',
  '2026-01-01T00:00:00.123456Z',
  '2026-01-01T00:00:00+02:00',
  '2026-01-01T00:00:00-23:59',
  '2026-01-01T00:00:00+24:00',
  '2026-01-01T00:00Z',
  '2026-01-01T00:00:00',
  '2026-01-01 00:00:00Z',
  '2026-01-01t00:00:00z',
  '2026-02-29T00:00:00Z',
  '2024-02-29T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-04-31T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T23:60:00Z',
  '2026-01-01',
];
const GRANTS = [1, 0.5, 1e18, 1e18 + 1e3, 1e19, 0, -1, '1', null, true];

/** `base` with `field` set to each value (undefined: left out), each as a batch of one. */
function bent(key: string, base: Record<string, unknown>, field: string, values: unknown[]): unknown[] {
  return values.map((v) => {
    const r: Record<string, unknown> = { ...base };
    if (v === undefined) delete r[field];
    else r[field] = v;
    return { [key]: [r] };
  });
}

/** Batches around the records themselves: their number, repeated ids, the wrapper's keys, a key named __proto__. */
function batchShapes(key: string, make: (i: number) => Record<string, unknown>): unknown[] {
  const many = (n: number) => Array.from({ length: n }, (_, i) => make(i));
  return [
    { [key]: many(3) },
    { [key]: [] },
    { [key]: many(5000) },
    { [key]: many(5001) },
    { [key]: [make(1), make(2), make(1)] },
    { [key]: many(2), other: 1 },
    { other: many(2) },
    JSON.parse(`{"${key}": [${JSON.stringify(make(0))}], "__proto__": {"x": 1}}`),
    JSON.parse(`{"${key}": [${JSON.stringify(make(0)).replace('{', '{"__proto__": 1, ')}]}`),
    { [key]: [Object.assign(Object.create({ inherited: 1 }), make(0))] },
    { [key]: make(0) },
    [make(0)],
    null,
    'users',
  ];
}

describe('directory batches: the plain path answers as zod does', () => {
  it('projects', () => {
    const base = { id: 'p-1', name: 'astro' };
    const bodies = [
      ...batchShapes('projects', (i) => ({ id: `p-${i}`, name: `proj-${i}` })),
      ...bent('projects', base, 'id', [...TEXT, ...ODD]),
      ...bent('projects', base, 'name', [...TEXT, ...ODD]),
      ...bent('projects', base, 'active', ODD),
      ...bent('projects', base, 'extra', [undefined, 1]),
    ];
    const { plain, valid } = compare(SyncProjectsRequestSchema, bodies);
    expect(plain).toBeGreaterThan(10);
    expect(plain).toBe(valid); // every valid batch here took the plain path
  });

  it('users', () => {
    const base = { id: 'u-1', username: 'alice', email: 'alice@example.org', oidc_sub: 'sub-1', default_project_id: 'p-1' };
    const bodies = [
      ...batchShapes('users', (i) => ({ id: `u-${i}`, username: `user-${i}`, email: `user-${i}@example.org`, default_project_id: 'p-1' })),
      ...bent('users', base, 'id', [...TEXT, ...ODD]),
      ...bent('users', base, 'username', [...TEXT, ...ODD]),
      ...bent('users', base, 'email', [...EMAILS, ...TEXT, ...ODD]),
      ...bent('users', base, 'oidc_sub', [...TEXT, ...ODD]),
      ...bent('users', base, 'default_project_id', [...TEXT, ...ODD]),
      ...bent('users', base, 'active', ODD),
      ...bent('users', base, 'extra', [undefined, 1]),
    ];
    const { plain, valid } = compare(SyncUsersRequestSchema, bodies);
    expect(plain).toBeGreaterThan(30);
    expect(plain).toBe(valid);
  });

  it('allocations', () => {
    const base = { id: 'a-1', project_id: 'p-1', kind: 'hpc', valid_from: '2026-01-01T00:00:00Z', grants: { cpu_core_seconds: 3.6e6 } };
    const openstack = { openstack: { project_id: 'os-1', project_name: 'astro' } };
    const bodies = [
      ...batchShapes('allocations', (i) => ({ ...base, id: `a-${i}`, valid_to: null, payload: { n: i } })),
      ...bent('allocations', base, 'id', [...TEXT, ...ODD]),
      ...bent('allocations', base, 'project_id', [...TEXT, ...ODD]),
      ...bent('allocations', base, 'kind', ['hpc', 'openstack', 'HPC', ...ODD]),
      ...bent('allocations', base, 'valid_from', [...INSTANTS, ...ODD]),
      ...bent('allocations', base, 'valid_to', [
        ...INSTANTS,
        '2025-12-31T23:59:59Z',
        '2026-01-01T01:00:00+01:00',
        '2026-01-01T00:00:00.001Z',
        ...ODD,
      ]),
      ...bent('allocations', base, 'grants', [
        ...ODD,
        ...GRANTS.map((g) => ({ cpu_core_seconds: g })),
        { gpu_time_seconds: 1, storage_bytes_allocated: 2, walltime_allocated: 3 },
        { cpu_core_seconds: 1, other: 1 },
        JSON.parse('{"__proto__": 1}'),
      ]),
      ...bent('allocations', base, 'payload', [...ODD, openstack, { a: { b: [1, null, 'x'] } }, JSON.parse('{"__proto__": {"a": 1}}')]),
      ...bent('allocations', { ...base, kind: 'openstack' }, 'payload', [undefined, openstack, { openstack: { project_id: 'os-1' } }]),
      ...bent('allocations', base, 'active', ODD),
    ];
    const { plain, valid } = compare(SyncAllocationsRequestSchema, bodies);
    expect(plain).toBeGreaterThan(30);
    expect(valid - plain).toBeGreaterThanOrEqual(2); // what went to zod: the prototype one, OpenStack allocations
  });
});

/**
 * Demo records of the allocation system for `npm run dev`, so that link mapping has something to map
 * to: the demo PBS cluster's users (alice, bob, carol) and projects (astro, bio, and
 * `_pbs_project_default` through each user's default project), the seed's curl example (perun_user
 * `user123`, project `test-project-1`), and one OpenStack GitOps allocation. Fixed ids, and the
 * allocation system's ids of docs/directory-example.json (so that `npm run directory:push` of that file
 * finds these rows); running it again changes nothing, and never overwrites edits.
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/neon-http';
import type { OpenStackAllocationPayload } from '../contracts/event-link.ts';
import { allocations, type NewAllocation, type NewProject, type NewUser, projects, users } from '../db/schema/index.ts';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

export const DEMO_PROJECTS = {
  astro: id(101),
  bio: id(102),
  testProject1: id(103),
  climate: id(104),
} as const;

const demoProjects: NewProject[] = [
  { id: DEMO_PROJECTS.astro, name: 'astro', directoryId: 'proj-astro' },
  { id: DEMO_PROJECTS.bio, name: 'bio', directoryId: 'proj-bio' },
  { id: DEMO_PROJECTS.testProject1, name: 'test-project-1', directoryId: 'proj-test-project-1' },
  { id: DEMO_PROJECTS.climate, name: 'climate', directoryId: 'proj-climate' },
];

const demoUsers: NewUser[] = [
  {
    id: id(201),
    directoryId: 'user-alice',
    username: 'alice',
    email: 'alice@demo.local',
    externalId: 'demo-oidc-alice',
    defaultProjectId: DEMO_PROJECTS.astro,
  },
  {
    id: id(202),
    directoryId: 'user-bob',
    username: 'bob',
    email: 'bob@demo.local',
    externalId: 'demo-oidc-bob',
    defaultProjectId: DEMO_PROJECTS.bio,
  },
  {
    id: id(203),
    directoryId: 'user-carol',
    username: 'carol',
    email: 'carol@demo.local',
    externalId: 'demo-oidc-carol',
    defaultProjectId: DEMO_PROJECTS.astro,
  },
  { id: id(204), directoryId: 'user-user123', username: 'user123', email: 'user123@example.org', defaultProjectId: DEMO_PROJECTS.testProject1 },
];

/** The OpenStack project the `climate` project's GitOps allocation names (also in `npm run dev`'s demo cloud). */
export const DEMO_OPENSTACK_PROJECT = { id: '5f0c6a1e2b7d4c2a9e51f0a3c8d7b6e4', name: 'meta-climate' } as const;

const climateGitOps: OpenStackAllocationPayload = {
  source: 'gitops',
  openstack: { project_id: DEMO_OPENSTACK_PROJECT.id, project_name: DEMO_OPENSTACK_PROJECT.name },
  quota: { instances: 20, cores: 64, ram_mb: 262144 },
};

const demoAllocations: NewAllocation[] = [
  // astro: an expired grant and the current one (mapping picks the one valid at the event's time).
  {
    id: id(301),
    directoryId: 'alloc-astro-2024',
    projectId: DEMO_PROJECTS.astro,
    kind: 'hpc',
    payload: { core_hours: 50_000 },
    validFrom: '2024-01-01T00:00:00Z',
    validTo: '2025-01-01T00:00:00Z',
  },
  {
    id: id(302),
    directoryId: 'alloc-astro-2025',
    projectId: DEMO_PROJECTS.astro,
    kind: 'hpc',
    payload: { core_hours: 120_000 },
    validFrom: '2025-01-01T00:00:00Z',
  },
  {
    id: id(303),
    directoryId: 'alloc-bio-2025',
    projectId: DEMO_PROJECTS.bio,
    kind: 'hpc',
    payload: { core_hours: 80_000 },
    validFrom: '2025-01-01T00:00:00Z',
  },
  {
    id: id(304),
    directoryId: 'alloc-test-project-1-2025',
    projectId: DEMO_PROJECTS.testProject1,
    kind: 'hpc',
    payload: { core_hours: 10_000 },
    validFrom: '2025-01-01T00:00:00Z',
  },
  {
    id: id(305),
    directoryId: 'alloc-climate-openstack',
    projectId: DEMO_PROJECTS.climate,
    kind: 'openstack',
    payload: climateGitOps,
    validFrom: '2025-01-01T00:00:00Z',
  },
];

export async function seedDemo(opts: { databaseUrl: string; sqlUrl?: string }): Promise<void> {
  if (opts.sqlUrl) neonConfig.fetchEndpoint = opts.sqlUrl;
  const db = drizzle({ client: neon(opts.databaseUrl) });
  // A data folder seeded before the directory existed gets the ids of docs/directory-example.json, nothing else.
  const claim = <T extends typeof projects | typeof users | typeof allocations>(t: T) => ({
    target: t.id,
    set: { directoryId: sql.raw('excluded.directory_id') },
    setWhere: sql`${t.directoryId} IS NULL`,
  });
  await db.insert(projects).values(demoProjects).onConflictDoUpdate(claim(projects));
  await db.insert(users).values(demoUsers).onConflictDoUpdate(claim(users));
  await db.insert(allocations).values(demoAllocations).onConflictDoUpdate(claim(allocations));
}

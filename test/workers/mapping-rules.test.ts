import { describe, expect, it } from 'vitest';
import { RULE_VERSION } from '../../src/mapping/rules.ts';
import { makeAllocation, makeGitOpsAllocation, makeProject, makeUser, storeEvents } from '../support/directory.ts';
import { uniqueId } from '../support/events.ts';
import { db } from './helpers.ts';
import { codes, mapNow } from './mapping-helpers.ts';

const perun = (value: string) => ({ scheme: 'perun_username' as const, value, authority: 'demo.local' });

/** A project with a current hpc allocation, and a user whose default project it is. */
async function directory() {
  const project = await makeProject(db);
  const allocation = await makeAllocation(db, project.id);
  const user = await makeUser(db, { defaultProjectId: project.id });
  return { project, allocation, user };
}

describe('link mapping rules: users from identities', () => {
  it('perun_username → username; a plain PBS project name → that project; its allocation valid at the time', async () => {
    const { project, allocation, user } = await directory();
    const [id] = await storeEvents(db, [{ project: project.name, identities: [perun(user.username!)] }]);
    const [link] = await mapNow([id!]);
    expect(link).toMatchObject({
      user_id: user.id,
      project_id: project.id,
      allocation_id: allocation.id,
      status: 'resolved',
      reasons: [],
      rule_version: RULE_VERSION,
    });
  });

  it("perun_user (the seed's spelling) → username too", async () => {
    const { project, user } = await directory();
    const [id] = await storeEvents(db, [
      { project: project.name, identities: [{ scheme: 'perun_user', value: user.username!, authority: 'perun.cesnet.cz' }] },
    ]);
    expect((await mapNow([id!]))[0]).toMatchObject({ user_id: user.id, status: 'resolved' });
  });

  it('oidc_sub → external id; user_email → e-mail, whatever its case', async () => {
    const { project, user } = await directory();
    const ids = await storeEvents(db, [
      { project: project.name, identities: [{ scheme: 'oidc_sub', value: user.externalId! }] },
      { project: project.name, day: 1, identities: [{ scheme: 'user_email', value: user.email!.toUpperCase() }] },
    ]);
    for (const link of await mapNow(ids)) expect(link).toMatchObject({ user_id: user.id, status: 'resolved' });
  });

  it('several identities naming the same user resolve to that user; one that matches nobody is ignored', async () => {
    const { project, user } = await directory();
    const [id] = await storeEvents(db, [
      {
        project: project.name,
        identities: [perun(user.username!), { scheme: 'user_email', value: user.email! }, { scheme: 'oidc_sub', value: uniqueId('nobody') }],
      },
    ]);
    expect((await mapNow([id!]))[0]).toMatchObject({ user_id: user.id, status: 'resolved' });
  });

  it('identities that name two different users: unresolved, and the reason names both', async () => {
    const { project, user } = await directory();
    const other = await makeUser(db);
    const [id] = await storeEvents(db, [
      { project: project.name, identities: [perun(user.username!), { scheme: 'user_email', value: other.email! }] },
    ]);
    const [link] = await mapNow([id!]);
    expect(link).toMatchObject({ user_id: null, project_id: project.id, status: 'unresolved' });
    expect(codes(link)).toEqual({ user: 'identity_conflict' });
    expect(link!.reasons[0]!.detail).toContain(user.id);
    expect(link!.reasons[0]!.detail).toContain(other.id);
  });

  it('no user for the identities: user_not_found, naming what was looked up; the rest still resolves (partial)', async () => {
    const { project, allocation } = await directory();
    const ghost = uniqueId('ghost');
    const [id] = await storeEvents(db, [{ project: project.name, identities: [perun(ghost)] }]);
    const [link] = await mapNow([id!]);
    expect(link).toMatchObject({ user_id: null, project_id: project.id, allocation_id: allocation.id, status: 'partial' });
    expect(codes(link)).toEqual({ user: 'user_not_found' });
    expect(link!.reasons[0]!.detail).toContain(`perun_username '${ghost}'`);
  });

  it('identities mapping cannot use (only openstack_user_id): partial, no_user_identity', async () => {
    const { project, allocation } = await directory();
    const [id] = await storeEvents(db, [{ project: project.name, identities: [{ scheme: 'openstack_user_id', value: 'abc' }] }]);
    const [link] = await mapNow([id!]);
    expect(link).toMatchObject({ user_id: null, project_id: project.id, allocation_id: allocation.id, status: 'partial' });
    expect(codes(link)).toEqual({ user: 'no_user_identity' });
  });

  it('no identity at all (OpenStack usage): resolved with no user once project and allocation resolve', async () => {
    const { project, allocation } = await directory();
    const gitops = await makeGitOpsAllocation(db, project.id);
    const [plain, openstack, nowhere] = await storeEvents(db, [
      { project: project.name, day: 1, identities: [] },
      { source: 'openstack', identities: [], raw: { context: { cluster: 'cloud', openstack_project_id: gitops.openstack.project_id } } },
      { project: uniqueId('nowhere'), day: 2, identities: [] },
    ]);
    const [a, b, c] = await mapNow([plain!, openstack!, nowhere!]);
    expect(a).toMatchObject({ user_id: null, project_id: project.id, allocation_id: allocation.id, status: 'resolved', reasons: [] });
    expect(b).toMatchObject({ user_id: null, project_id: project.id, allocation_id: gitops.id, status: 'resolved', reasons: [] });
    // Without a project there is still nothing to charge: unresolved, and no user reason.
    expect(c).toMatchObject({ user_id: null, project_id: null, status: 'unresolved' });
    expect(codes(c)).toEqual({ project: 'project_not_found', allocation: 'allocation_needs_project' });
  });

  it('identities that match no user stay partial (user_not_found), whatever the project', async () => {
    const { project } = await directory();
    const [id] = await storeEvents(db, [{ project: project.name, identities: [perun(uniqueId('ghost'))] }]);
    const [link] = await mapNow([id!]);
    expect(link).toMatchObject({ user_id: null, project_id: project.id, status: 'partial' });
    expect(codes(link)).toEqual({ user: 'user_not_found' });
  });
});

describe('link mapping rules: projects and allocations', () => {
  it("_pbs_project_default → the user's default project and its allocation", async () => {
    const { project, allocation, user } = await directory();
    const [id] = await storeEvents(db, [{ project: '_pbs_project_default', identities: [perun(user.username!)] }]);
    expect((await mapNow([id!]))[0]).toMatchObject({ project_id: project.id, allocation_id: allocation.id, status: 'resolved' });
  });

  it('_pbs_project_default without a user, or for a user without a default project: a reason for each', async () => {
    const loner = await makeUser(db, { defaultProjectId: null });
    const ids = await storeEvents(db, [
      { project: '_pbs_project_default', identities: [perun(uniqueId('ghost'))] },
      { project: '_pbs_project_default', identities: [perun(loner.username!)] },
    ]);
    const [noUser, noDefault] = await mapNow(ids);
    expect(noUser).toMatchObject({ status: 'unresolved' });
    expect(codes(noUser)).toEqual({ user: 'user_not_found', project: 'default_project_needs_user', allocation: 'allocation_needs_project' });
    expect(noDefault).toMatchObject({ user_id: loner.id, project_id: null, status: 'partial' });
    expect(codes(noDefault)).toEqual({ project: 'no_default_project', allocation: 'allocation_needs_project' });
    expect(noDefault!.reasons[0]!.detail).toContain(loner.username!);
  });

  it('an unknown project name: project_not_found; no project at all: no_project', async () => {
    const { user } = await directory();
    const missing = uniqueId('nowhere');
    const ids = await storeEvents(db, [
      { project: missing, identities: [perun(user.username!)] },
      { identities: [perun(user.username!)], raw: { context: { cluster: 'c1', jobname: 'j' } } },
    ]);
    const [unknown, none] = await mapNow(ids);
    expect(unknown).toMatchObject({ user_id: user.id, project_id: null, allocation_id: null, status: 'partial' });
    expect(codes(unknown)).toEqual({ project: 'project_not_found', allocation: 'allocation_needs_project' });
    expect(unknown!.reasons[0]!.detail).toContain(`'${missing}'`);
    expect(codes(none)).toEqual({ project: 'no_project', allocation: 'allocation_needs_project' });
  });

  it("the project's latest allocation valid at the event's time; none valid then: no_allocation_at_time", async () => {
    const project = await makeProject(db);
    const user = await makeUser(db);
    await makeAllocation(db, project.id, { validFrom: '2025-01-01T00:00:00Z', validTo: '2026-01-01T00:00:00Z' });
    const current = await makeAllocation(db, project.id, { validFrom: '2026-01-01T00:00:00Z', validTo: '2026-07-01T00:00:00Z' });
    const narrower = await makeAllocation(db, project.id, { validFrom: '2026-01-10T00:00:00Z', validTo: '2026-01-20T00:00:00Z' });
    await makeGitOpsAllocation(db, project.id); // OpenStack grants are not charged with PBS usage
    const at = (day: number) => ({ project: project.name, identities: [perun(user.username!)], day });
    // 2026-01-01 + day: Jan 1 → current; Jan 15 → the later-starting narrower one; Aug 1 → none.
    const ids = await storeEvents(db, [at(0), at(14), at(212)]);
    const [jan1, jan15, aug1] = await mapNow(ids);
    expect(jan1).toMatchObject({ allocation_id: current.id, status: 'resolved' });
    expect(jan15).toMatchObject({ allocation_id: narrower.id, status: 'resolved' });
    expect(aug1).toMatchObject({ project_id: project.id, allocation_id: null, status: 'partial' });
    expect(codes(aug1)).toEqual({ allocation: 'no_allocation_at_time' });
    expect(aug1!.reasons[0]!.detail).toContain('2026-08-01T00:00:00Z');
  });

  it('OpenStack: the project id in the context, or the prefixed name, finds the project through the GitOps allocation', async () => {
    const { project, user } = await directory(); // it has an hpc allocation too: the GitOps one wins
    const gitops = await makeGitOpsAllocation(db, project.id);
    const ids = await storeEvents(db, [
      { source: 'openstack', identities: [perun(user.username!)], context: { openstack_project_id: gitops.openstack.project_id } },
      { source: 'openstack', identities: [perun(user.username!)], context: { project: gitops.openstack.project_name } },
      { source: 'openstack', identities: [perun(user.username!)], context: { project: gitops.openstack.project_id } },
    ]);
    for (const link of await mapNow(ids)) {
      expect(link).toMatchObject({ user_id: user.id, project_id: project.id, allocation_id: gitops.id, status: 'resolved' });
    }
  });

  it('OpenStack: no GitOps allocation names it, or two projects claim it: a reason for each', async () => {
    const [a, b] = [await makeProject(db), await makeProject(db)];
    const claimed = await makeGitOpsAllocation(db, a.id);
    await makeGitOpsAllocation(db, b.id, { payload: { openstack: claimed.openstack } });
    const user = await makeUser(db);
    const ids = await storeEvents(db, [
      { source: 'openstack', identities: [perun(user.username!)], context: { project: uniqueId('meta') } },
      { source: 'openstack', identities: [perun(user.username!)], context: { openstack_project_id: claimed.openstack.project_id } },
    ]);
    const [unknown, ambiguous] = await mapNow(ids);
    expect(codes(unknown)).toEqual({ project: 'openstack_project_not_found', allocation: 'allocation_needs_project' });
    expect(ambiguous).toMatchObject({ user_id: user.id, project_id: null, status: 'partial' });
    expect(codes(ambiguous)).toEqual({ project: 'openstack_project_ambiguous', allocation: 'allocation_needs_project' });
    expect(ambiguous!.reasons[0]!.detail).toContain(a.name);
    expect(ambiguous!.reasons[0]!.detail).toContain(b.name);
  });

  it('payloads no collector should send (identities not a list, odd context values) map to reasons, never fail', async () => {
    const ids = await storeEvents(db, [
      { raw: { identities: { scheme: 'perun_username', value: 'x' }, context: { project: 42 } } },
      { raw: { identities: ['perun_username', 7, null], context: [] } },
    ]);
    for (const link of await mapNow(ids)) {
      expect(link).toMatchObject({ status: 'unresolved' });
      expect(codes(link)).toEqual({ user: 'no_user_identity', project: 'no_project', allocation: 'allocation_needs_project' });
    }
  });
});

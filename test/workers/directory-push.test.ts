/**
 * The example export (docs/directory-example.json) pushed with the typed client's pushDirectory — what
 * `npm run directory:push` runs — against the real Worker; then the seed's curl example resolves against it.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import example from '../../docs/directory-example.json';
import { type DirectoryExport, DirectorySyncError, pushDirectory } from '../../src/client/index.ts';
import { SyncAllocationsRequestSchema, SyncProjectsRequestSchema, SyncUsersRequestSchema } from '../../src/contracts/directory.ts';
import type { IngestResponse } from '../../src/contracts/usage-event.ts';
import { SEED_CURL_EVENT } from '../support/events.ts';
import { TEST_ADMIN_KEY } from '../support/keys.ts';
import { postEvents, waitForLinks } from './helpers.ts';

const client = { baseUrl: 'http://worker.test', adminKey: TEST_ADMIN_KEY, fetch: (r: Request) => exports.default.fetch(r) };

describe('directory:push', () => {
  it('the example export is valid, is stored in batches, changes nothing when pushed again, and resolves the seed’s curl example', async () => {
    const data = example as DirectoryExport;
    SyncProjectsRequestSchema.parse({ projects: data.projects });
    SyncUsersRequestSchema.parse({ users: data.users });
    SyncAllocationsRequestSchema.parse({ allocations: data.allocations });

    // Batches of 2: every kind takes more than one request.
    const first = await pushDirectory({ ...client, batchSize: 2 }, data);
    expect(first.projects.requests).toBe(2);
    expect(first.allocations.requests).toBe(3);
    const again = await pushDirectory(client, data);
    expect(again).toMatchObject({
      projects: { inserted: 0, updated: 0, unchanged: 4 },
      users: { inserted: 0, updated: 0, unchanged: 4 },
      allocations: { inserted: 0, updated: 0, unchanged: 5 },
    });

    const sent = (await (await postEvents({ events: [SEED_CURL_EVENT] })).json()) as IngestResponse;
    const [link] = await waitForLinks([sent.events[0]!.id]);
    expect(link!.status).toBe('resolved');
    const balance = (await (
      await exports.default.fetch('http://worker.test/allocations/alloc-test-project-1-2025/balance', {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      })
    ).json()) as { metrics: Record<string, { used: number }> };
    expect(balance.metrics.walltime_allocated!.used).toBeGreaterThanOrEqual(SEED_CURL_EVENT.metrics.walltime_allocated);
  });

  it('a refused record stops the push with the path and message of the problem', async () => {
    const err = await pushDirectory(client, { users: [{ id: 'user-x', default_project_id: 'no-such-project' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DirectorySyncError);
    expect((err as DirectorySyncError).status).toBe(422);
    expect((err as Error).message).toContain('users[0].default_project_id: no project has this id');
  });
});

import { env, exports } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { parseConfig } from '../../src/config.ts';
import { createDb } from '../../src/db/client.ts';
import { TEST_COLLECTOR_KEY } from '../support/keys.ts';

export const db = createDb(parseConfig(env as unknown as Record<string, unknown>));

export function postEvents(body: unknown, init: { key?: string | null; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
  const key = init.key === undefined ? TEST_COLLECTOR_KEY : init.key;
  if (key !== null) headers['x-zeus-collector-key'] = key;
  return exports.default.fetch('http://worker.test/collector/resource-usage', {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export type StoredEvent = {
  id: string;
  metrics: Record<string, number>;
  collected_at: string;
  context: Record<string, unknown>;
  identities: unknown[];
  extra: unknown;
};

/** Rows stored for a project (each test uses its own project names). */
export async function storedFor(project: string): Promise<StoredEvent[]> {
  const { rows } = await db.execute<StoredEvent>(sql`
    SELECT id::text, metrics, collected_at::text, context, identities, extra
    FROM resource_usage_events WHERE context->>'project' = ${project} ORDER BY time_window_start, id`);
  return rows;
}

export type StoredLink = { event_id: string; user_id: string | null; project_id: string | null; allocation_id: string | null; status: string };

/** Wait until link mapping (the real consumer of the mapping queue) has written a link for every id. */
export async function waitForLinks(eventIds: string[], timeoutMs = 15_000): Promise<StoredLink[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.execute<StoredLink>(sql`
      SELECT event_id::text, user_id::text, project_id::text, allocation_id::text, status
      FROM resource_usage_event_links WHERE event_id::text IN (${sql.join(
        eventIds.map((id) => sql`${id}`),
        sql`, `,
      )})
      ORDER BY event_id`);
    if (rows.length === eventIds.length || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
}

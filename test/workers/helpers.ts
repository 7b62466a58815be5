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

/** Wait until the mapping-queue probe has seen this event id (see vitest.config.ts). */
export async function waitForQueued(eventId: string, timeoutMs = 5000): Promise<unknown> {
  const probe = (env as unknown as { QUEUE_PROBE: KVNamespace }).QUEUE_PROBE;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const seen = await probe.get(`event:${eventId}`);
    if (seen) return JSON.parse(seen);
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

import { env } from 'cloudflare:workers';
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import worker from '../../src/index.ts';
import { linksOf } from '../support/directory.ts';
import { db } from './helpers.ts';

let counter = 0;

/** Messages for the mapping queue: one per body, as the queue would deliver them. */
export function mappingBatch(bodies: unknown[]) {
  return createMessageBatch(
    'zeus-mapping',
    bodies.map((body) => ({ id: `m-${++counter}`, timestamp: new Date(), attempts: 1, body })),
  );
}

/** Hand a batch to the Worker's real queue handler; what it acknowledged or retried. */
export async function deliver(bodies: unknown[]) {
  const batch = mappingBatch(bodies);
  const ctx = createExecutionContext();
  await worker.queue(batch, env as unknown as Env, ctx);
  return { batch, result: await getQueueResult(batch, ctx) };
}

/** Map these events now (one message, through the real handler) and return their links, in order. */
export async function mapNow(ids: string[]) {
  const { result } = await deliver([{ kind: 'events', event_ids: ids }]);
  if (result.retryMessages.length || result.retryBatch.retry) throw new Error(`mapping retried: ${JSON.stringify(result)}`);
  return linksOf(db, ids);
}

/** The reason codes of a link, by part. */
export const codes = (link: { reasons: { part: string; code: string }[] } | undefined) =>
  Object.fromEntries((link?.reasons ?? []).map((r) => [r.part, r.code]));

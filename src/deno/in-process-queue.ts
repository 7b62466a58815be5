/**
 * Deno has no Cloudflare Queues. A queue here is a direct call: `send` and `sendBatch` hand the messages
 * to the consumer as one batch, at once, and return when it is done. A message the consumer did not
 * acknowledge (it asked for a retry) makes the send fail, so the caller answers as it would to a queue
 * that is down (ingest: 503 `queue_unavailable`, stored events, retry the request).
 */
export type Consume = (batch: MessageBatch<unknown>) => Promise<void>;

const NO_BACKLOG = { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };

export function inProcessQueue<Body>(name: string, consume: Consume): Queue<Body> {
  const deliver = async (bodies: Body[]) => {
    const unacked = new Set<number>();
    const messages = bodies.map((body, i): Message<unknown> => {
      unacked.add(i);
      return {
        id: crypto.randomUUID(),
        timestamp: new Date(),
        body,
        attempts: 1,
        ack: () => unacked.delete(i),
        retry: () => {},
      };
    });
    await consume({
      queue: name,
      messages,
      metadata: NO_BACKLOG.metadata,
      ackAll: () => unacked.clear(),
      retryAll: () => {},
    });
    if (unacked.size > 0) throw new Error(`${name}: ${unacked.size} of ${bodies.length} messages not processed`);
  };
  return {
    async send(body) {
      await deliver([body]);
      return NO_BACKLOG;
    },
    async sendBatch(requests) {
      await deliver([...requests].map((r) => r.body));
      return NO_BACKLOG;
    },
    metrics: async () => NO_BACKLOG.metadata.metrics,
  };
}

/** A queue that has no consumer on this runtime: every send fails, naming why. */
export function missingQueue<Body>(name: string, why: string): Queue<Body> {
  const fail = () => Promise.reject(new Error(`${name}: ${why}`));
  return { send: fail, sendBatch: fail, metrics: fail };
}

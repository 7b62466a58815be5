/**
 * A stand-in for a Cloudflare queue (the edge's part, which has no local process outside workerd): it
 * keeps what is sent, and `drain(consume)` hands every pending message to a consumer as one batch, the way
 * the platform does; an acknowledged message is gone, a retried one stays with one attempt more (its
 * delay is not waited for: the test decides when the next delivery happens).
 */
export interface PendingMessage<Body> {
  id: string;
  body: Body;
  attempts: number;
  /** The delay the consumer asked for at its last retry. */
  delaySeconds?: number;
}

export class RetryingQueue<Body> implements Queue<Body> {
  readonly pending: PendingMessage<Body>[] = [];
  constructor(readonly name: string) {}

  async send(body: Body) {
    this.pending.push({ id: crypto.randomUUID(), body, attempts: 1 });
    return { metadata: { metrics: { backlogCount: this.pending.length, backlogBytes: 0 } } };
  }

  async sendBatch(messages: Iterable<MessageSendRequest<Body>>) {
    for (const m of messages) await this.send(m.body);
    return { metadata: { metrics: { backlogCount: this.pending.length, backlogBytes: 0 } } };
  }

  async metrics() {
    return { backlogCount: this.pending.length, backlogBytes: 0 };
  }

  /** Deliver everything pending once; returns how many were acknowledged and how many asked for a retry. */
  async drain(consume: (batch: MessageBatch<unknown>) => Promise<void>): Promise<{ acked: number; retried: number }> {
    const taken = this.pending.splice(0);
    if (taken.length === 0) return { acked: 0, retried: 0 };
    const outcome = new Map<PendingMessage<Body>, 'ack' | { delaySeconds?: number }>();
    const messages = taken.map(
      (p): Message<unknown> => ({
        id: p.id,
        timestamp: new Date(),
        body: p.body,
        attempts: p.attempts,
        ack: () => void outcome.set(p, 'ack'),
        retry: (options?: QueueRetryOptions) =>
          void outcome.set(p, { ...(options?.delaySeconds !== undefined ? { delaySeconds: options.delaySeconds } : {}) }),
      }),
    );
    await consume({
      queue: this.name,
      messages,
      metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } },
      ackAll: () => {
        for (const p of taken) outcome.set(p, 'ack');
      },
      retryAll: () => {
        for (const p of taken) outcome.set(p, {});
      },
    });
    let acked = 0;
    for (const p of taken) {
      const o = outcome.get(p) ?? {}; // neither: the platform delivers it again
      if (o === 'ack') acked++;
      else this.pending.push({ ...p, attempts: p.attempts + 1, ...(o.delaySeconds !== undefined ? { delaySeconds: o.delaySeconds } : {}) });
    }
    return { acked, retried: taken.length - acked };
  }
}

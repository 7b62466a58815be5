import { Worker } from 'node:worker_threads';
import type { ParseBlockResult, ParseBlockTask } from './sources/accounting-lines.ts';

/** A message to a parse thread, and its answer (accounting-worker.ts). */
export interface ParseRequest {
  id: number;
  task: ParseBlockTask;
}
export type ParseReply = { id: number; ok: true; result: ParseBlockResult } | { id: number; ok: false; message: string };

export interface ParsePoolOptions {
  /** The worker script (the bundle's `accounting-worker.mjs`). */
  script: URL;
  /** Threads (≥ 1). */
  size: number;
  /** Per-thread V8 heap limits, in MiB: a parse thread holds a block or two, never a file. */
  youngGenerationMb?: number;
  oldGenerationMb?: number;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (r: ParseBlockResult) => void; reject: (e: Error) => void }>;
}

/**
 * A fixed set of worker threads that parse accounting blocks (`parseBlock`). Tasks go to the thread
 * with the fewest waiting; each thread answers in the order it was asked. A thread that dies fails
 * only its own tasks (the streams they belong to are cut off, as on any read error) and is replaced.
 */
export class ParsePool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ParsePoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError('a parse pool needs at least one thread');
    this.size = options.size;
    for (let i = 0; i < options.size; i++) this.slots.push(this.spawn());
  }

  /** Parse one block on a thread; the block's bytes are moved there (the caller must not reuse them). */
  run(task: ParseBlockTask): Promise<ParseBlockResult> {
    if (this.closed) return Promise.reject(new Error('the parse pool is closed'));
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.nextId++;
    return new Promise<ParseBlockResult>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref(); // a task in flight keeps the process alive
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, task } satisfies ParseRequest, [task.bytes.buffer as ArrayBuffer]);
    });
  }

  /** Stop every thread; tasks in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(this.options.script, {
      resourceLimits: {
        maxYoungGenerationSizeMb: this.options.youngGenerationMb ?? 4,
        maxOldGenerationSizeMb: this.options.oldGenerationMb ?? 64,
      },
    });
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (reply: ParseReply) => {
      const waiter = slot.pending.get(reply.id);
      if (!waiter) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) slot.worker.unref(); // an idle pool never does
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(reply.message));
    });
    const fail = (err: Error) => {
      for (const waiter of slot.pending.values()) waiter.reject(err);
      slot.pending.clear();
      if (this.closed) return;
      const index = this.slots.indexOf(slot);
      if (index !== -1) this.slots[index] = this.spawn();
    };
    worker.on('error', (err) => fail(new Error(`parse thread failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`parse thread exited with code ${code}`));
    });
    worker.unref();
    return slot;
  }
}

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
  /** Bytes read from a file at a time, and so the usual size of a block (default 256 KiB). */
  blockBytes?: number;
  /**
   * Per-thread V8 heap limits, in MiB (default 2 young, 8 old): a parse thread holds a block or two, never
   * a file. Folding (/v1/usage) builds a record a line; larger limits let that garbage take the relay past
   * 100 MB (measured: 96–98 MiB at 4 and 12, 93 MiB at 2 and 8, two threads, a 1,000,000-job day).
   */
  youngGenerationMb?: number;
  oldGenerationMb?: number;
}

/**
 * Shared memory for one block on its way through a thread: the lines go in `input`, the thread writes
 * the NDJSON into `output`. Reused block after block, so streaming a file allocates nothing that the
 * main thread's garbage collector would have to notice (memory the JS heap does not see is freed only
 * when a collection happens to run, and the main thread allocates too little to make one run).
 */
export interface BlockSlot {
  input: Uint8Array;
  output: Uint8Array;
}

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve: (r: ParseBlockResult) => void; reject: (e: Error) => void }>;
}

/**
 * A fixed set of worker threads that parse accounting blocks (`parseBlock`), and the slots of shared
 * memory the blocks travel in. Tasks go to the thread with the fewest waiting; each thread answers in
 * the order it was asked. A thread that dies fails only its own tasks (the streams they belong to are
 * cut off, as on any read error) and is replaced.
 */
export class ParsePool {
  readonly size: number;
  readonly blockBytes: number;
  private readonly threads: Thread[] = [];
  private readonly freeSlots: BlockSlot[] = [];
  private readonly slotWaiters: ((slot: BlockSlot) => void)[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ParsePoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError('a parse pool needs at least one thread');
    this.size = options.size;
    this.blockBytes = options.blockBytes ?? 256 * 1024;
    for (let i = 0; i < options.size; i++) this.threads.push(this.spawn());
    // Blocks being parsed, parsed and waiting, and being written out: four per thread keep the threads
    // busy while the client takes a block (at 0.7 MiB a slot, touched only when used).
    for (let i = 0; i < options.size * 4; i++) {
      this.freeSlots.push({
        // Room for a line carried over from the previous read; a larger block gets memory of its own.
        input: new Uint8Array(new SharedArrayBuffer(this.blockBytes + 64 * 1024)),
        // NDJSON is about as long as the accounting lines; more is written to memory of the thread's own.
        output: new Uint8Array(new SharedArrayBuffer(Math.ceil(this.blockBytes * 1.5))),
      });
    }
  }

  /** A free slot, once one is (slots come back with `releaseSlot`); rejects if `signal` aborts first. */
  acquireSlot(signal: AbortSignal): Promise<BlockSlot> {
    signal.throwIfAborted();
    const slot = this.freeSlots.pop();
    if (slot) return Promise.resolve(slot);
    return new Promise<BlockSlot>((resolve, reject) => {
      const waiter = (s: BlockSlot) => {
        signal.removeEventListener('abort', onAbort);
        resolve(s);
      };
      const onAbort = () => {
        const at = this.slotWaiters.indexOf(waiter);
        if (at !== -1) this.slotWaiters.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.slotWaiters.push(waiter);
    });
  }

  releaseSlot(slot: BlockSlot): void {
    const waiter = this.slotWaiters.shift();
    if (waiter) waiter(slot);
    else this.freeSlots.push(slot);
  }

  /**
   * Parse one block on a thread. Shared memory is handed over, not copied; other bytes are moved there
   * (the caller must not reuse them).
   */
  run(task: ParseBlockTask): Promise<ParseBlockResult> {
    if (this.closed) return Promise.reject(new Error('the parse pool is closed'));
    let thread = this.threads[0]!;
    for (const t of this.threads) if (t.pending.size < thread.pending.size) thread = t;
    const id = this.nextId++;
    const transfer = task.bytes.buffer instanceof ArrayBuffer ? [task.bytes.buffer] : [];
    return new Promise<ParseBlockResult>((resolve, reject) => {
      if (thread.pending.size === 0) thread.worker.ref(); // a task in flight keeps the process alive
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ id, task } satisfies ParseRequest, transfer);
    });
  }

  /** Stop every thread; tasks in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  private spawn(): Thread {
    const worker = new Worker(this.options.script, {
      resourceLimits: {
        maxYoungGenerationSizeMb: this.options.youngGenerationMb ?? 2,
        maxOldGenerationSizeMb: this.options.oldGenerationMb ?? 8,
      },
    });
    const thread: Thread = { worker, pending: new Map() };
    worker.on('message', (reply: ParseReply) => {
      const waiter = thread.pending.get(reply.id);
      if (!waiter) return;
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) thread.worker.unref(); // an idle pool never does
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(reply.message));
    });
    const fail = (err: Error) => {
      for (const waiter of thread.pending.values()) waiter.reject(err);
      thread.pending.clear();
      if (this.closed) return;
      const index = this.threads.indexOf(thread);
      if (index !== -1) this.threads[index] = this.spawn();
    };
    worker.on('error', (err) => fail(new Error(`parse thread failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`parse thread exited with code ${code}`));
    });
    worker.unref();
    return thread;
  }
}

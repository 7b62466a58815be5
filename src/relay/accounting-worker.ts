/**
 * A parse thread of the relay (parse-pool.ts): parses the accounting blocks it is sent and answers
 * with their records as NDJSON, or (for /v1/usage) with the block's usage groups. Bundled next to main.mjs as accounting-worker.mjs.
 */
import { parentPort } from 'node:worker_threads';
import type { ParseReply, ParseRequest } from './parse-pool.ts';
import { foldBlock, parseBlock } from './sources/accounting-lines.ts';

const port = parentPort;
if (!port) throw new Error('accounting-worker runs as a worker thread of the relay');

port.on('message', ({ id, task }: ParseRequest) => {
  let reply: ParseReply;
  try {
    reply = { id, ok: true, result: task.fold ? foldBlock(task) : parseBlock(task) };
  } catch (err) {
    port.postMessage({ id, ok: false, message: (err as Error).message } satisfies ParseReply);
    return;
  }
  // Memory of its own is moved to the main thread, not copied; the slot's shared memory needs neither.
  const { ndjson, usage } = reply.result;
  const own = [ndjson?.buffer, usage?.values.buffer, usage?.groups.buffer].filter((b) => b instanceof ArrayBuffer);
  port.postMessage(reply, own);
});

/**
 * Split a byte stream into lines with memory bounded by the longest line (not the file).
 *
 * Why not node:readline: it cannot say whether the last line ended with a newline, and the relay reads
 * today's accounting file while PBS is still appending to it; a half-written last record must not be
 * taken as a record (it would parse, with some of its usage missing). Lines come in batches, one per
 * chunk read, which saves an await per line.
 */

export interface Line {
  /** The line without its `\n` (a trailing `\r` is left to the parser). Empty when `oversized`. */
  text: string;
  /** False only for a last line that has no `\n` yet. */
  complete: boolean;
  /** The line was longer than `maxLineBytes`; its bytes were dropped, not buffered. */
  oversized: boolean;
}

/** 16 MiB: far beyond Torque's 256 KiB record buffer and any real OpenPBS record. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

export async function* readLineBatches(
  chunks: AsyncIterable<Buffer | Uint8Array>,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<Line[]> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let oversized = false;
  const dropPending = () => {
    pending = [];
    pendingBytes = 0;
  };
  for await (const raw of chunks) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const batch: Line[] = [];
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(10, start)) !== -1) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (oversized || pendingBytes + piece.length > maxLineBytes) {
        dropPending();
        oversized = false;
        batch.push({ text: '', complete: true, oversized: true });
      } else if (pending.length === 0) {
        batch.push({ text: piece.toString('utf8'), complete: true, oversized: false });
      } else {
        pending.push(piece);
        batch.push({ text: Buffer.concat(pending).toString('utf8'), complete: true, oversized: false });
        dropPending();
      }
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (oversized || pendingBytes + rest.length > maxLineBytes) {
        dropPending();
        oversized = true;
      } else {
        // Copy a small remainder: it must not pin a whole chunk.
        pending.push(rest.length < chunk.length / 4 ? Buffer.from(rest) : rest);
        pendingBytes += rest.length;
      }
    }
    if (batch.length > 0) yield batch;
  }
  if (oversized) yield [{ text: '', complete: false, oversized: true }];
  else if (pendingBytes > 0) yield [{ text: Buffer.concat(pending).toString('utf8'), complete: false, oversized: false }];
}

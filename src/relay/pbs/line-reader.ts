/**
 * Split a byte stream into lines with memory bounded by the longest line (not the file).
 *
 * Why not node:readline: it cannot say whether the last line ended with a newline, and the relay reads
 * today's accounting file while PBS is still appending to it; a half-written last record must not be
 * taken as a record (it would parse, with some of its usage missing). Lines come in batches, one per
 * chunk read, which saves an await per line, and stay bytes: a parser that reads bytes is several
 * times quicker than one that reads a string, and a line it skips is never decoded at all.
 */

export interface Line {
  /** The line is `bytes[start, end)`, without its `\n` (a trailing `\r` is left to the parser). */
  bytes: Buffer;
  start: number;
  end: number;
  /** False only for a last line that has no `\n` yet. */
  complete: boolean;
  /** The line was longer than `maxLineBytes`; its bytes were dropped, not buffered (it is empty). */
  oversized: boolean;
}

/** The line as text (UTF-8; invalid sequences become U+FFFD). */
export function lineText(line: Line): string {
  return line.bytes.toString('utf8', line.start, line.end);
}

/** 16 MiB: far beyond Torque's 256 KiB record buffer and any real OpenPBS record. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

const EMPTY = Buffer.alloc(0);

export async function* readLineBatches(chunks: AsyncIterable<Buffer | Uint8Array>, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<Line[]> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let oversized = false;
  for await (const raw of chunks) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const batch: Line[] = [];
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(10, start)) !== -1) {
      const length = nl - start;
      if (oversized || pendingBytes + length > maxLineBytes) {
        oversized = false;
        batch.push({ bytes: EMPTY, start: 0, end: 0, complete: true, oversized: true });
      } else if (pendingBytes === 0) {
        // The usual line: it stays in the chunk (which the batch keeps alive only until it is parsed).
        batch.push({ bytes: chunk, start, end: nl, complete: true, oversized: false });
      } else {
        pending.push(chunk.subarray(start, nl));
        const bytes = Buffer.concat(pending);
        batch.push({ bytes, start: 0, end: bytes.length, complete: true, oversized: false });
      }
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (oversized || pendingBytes + rest.length > maxLineBytes) {
        pending = [];
        pendingBytes = 0;
        oversized = true;
      } else {
        // Copy a small remainder: it must not pin a whole chunk.
        pending.push(rest.length < chunk.length / 4 ? Buffer.from(rest) : rest);
        pendingBytes += rest.length;
      }
    }
    if (batch.length > 0) yield batch;
  }
  if (oversized) yield [{ bytes: EMPTY, start: 0, end: 0, complete: false, oversized: true }];
  else if (pendingBytes > 0) {
    const bytes = Buffer.concat(pending);
    yield [{ bytes, start: 0, end: bytes.length, complete: false, oversized: false }];
  }
}

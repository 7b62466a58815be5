/**
 * Lets node `pg` talk to an in-process PGlite: `new pg.Client({ stream: () => pgliteStream(db) })`.
 *
 * node-postgres cannot reach PGlite over TCP, so this Duplex stands in for the socket. It splits
 * the bytes pg writes into complete frontend messages and hands each one to
 * `db.execProtocolRaw()`, pushing PGlite's raw answer back to pg (the approach of
 * @electric-sql/pglite-socket, without the TCP server).
 *
 * PGlite is a single session shared with the gateway under test, so the messages of one protocol
 * round (everything up to Sync, Query or Flush) run inside one `db.runExclusive()` and never
 * interleave with a gateway request. A reference client must therefore not leave a transaction
 * open between calls; the gateway resets the session after each of its own requests anyway.
 */
import { Duplex } from 'node:stream';
import type { PGlite } from '@electric-sql/pglite';

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

/** Frontend messages after which the backend answers: the end of a protocol round. */
const ROUND_END = new Set(['S', 'Q', 'H']);

export class PGliteStream extends Duplex {
  private input: Buffer = Buffer.alloc(0);
  private started = false;
  /** Complete messages waiting for the end of their round. */
  private pending: Uint8Array[] = [];

  constructor(private readonly db: PGlite) {
    super();
  }

  // The parts of net.Socket that pg's Connection uses.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  connect(): this {
    process.nextTick(() => this.emit('connect'));
    return this;
  }

  override _read(): void {
    // Data is pushed as PGlite answers.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.input = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    this.drain().then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.push(null);
    done();
  }

  /** Take every complete message out of `input` and run the rounds that are complete. */
  private async drain(): Promise<void> {
    for (;;) {
      if (!this.started) {
        if (this.input.length < 8) return;
        const length = this.input.readInt32BE(0);
        if (this.input.length < length) return;
        const message = this.takeBytes(length);
        const code = message.readInt32BE(4);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.push(Buffer.from('N'));
        } else if (code === PROTOCOL_3) {
          this.started = true;
          await this.run([message]);
        } else if (code === CANCEL_REQUEST) {
          // PGlite cannot cancel a running query; nothing to do.
        } else {
          throw new Error(`pglite-pg-stream: unsupported startup packet (code ${code})`);
        }
        continue;
      }
      if (this.input.length < 5) return;
      const length = this.input.readInt32BE(1);
      if (this.input.length < length + 1) return;
      const type = String.fromCharCode(this.input[0]!);
      const message = this.takeBytes(length + 1);
      if (type === 'X') {
        // Terminate: PGlite's session outlives this client, so it is not forwarded.
        this.pending = [];
        this.push(null);
        return;
      }
      this.pending.push(message);
      if (ROUND_END.has(type)) {
        const round = this.pending;
        this.pending = [];
        await this.run(round);
      }
    }
  }

  private takeBytes(n: number): Buffer {
    const out = this.input.subarray(0, n);
    this.input = this.input.subarray(n);
    return Buffer.from(out);
  }

  private async run(messages: Uint8Array[]): Promise<void> {
    const replies = await this.db.runExclusive(async () => {
      const out: Uint8Array[] = [];
      for (const m of messages) out.push(await this.db.execProtocolRaw(m));
      return out;
    });
    const bytes = Buffer.concat(replies);
    if (bytes.length) this.push(bytes);
  }
}

/** A `stream` factory for `new pg.Client({ stream })`. */
export function pgliteStream(db: PGlite): () => PGliteStream {
  return () => new PGliteStream(db);
}

import { mkdirSync } from 'node:fs';
import { PGlite, protocol } from '@electric-sql/pglite';
import { type Backend, PINNED_SETTINGS, RESET_SQL, type Session } from '../backend.ts';
import { type Cell, GatewayError, type NeonField, PostgresError, type StatementOutcome, toNeonField } from '../protocol.ts';

type Message = { name: string } & Record<string, unknown>;

export interface PGliteBackendOptions {
  /** A folder for the data (kept between runs); in memory when undefined. */
  dataDir?: string;
  /**
   * Build the instance yourself, e.g. a PGlite with extensions (the TimescaleDB build the
   * hypertable tests use). It must offer the same protocol-level API as PGlite 0.5.
   */
  create?: () => Promise<PGlite>;
}

const { serialize } = protocol;
const PIN_SQL = Object.entries(PINNED_SETTINGS)
  .map(([name, value]) => `SET ${name} TO '${value}'`)
  .join('; ');

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function errorOf(messages: Message[]): PostgresError | undefined {
  const err = messages.find((m) => m.name === 'error');
  if (!err) return undefined;
  return new PostgresError({ ...(err as Record<string, string | undefined>), message: err.message as string });
}

/**
 * The embedded backend: one PGlite (PostgreSQL in WASM) instance. PGlite is a single session,
 * so requests are serialised; every request still starts from a clean session.
 * PGlite does not enforce `statement_timeout`.
 */
export class PGliteBackend implements Backend {
  readonly name = 'pglite';
  private db: Promise<PGlite> | undefined;

  constructor(private readonly options: PGliteBackendOptions = {}) {}

  /** Start PGlite now instead of on the first request (it takes a few seconds in memory). */
  start(): Promise<PGlite> {
    this.db ??= this.open();
    return this.db;
  }

  private async open(): Promise<PGlite> {
    if (this.options.dataDir) mkdirSync(this.options.dataDir, { recursive: true });
    const db = this.options.create ? await this.options.create() : await PGlite.create(this.options.dataDir ? { dataDir: this.options.dataDir } : {});
    await db.runExclusive(() => this.pin(db));
    return db;
  }

  /** PGlite's defaults already match §6.5; pin them anyway so a session always starts the same. */
  private async pin(db: PGlite): Promise<void> {
    await this.simpleOn(db, PIN_SQL);
  }

  private async simpleOn(db: PGlite, text: string): Promise<void> {
    const { messages } = await db.execProtocol(serialize.query(text), { throwOnError: false });
    const err = errorOf(messages as Message[]);
    if (err) throw err;
  }

  async withSession<T>(_target: unknown, _signal: AbortSignal, fn: (s: Session) => Promise<T>): Promise<T> {
    let db: PGlite;
    try {
      db = await this.start();
    } catch (err) {
      this.db = undefined;
      throw new GatewayError(500, `could not start the embedded database: ${(err as Error).message}`);
    }
    return db.runExclusive(async () => {
      const session: Session = {
        execute: (text, params) => this.execute(db, text, params),
        simple: (text) => this.simpleOn(db, text),
      };
      try {
        return await fn(session);
      } finally {
        // Always ROLLBACK: in-process it costs little, and not every PGlite build reports
        // isInTransaction() reliably after extended-protocol messages (the TimescaleDB build does not).
        for (const sql of RESET_SQL) await this.simpleOn(db, sql);
        await this.pin(db);
      }
    });
  }

  private async execute(db: PGlite, text: string, params: Cell[]): Promise<StatementOutcome> {
    const bytes = concat([
      serialize.parse({ text }),
      serialize.describe({ type: 'S' }),
      serialize.bind({ values: params }),
      serialize.execute({}),
      serialize.sync(),
    ]);
    const { messages } = await db.execProtocol(bytes, { throwOnError: false });
    const list = messages as Message[];
    const err = errorOf(list);
    if (err) throw err;
    let fields: NeonField[] = [];
    const rows: Cell[][] = [];
    let commandTag: string | null = null;
    for (const m of list) {
      if (m.name === 'rowDescription') {
        fields = (m.fields as NeonField[]).map(toNeonField);
      } else if (m.name === 'dataRow') {
        rows.push(m.fields as Cell[]);
      } else if (m.name === 'commandComplete') {
        commandTag = m.text as string;
      }
    }
    return { fields, rows, commandTag };
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    if (db) await (await db).close();
  }
}

import pg from 'pg';
import { type Backend, PINNED_SETTINGS, RESET_SQL, type Session } from '../backend.ts';
import { type Cell, type ConnectionTarget, GatewayError, PostgresError, type StatementOutcome, toNeonField } from '../protocol.ts';

/** Every OID comes back as PostgreSQL's own text: the driver on the other side parses it. */
const rawTypes = { getTypeParser: () => (value: string) => value };

export interface PostgresBackendOptions {
  /** Connections per (host, port, user, database) pool. */
  maxConnections?: number;
  /** Server-side `statement_timeout` for every session, in ms; PostgreSQL's default (none) when unset. */
  statementTimeoutMs?: number;
}

const ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

function isDatabaseError(err: unknown): err is pg.DatabaseError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && 'severity' in err;
}

export function toPostgresError(err: pg.DatabaseError): PostgresError {
  const fields: Record<string, string | undefined> = { message: err.message };
  for (const k of ERROR_FIELDS) fields[k] = (err as unknown as Record<string, string | undefined>)[k];
  return new PostgresError(fields);
}

function startupOptions(statementTimeoutMs: number | undefined): string {
  const settings = { ...PINNED_SETTINGS, DateStyle: 'ISO,MDY' };
  if (statementTimeoutMs !== undefined) Object.assign(settings, { statement_timeout: String(statementTimeoutMs) });
  return Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
}

/** Map a failure to connect the way Neon's proxy answers it (§3.3, §3.10). */
function connectError(err: unknown, target: ConnectionTarget): Error {
  if (isDatabaseError(err)) {
    if (err.code === '28P01') return new GatewayError(400, `password authentication failed for user '${target.user}'`);
    if (err.code === '3D000') return toPostgresError(err);
    return new GatewayError(500, `could not connect to the database: ${err.message}`);
  }
  const code = (err as { code?: string }).code;
  return new GatewayError(500, `could not connect to the database at ${target.host}:${target.port}: ${code ?? (err as Error).message}`);
}

/** The PostgreSQL backend: one pool per target, a real session per request, reset before reuse. */
export class PostgresBackend implements Backend {
  readonly name = 'postgres';
  private readonly pools = new Map<string, pg.Pool>();

  constructor(private readonly options: PostgresBackendOptions = {}) {}

  private pool(target: ConnectionTarget): pg.Pool {
    const key = JSON.stringify([target.host, target.port, target.user, target.password, target.database]);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new pg.Pool({
        host: target.host,
        port: target.port,
        user: target.user,
        password: target.password,
        database: target.database,
        application_name: target.applicationName ?? 'zeus-local-gateway',
        options: startupOptions(this.options.statementTimeoutMs),
        max: this.options.maxConnections ?? 10,
        idleTimeoutMillis: 30_000,
        types: rawTypes,
      });
      // An idle client dropped by the server must not take the gateway down.
      pool.on('error', () => undefined);
      this.pools.set(key, pool);
    }
    return pool;
  }

  async withSession<T>(target: ConnectionTarget, signal: AbortSignal, fn: (s: Session) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool(target).connect();
    } catch (err) {
      throw connectError(err, target);
    }
    let broken: Error | undefined;
    const cancel = () => {
      broken = new Error('client went away');
      void this.cancelBackend(target, (client as unknown as { processID: number }).processID);
    };
    signal.addEventListener('abort', cancel, { once: true });
    const session: Session = {
      execute: async (text, params) => {
        try {
          // queryMode 'extended' (pg ≥ 8.16, not in @types/pg): a parameterless query must not fall
          // back to the simple protocol, or `SELECT 1; SELECT 2` would succeed where Neon refuses it.
          const config = { text, values: params, rowMode: 'array', queryMode: 'extended' } as pg.QueryArrayConfig<Cell[]>;
          return toOutcome(await client.query(config));
        } catch (err) {
          throw this.queryError(err, (e) => (broken = e));
        }
      },
      simple: async (text) => {
        try {
          await client.query(text);
        } catch (err) {
          throw this.queryError(err, (e) => (broken = e));
        }
      },
    };
    try {
      return await fn(session);
    } finally {
      signal.removeEventListener('abort', cancel);
      if (!broken) {
        try {
          // ROLLBACK only when a transaction is open: one round trip fewer on the common path.
          const idle = (client as unknown as { getTransactionStatus(): string | null }).getTransactionStatus() === 'I';
          for (const sql of RESET_SQL) if (!(idle && sql === 'ROLLBACK')) await client.query(sql);
        } catch (err) {
          broken = err as Error;
        }
      }
      client.release(broken ?? false);
    }
  }

  private queryError(err: unknown, markBroken: (e: Error) => void): Error {
    if (isDatabaseError(err)) return toPostgresError(err);
    markBroken(err as Error);
    return new GatewayError(500, `database connection failed: ${(err as Error).message}`);
  }

  /** Cancel a running query from a separate connection, as the proxy does when its client disconnects. */
  private async cancelBackend(target: ConnectionTarget, pid: number): Promise<void> {
    const c = new pg.Client({ ...this.clientTarget(target) });
    try {
      await c.connect();
      await c.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch {
      // Best effort: the session is discarded anyway.
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  private clientTarget(t: ConnectionTarget) {
    return { host: t.host, port: t.port, user: t.user, password: t.password, database: t.database };
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.end()));
    this.pools.clear();
  }
}

function toOutcome(res: pg.QueryResult<unknown[]>): StatementOutcome {
  const fields = (res.fields ?? []).map(toNeonField);
  const tag = res.command
    ? [res.command, res.command === 'INSERT' ? '0' : undefined, res.rowCount ?? undefined].filter((w) => w !== undefined).join(' ')
    : null;
  return { fields, rows: (res.rows ?? []) as Cell[][], commandTag: tag };
}

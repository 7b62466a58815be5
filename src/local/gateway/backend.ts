import type { Cell, ConnectionTarget, StatementOutcome } from './protocol.ts';

/** One database session, checked out for the length of one HTTP request. */
export interface Session {
  /** Run one statement with the extended protocol: untyped text params, text results. */
  execute(text: string, params: Cell[]): Promise<StatementOutcome>;
  /** Run a control statement (START TRANSACTION, COMMIT, ROLLBACK) with the simple protocol. */
  simple(text: string): Promise<void>;
}

export interface Backend {
  readonly name: string;
  /**
   * Check out a session for `target`, run `fn`, then reset the session (no SET, temp table,
   * prepared statement, lock or open transaction survives) and give it back. `signal` aborts
   * when the HTTP client goes away; a backend that can cancel a running query does so.
   */
  withSession<T>(target: ConnectionTarget, signal: AbortSignal, fn: (session: Session) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The reset Neon runs before a connection goes back to its pool (§3.11), in PostgreSQL's own words. */
export const RESET_SQL = ['ROLLBACK', 'DISCARD ALL'] as const;

/** Settings pinned on every session so text output matches what Neon's computes produce (§6.5). */
export const PINNED_SETTINGS: Record<string, string> = {
  client_encoding: 'UTF8',
  DateStyle: 'ISO, MDY',
  IntervalStyle: 'postgres',
  bytea_output: 'hex',
  TimeZone: 'UTC',
  standard_conforming_strings: 'on',
};

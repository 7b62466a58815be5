import type { Session } from './backend.ts';
import {
  type BatchOptions,
  GatewayError,
  MAX_RESPONSE_BYTES,
  type NeonResult,
  type ParsedBody,
  type StatementRequest,
  startTransactionSql,
  toNeonResult,
} from './protocol.ts';

export interface ExecuteOptions {
  batch: BatchOptions;
  rawText: boolean;
  arrayMode: boolean;
  maxResponseBytes?: number;
}

/**
 * Tracks the size of the JSON built so far, the way Neon's proxy does: checked before each
 * row is appended, so a response may overshoot the limit by one row before it answers 507.
 */
class ResponseBudget {
  private used = 0;
  constructor(private readonly max: number) {}

  add(result: NeonResult): void {
    this.used += JSON.stringify(result.fields).length + 64;
    for (const row of result.rows) {
      if (this.used > this.max) {
        throw new GatewayError(507, `response is too large (max is ${this.max} bytes)`);
      }
      this.used += JSON.stringify(row).length + 1;
    }
  }
}

function runStatement(session: Session, st: StatementRequest, opts: ExecuteOptions, budget: ResponseBudget) {
  return session.execute(st.query, st.params).then((outcome) => {
    const result = toNeonResult(outcome, st.arrayMode ?? opts.arrayMode, opts.rawText);
    budget.add(result);
    return result;
  });
}

/**
 * A single statement runs in autocommit; a batch runs inside START TRANSACTION … COMMIT and is
 * rolled back whole on its first error (only that error is answered).
 */
export async function executeBody(session: Session, body: ParsedBody, opts: ExecuteOptions): Promise<NeonResult | { results: NeonResult[] }> {
  const budget = new ResponseBudget(opts.maxResponseBytes ?? MAX_RESPONSE_BYTES);
  if (body.kind === 'single') return runStatement(session, body.statement, opts, budget);

  if (body.statements.length === 0) return { results: [] };
  await session.simple(startTransactionSql(opts.batch));
  const results: NeonResult[] = [];
  try {
    for (const st of body.statements) results.push(await runStatement(session, st, opts, budget));
  } catch (err) {
    await session.simple('ROLLBACK').catch(() => undefined);
    throw err;
  }
  await session.simple('COMMIT');
  return { results };
}

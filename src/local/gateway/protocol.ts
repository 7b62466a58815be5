/**
 * Neon's SQL-over-HTTP wire format: request parsing, parameter conversion and
 * response/error shapes. Pure functions; no I/O. See
 * docs/local-gateway.md ("The wire rules it follows") for the rules followed here.
 */

export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
export const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** One column of a RowDescription, exactly the seven keys Neon sends. */
export interface NeonField {
  name: string;
  dataTypeID: number;
  tableID: number;
  columnID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: 'text';
}

export type Cell = string | null;

/** Re-emit a RowDescription field (from pg or PGlite) with exactly Neon's keys. */
export function toNeonField(f: Omit<NeonField, 'format'>): NeonField {
  return {
    name: f.name,
    dataTypeID: f.dataTypeID,
    tableID: f.tableID,
    columnID: f.columnID,
    dataTypeSize: f.dataTypeSize,
    dataTypeModifier: f.dataTypeModifier,
    format: 'text',
  };
}

/** What a backend returns for one statement run with the extended protocol. */
export interface StatementOutcome {
  fields: NeonField[];
  rows: Cell[][];
  /** The CommandComplete tag, or null for an empty query. */
  commandTag: string | null;
}

export interface NeonResult {
  fields: NeonField[];
  rows: unknown[];
  command: string;
  rowCount: number | null;
  rowAsArray: boolean;
}

export interface StatementRequest {
  query: string;
  params: Cell[];
  arrayMode?: boolean;
}

export type ParsedBody = { kind: 'single'; statement: StatementRequest } | { kind: 'batch'; statements: StatementRequest[] };

export const ISOLATION_LEVELS = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
} as const;
export type IsolationLevel = keyof typeof ISOLATION_LEVELS;

export interface BatchOptions {
  isolationLevel?: IsolationLevel;
  readOnly: boolean;
  deferrable: boolean;
}

/** The 17 keys every Neon error body carries, in Neon's order. */
export const ERROR_KEYS = [
  'message',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'severity',
  'where',
  'table',
  'column',
  'schema',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;
export type NeonErrorBody = Record<(typeof ERROR_KEYS)[number], string | null>;

/** A PostgreSQL ErrorResponse, carried with all its fields. Answered as HTTP 400. */
export class PostgresError extends Error {
  constructor(readonly fields: Partial<Record<(typeof ERROR_KEYS)[number], string | undefined>>) {
    super(fields.message ?? 'postgres error');
  }
}

/** An error raised by the gateway itself (bad header, bad body, connection failure...). */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function postgresErrorBody(err: PostgresError): NeonErrorBody {
  const body = Object.fromEntries(ERROR_KEYS.map((k) => [k, err.fields[k] ?? null])) as NeonErrorBody;
  body.message = err.fields.message ?? '';
  if (body.internalPosition !== null) body.position = null;
  return body;
}

export function gatewayErrorBody(message: string): NeonErrorBody {
  const body = Object.fromEntries(ERROR_KEYS.map((k) => [k, null])) as NeonErrorBody;
  body.message = message;
  body.code = '';
  body.severity = '';
  return body;
}

/** `INSERT 0 3` → 3; `SELECT 2` → 2; `CREATE TABLE` → null; no tag → null. */
export function commandAndRowCount(tag: string | null): { command: string; rowCount: number | null } {
  if (!tag) return { command: '', rowCount: null };
  const words = tag.split(' ');
  const countWord = words[0] === 'INSERT' ? words[2] : words[1];
  const rowCount = countWord !== undefined && /^\d+$/.test(countWord) ? Number(countWord) : null;
  return { command: words[0] ?? '', rowCount };
}

/**
 * Neon's parameter rules (§3.4): null → NULL, string verbatim, booleans, numbers and
 * objects as compact JSON, arrays as a PostgreSQL array literal of JSON scalars.
 */
export function toParam(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return arrayLiteral(value);
  return JSON.stringify(value);
}

function arrayLiteral(values: unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return 'NULL';
    if (Array.isArray(v)) return arrayLiteral(v);
    if (typeof v === 'object') return JSON.stringify(JSON.stringify(v));
    return JSON.stringify(v);
  });
  return `{${items.join(',')}}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseStatement(v: unknown, where: string): StatementRequest {
  if (!isObject(v) || typeof v.query !== 'string') throw new Error(`${where}: missing field \`query\``);
  if (v.params !== undefined && !Array.isArray(v.params)) throw new Error(`${where}.params: expected an array`);
  if (v.arrayMode !== undefined && typeof v.arrayMode !== 'boolean') {
    throw new Error(`${where}.arrayMode: expected a boolean`);
  }
  const params = ((v.params as unknown[] | undefined) ?? []).map(toParam);
  return { query: v.query, params, ...(v.arrayMode === undefined ? {} : { arrayMode: v.arrayMode }) };
}

/** Classify a request body as a single statement or a batch, as Neon's untagged union does. */
export function parseBody(text: string): ParsedBody {
  const fail = (msg: string): never => {
    throw new GatewayError(400, `could not parse the HTTP request body: ${msg}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (!isObject(json)) return fail('expected a JSON object with `query` or `queries`');
  try {
    if (typeof json.query === 'string') return { kind: 'single', statement: parseStatement(json, 'body') };
    if (Array.isArray(json.queries)) {
      return { kind: 'batch', statements: json.queries.map((q, i) => parseStatement(q, `queries[${i}]`)) };
    }
  } catch (err) {
    return fail((err as Error).message);
  }
  return fail('data did not match any variant: expected `query` (a string) or `queries` (an array)');
}

export interface ConnectionTarget {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  applicationName: string | undefined;
}

/** Parse the Neon-Connection-String header; user, password and database are percent-decoded. */
export function parseConnectionString(value: string | undefined): ConnectionTarget {
  if (!value) throw new GatewayError(400, 'invalid header: neon-connection-string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new GatewayError(400, 'invalid header: neon-connection-string');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new GatewayError(400, 'incorrect scheme');
  }
  const user = decodeURIComponent(url.username);
  if (!user) throw new GatewayError(400, 'missing username');
  const database = decodeURIComponent(url.pathname.replace(/^\//, '').split('/')[0] ?? '');
  if (!database) throw new GatewayError(400, 'missing database name');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new GatewayError(400, 'missing hostname');
  return {
    host,
    port: url.port ? Number(url.port) : 5432,
    user,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database,
    applicationName: url.searchParams.get('application_name') ?? undefined,
  };
}

/** Headers → batch options. An unknown isolation level is refused even for a single statement. */
export function parseBatchOptions(header: (name: string) => string | undefined): BatchOptions {
  const level = header('neon-batch-isolation-level');
  if (level !== undefined && !(level in ISOLATION_LEVELS)) {
    throw new GatewayError(400, 'invalid isolation level');
  }
  return {
    ...(level === undefined ? {} : { isolationLevel: level as IsolationLevel }),
    readOnly: header('neon-batch-read-only') === 'true',
    deferrable: header('neon-batch-deferrable') === 'true',
  };
}

export function startTransactionSql(opts: BatchOptions): string {
  const clauses: string[] = [];
  if (opts.isolationLevel) clauses.push(`ISOLATION LEVEL ${ISOLATION_LEVELS[opts.isolationLevel]}`);
  if (opts.readOnly) clauses.push('READ ONLY');
  if (opts.deferrable) clauses.push('DEFERRABLE');
  return clauses.length ? `START TRANSACTION ${clauses.join(', ')}` : 'START TRANSACTION';
}

/** Shape one statement's outcome for the wire; raw text mode keeps cells as PostgreSQL's text. */
export function toNeonResult(outcome: StatementOutcome, arrayMode: boolean, rawText: boolean): NeonResult {
  const { command, rowCount } = commandAndRowCount(outcome.commandTag);
  const convert = rawText ? (cell: Cell) => cell : undefined;
  const cells = (row: Cell[]): unknown[] => (convert ? row : row.map((cell, i) => typedCell(cell, outcome.fields[i]!.dataTypeID)));
  const rows = arrayMode
    ? outcome.rows.map(cells)
    : outcome.rows.map((row) => {
        const values = cells(row);
        return Object.fromEntries(outcome.fields.map((f, i) => [f.name, values[i]]));
      });
  return { fields: outcome.fields, rows, command, rowCount, rowAsArray: arrayMode };
}

// Non-raw mode (curl users): Neon's json.rs conversions. bool, int2/int4, float4/float8 and
// json/jsonb become JSON values, arrays become JSON arrays whose elements are converted by element
// type, and everything else stays PostgreSQL text. Arrays are recognised by the built-in array
// OIDs below; arrays of user-defined types (enum[], domain[]) stay text, since Neon looks those up
// in the catalog and the gateway does not.
const BOOL = 16,
  INT2 = 21,
  INT4 = 23,
  FLOAT4 = 700,
  FLOAT8 = 701,
  JSON_OID = 114,
  JSONB = 3802;

/** pg_type.typelem of the built-in array types whose delimiter is a comma (so not box[]). */
const ARRAY_ELEMENT: Record<number, number> = {
  1000: 16,
  1001: 17,
  1002: 18,
  1003: 19,
  1016: 20,
  1005: 21,
  1007: 23,
  1009: 25,
  1028: 26,
  199: 114,
  1021: 700,
  1022: 701,
  791: 790,
  1040: 829,
  1041: 869,
  651: 650,
  1014: 1042,
  1015: 1043,
  1182: 1082,
  1183: 1083,
  1115: 1114,
  1185: 1184,
  1187: 1186,
  1270: 1266,
  1561: 1560,
  1563: 1562,
  1231: 1700,
  2951: 2950,
  3643: 3614,
  3807: 3802,
  1017: 600,
  2287: 2249,
};

function typedCell(cell: Cell, oid: number): unknown {
  if (cell === null) return null;
  switch (oid) {
    case BOOL:
      return cell === 't';
    case INT2:
    case INT4:
      return Number(cell);
    case FLOAT4:
    case FLOAT8: {
      const n = Number(cell);
      return Number.isFinite(n) ? n : cell;
    }
    case JSON_OID:
    case JSONB:
      return JSON.parse(cell);
    default: {
      const element = ARRAY_ELEMENT[oid];
      return element === undefined ? cell : arrayToJson(cell, element);
    }
  }
}

/** PostgreSQL array text (`{1,NULL,"a b"}`, nested, maybe `[0:1]=`-decorated) → JSON array. */
function arrayToJson(text: string, element: number): unknown[] {
  let i = text.startsWith('[') ? text.indexOf('=') + 1 : 0;
  const level = (): unknown[] => {
    const out: unknown[] = [];
    i++; // '{'
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(level());
      } else if (text[i] === '"') {
        let value = '';
        for (i++; i < text.length && text[i] !== '"'; i++) value += text[i] === '\\' ? text[++i] : text[i];
        i++;
        out.push(typedCell(value, element));
      } else {
        const start = i;
        while (i < text.length && text[i] !== ',' && text[i] !== '}') i++;
        const value = text.slice(start, i);
        out.push(value === 'NULL' ? null : typedCell(value, element));
      }
      if (i >= text.length || text[i++] === '}') return out; // else it was the ',' between elements
    }
  };
  return level();
}

import { ERROR_CODES, type ErrorCode, type Problem, type ProblemFieldError, ProblemSchema } from '../contracts/problem.ts';

export { ERROR_CODES, type ErrorCode, type Problem, type ProblemFieldError, ProblemSchema };

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly errors: ProblemFieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(opts: { code: ErrorCode; detail: string; errors?: ProblemFieldError[]; headers?: Record<string, string> }) {
    super(opts.detail);
    this.code = opts.code;
    this.detail = opts.detail;
    this.errors = opts.errors;
    this.headers = opts.headers ?? {};
  }
}

export function problemBody(err: ApiError, requestId: string): Problem {
  const { status, title } = ERROR_CODES[err.code];
  return {
    type: `/problems/${err.code}`,
    title,
    status,
    detail: err.detail,
    code: err.code,
    requestId,
    ...(err.errors ? { errors: err.errors } : {}),
  };
}

export function problemResponse(err: ApiError, requestId: string): Response {
  const body = problemBody(err, requestId);
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { 'Content-Type': 'application/problem+json', ...err.headers },
  });
}

/** OpenAPI `responses` entries for the shared problem shape. */
export function problemResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: Object.values(ERROR_CODES).find((e) => e.status === s)?.title ?? 'Error',
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    ]),
  ) as Record<S, { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } }>;
}

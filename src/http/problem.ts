import { z } from '@hono/zod-openapi';

/** Every error the API answers, with its HTTP status and title. One table, one shape. */
export const ERROR_CODES = {
  bad_request: { status: 400, title: 'Bad request' },
  malformed_json: { status: 400, title: 'Malformed JSON' },
  validation_failed: { status: 422, title: 'Validation failed' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  internal: { status: 500, title: 'Internal server error' },
  database_unavailable: { status: 503, title: 'Database unavailable' },
  queue_unavailable: { status: 503, title: 'Queue unavailable' },
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: '/problems/validation_failed' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    requestId: z.string(),
    errors: z
      .array(z.object({ path: z.string().openapi({ example: 'events[3].time_window_end' }), message: z.string() }))
      .optional(),
  })
  .openapi('Problem');
export type Problem = z.infer<typeof ProblemSchema>;
export type ProblemFieldError = NonNullable<Problem['errors']>[number];

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

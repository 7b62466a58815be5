import { z } from '@hono/zod-openapi';

/** Every error the API answers, with its HTTP status and title. One table, one shape. */
export const ERROR_CODES = {
  bad_request: { status: 400, title: 'Bad request' },
  malformed_json: { status: 400, title: 'Malformed JSON' },
  validation_failed: { status: 422, title: 'Validation failed' },
  report_too_large: { status: 422, title: 'Report too large' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  internal: { status: 500, title: 'Internal server error' },
  config_invalid: { status: 500, title: 'Configuration invalid' },
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
    errors: z.array(z.object({ path: z.string().openapi({ example: 'events[3].time_window_end' }), message: z.string() })).optional(),
  })
  .openapi('Problem');
export type Problem = z.infer<typeof ProblemSchema>;
export type ProblemFieldError = NonNullable<Problem['errors']>[number];

/** `['events', 3, 'time_window_end']` → `events[3].time_window_end`: how every error path is written. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    return out ? `${out}.${String(part)}` : String(part);
  }, '');
}

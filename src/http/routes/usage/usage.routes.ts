import { MAX_USAGE_ROWS, MAX_USAGE_SPAN_DAYS, UsageCsvSchema, UsageQuerySchema, UsageReportSchema } from '../../../contracts/usage-report.ts';
import { requireReadKey } from '../../middleware/auth.ts';
import { apiRoute } from '../../operations.ts';
import { READ_KEY_SCHEME } from '../../security.ts';

export const usageRoute = apiRoute({
  operationId: 'getUsage',
  tags: ['reporting'],
  access: READ_KEY_SCHEME,
  method: 'get',
  path: '/usage',
  summary: 'Totals of every metric per time bucket (UTC) and group: project, user, allocation, cluster, source',
  description: [
    'Sums every metric of the usage events whose `time_window_start` is in [`from`, `to`), per UTC day, ISO week or',
    'calendar month, and per group of `group_by`, with the number of events. Usage whose link to a project, user or',
    'allocation is missing, partial or unresolved is never dropped: it is reported under `null` for what is missing',
    '(`unmapped: true`), so the rows add up to every event. Filters keep only matching events (a project, user or',
    'allocation filter keeps only events mapped to one of them).',
    `At most ${MAX_USAGE_SPAN_DAYS} days and ${MAX_USAGE_ROWS} rows (more is 422 \`report_too_large\`).`,
    '`Accept: text/csv` returns the same rows as CSV.',
  ].join(' '),
  middleware: [requireReadKey] as const,
  request: { query: UsageQuerySchema },
  responses: {
    200: {
      description: 'The report (JSON), or its rows as CSV',
      content: {
        'application/json': { schema: UsageReportSchema },
        'text/csv': { schema: UsageCsvSchema },
      },
    },
  },
  problems: [422, 503],
});

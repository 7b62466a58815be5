import type { RouteHandler } from '@hono/zod-openapi';
import { accepts } from 'hono/accepts';
import type { UsageReport } from '../../../contracts/usage-report.ts';
import { queryUsage, ReportTooLargeError } from '../../../reporting/query-usage.ts';
import { usageCsv } from '../../../reporting/usage-csv.ts';
import type { AppEnv } from '../../app-env.ts';
import { ApiError } from '../../problem.ts';
import type { usageRoute } from './usage.routes.ts';

const CSV = 'text/csv';
const JSON_TYPE = 'application/json';

export const getUsage: RouteHandler<typeof usageRoute, AppEnv> = async (c) => {
  const query = c.req.valid('query');
  const format = accepts(c, { header: 'Accept', supports: [JSON_TYPE, CSV], default: JSON_TYPE });
  let report: UsageReport;
  try {
    report = await queryUsage(c.var.services.db, query);
  } catch (err) {
    if (err instanceof ReportTooLargeError) {
      throw new ApiError({
        code: 'report_too_large',
        detail: `the report would have more than ${err.limit} rows (bucket × group): shorten from/to, use a coarser bucket, group by less or filter`,
      });
    }
    throw err;
  }
  c.header('Vary', 'Accept');
  if (format === CSV) return c.body(usageCsv(report), 200, { 'Content-Type': 'text/csv; charset=utf-8' });
  return c.json(report, 200);
};

import { type UsageReport, usageColumns } from '../contracts/usage-report.ts';

/** What a spreadsheet would run as a formula (or DDE) when a cell starts with it. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * RFC 4180: quote a field holding a comma, a quote, CR or LF (quotes doubled); null is an empty field.
 * A text value starting with `=`, `+`, `-`, `@`, tab or CR (a cluster named `=HYPERLINK(…)`, sent by a
 * collector) is neutralised as OWASP recommends: prefixed with a single quote, so it shows as text.
 * Numbers and booleans are written as they are.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' && FORMULA_START.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The report's rows as CSV: a header line with the row columns, then one line per row, CRLF line ends. */
export function usageCsv(report: UsageReport): string {
  const columns = usageColumns(report.group_by);
  const lines = [columns.join(',')];
  for (const row of report.rows) {
    const values = row as Record<string, unknown>;
    lines.push(columns.map((c) => csvField(values[c])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

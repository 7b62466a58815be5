import { type UsageReport, usageColumns } from '../contracts/usage-report.ts';

/** RFC 4180: quote a field holding a comma, a quote, CR or LF (quotes doubled); null is an empty field. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
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

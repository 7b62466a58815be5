import { describe, expect, it } from 'vitest';
import { METRIC_KEYS } from '../../../src/contracts/usage-event.ts';
import type { UsageReport, UsageRow } from '../../../src/contracts/usage-report.ts';
import { csvField, usageCsv } from '../../../src/reporting/usage-csv.ts';

describe('usage CSV (RFC 4180)', () => {
  it('quotes only fields that need it, doubling quotes; null is an empty field', () => {
    expect(['plain', 'a,b', 'say "hi"', 'two\r\nlines', 'lf\nonly', 'cr\ronly', '', null, undefined, 12.5, false].map(csvField)).toEqual([
      'plain',
      '"a,b"',
      '"say ""hi"""',
      '"two\r\nlines"',
      '"lf\nonly"',
      '"cr\ronly"',
      '',
      '',
      '',
      '12.5',
      'false',
    ]);
  });

  it('neutralises text cells a spreadsheet would run as a formula (OWASP: a leading single quote); numbers stay numbers', () => {
    expect(['=HYPERLINK("http://evil.example","x")', '+1', '-2+3', '@SUM(A1)', '\tx', '\rx', 'a=b', "'quoted"].map(csvField)).toEqual([
      `"'=HYPERLINK(""http://evil.example"",""x"")"`,
      "'+1",
      "'-2+3",
      "'@SUM(A1)",
      "'\tx",
      `"'\rx"`,
      'a=b',
      "'quoted",
    ]);
    expect([-1, 0, 1e21].map(csvField)).toEqual(['-1', '0', '1e+21']);
    const row = { bucket_start: '2026-01-01T00:00:00Z', cluster: '=cmd|" /C calc"!A0', unmapped: false, events: 1, unmapped_events: 0 };
    const csv = usageCsv({ from: '', to: '', bucket: 'day', group_by: ['cluster'], rows: [row as unknown as UsageRow] });
    expect(csv.split('\r\n')[1]!.split(',')[1]).toBe(`"'=cmd|"" /C calc""!A0"`);
  });

  it('a header line with the columns of the grouping, one CRLF-ended line per row', () => {
    const metrics = Object.fromEntries(METRIC_KEYS.map((k, i) => [k, i * 1.5])) as Record<(typeof METRIC_KEYS)[number], number>;
    const row: UsageRow = {
      bucket_start: '2026-01-01T00:00:00Z',
      project: 'a, "b"',
      project_id: null,
      cluster: null,
      unmapped: true,
      events: 3,
      unmapped_events: 1,
      ...metrics,
    };
    const report: UsageReport = { from: '', to: '', bucket: 'day', group_by: ['project', 'cluster'], rows: [row] };
    expect(usageCsv(report)).toBe(
      `bucket_start,project,project_id,cluster,unmapped,events,unmapped_events,${METRIC_KEYS.join(',')}\r\n` +
        `2026-01-01T00:00:00Z,"a, ""b""",,,true,3,1,${METRIC_KEYS.map((_, i) => i * 1.5).join(',')}\r\n`,
    );
    expect(usageCsv({ ...report, group_by: [], rows: [] })).toBe(`bucket_start,unmapped,events,unmapped_events,${METRIC_KEYS.join(',')}\r\n`);
  });
});

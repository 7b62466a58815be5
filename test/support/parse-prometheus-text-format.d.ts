/** The parser's output (prom2json's shape): types for test code; the package ships none. */
declare module 'parse-prometheus-text-format' {
  export interface ParsedMetric {
    value: string;
    labels?: Record<string, string>;
    timestamp_ms?: string;
  }
  export interface ParsedFamily {
    name: string;
    help: string;
    type: 'GAUGE' | 'COUNTER' | 'UNTYPED' | 'SUMMARY' | 'HISTOGRAM';
    metrics: ParsedMetric[];
  }
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}

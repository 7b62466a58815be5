import type { AlertRule } from '../contracts/alert.ts';

const toHex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** The labels sorted by name: the order a fingerprint, a payload and a metric's labels use. */
export const sortedLabels = (labels: Record<string, string>): [string, string][] =>
  Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * An alert's stable name: the hex SHA-256 of its rule and its labels sorted by name, so the same problem
 * in the same place is the same alert across evaluations, restarts and label orders.
 */
export async function alertFingerprint(rule: AlertRule, labels: Record<string, string>): Promise<string> {
  const canonical = JSON.stringify([rule, sortedLabels(labels)]);
  return toHex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical)));
}

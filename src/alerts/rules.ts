/**
 * The alert rules, pure: what the evaluation observed in, the alerts that fire out (docs/alerts.md).
 * Whatever is not in the output is not firing; the evaluation resolves it.
 */
import type { AlertRule, AlertSeverity } from '../contracts/alert.ts';
import { DAY_MS } from '../lib/utc-day.ts';
import type { AllocationShare } from '../reporting/allocation-balances.ts';

export interface AlertCandidate {
  rule: AlertRule;
  labels: Record<string, string>;
  severity: AlertSeverity;
  summary: string;
}

export interface AlertObservations {
  /** The last UTC day that has ended (and settled: COLLECT_DELAY_MINUTES). */
  lastCompleteDay: string;
  /** Every configured cluster and its watermark (null: never planned). */
  watermarks: { cluster: string; through_day: string | null }[];
  /** Days whose collection failed for good: every retry of the queue spent, the message dead-lettered. */
  deadLettered: { cluster: string; day: string; attempts: number }[];
  /** The signed `/v1/health` of every configured relay. */
  relays: { cluster: string; ok: boolean; detail: string }[];
  /** The last complete day's events, and how many of them are not `resolved` (no link counts as not resolved). */
  unmapped: { day: string; events: number; not_resolved: number };
  /** Active allocations' grants and their use. */
  allocations: AllocationShare[];
}

export interface AlertThresholds {
  lagDays: number;
  unmappedShare: number;
}

/** The shares at which an allocation's grant alerts, and how loud. */
export const ALLOCATION_THRESHOLDS: readonly { share: number; severity: AlertSeverity }[] = [
  { share: 0.8, severity: 'warning' },
  { share: 1, severity: 'critical' },
];

const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
const percent = (share: number) => `${Math.round(share * 1000) / 10} %`;

/** Lag in whole days: how far the watermark is behind the last complete day (0: up to date). */
export const lagDays = (throughDay: string, lastCompleteDay: string) => Math.max(0, daysBetween(throughDay, lastCompleteDay));

/** One alert per grant and threshold passed: at 80 % a warning, at 100 % (and over) also a critical one. */
export function allocationAlerts(shares: readonly AllocationShare[]): AlertCandidate[] {
  const out: AlertCandidate[] = [];
  for (const s of shares) {
    if (!(s.granted > 0) || !Number.isFinite(s.used_share)) continue;
    for (const t of ALLOCATION_THRESHOLDS) {
      if (s.used_share < t.share) continue;
      out.push({
        rule: 'allocation_share',
        labels: { allocation_id: s.allocation_id, project_id: s.project_id, metric: s.metric, threshold: String(t.share) },
        severity: t.severity,
        summary: `allocation ${s.allocation_id} (project ${s.project_id}) has used ${percent(s.used_share)} of its ${s.metric} grant (${s.used} of ${s.granted}), past ${percent(t.share)}`,
      });
    }
  }
  return out;
}

/** Every alert that fires on these observations. */
export function evaluateRules(o: AlertObservations, t: AlertThresholds): AlertCandidate[] {
  const out: AlertCandidate[] = [];
  for (const w of o.watermarks) {
    if (w.through_day === null) continue;
    const lag = lagDays(w.through_day, o.lastCompleteDay);
    if (lag > t.lagDays) {
      out.push({
        rule: 'collection_lag',
        labels: { cluster: w.cluster },
        severity: 'warning',
        summary: `${w.cluster} is collected through ${w.through_day}, ${lag} days behind ${o.lastCompleteDay} (ALERT_LAG_DAYS ${t.lagDays})`,
      });
    }
  }
  for (const d of o.deadLettered) {
    out.push({
      rule: 'collection_dead_letter',
      labels: { cluster: d.cluster, day: d.day },
      severity: 'critical',
      summary: `${d.cluster} ${d.day} failed ${d.attempts} times and was dead-lettered; see its runs, then POST /admin/collection/backfill`,
    });
  }
  for (const r of o.relays) {
    if (r.ok) continue;
    out.push({
      rule: 'relay_down',
      labels: { cluster: r.cluster },
      severity: 'critical',
      summary: `the relay of ${r.cluster} does not answer its signed /v1/health: ${r.detail}`,
    });
  }
  const u = o.unmapped;
  if (u.events > 0 && u.not_resolved / u.events > t.unmappedShare) {
    out.push({
      rule: 'unmapped_share',
      labels: {},
      severity: 'warning',
      summary: `${u.not_resolved} of ${u.events} events of ${u.day} (${percent(u.not_resolved / u.events)}) are not resolved to a user, project and allocation (ALERT_UNMAPPED_SHARE ${percent(t.unmappedShare)})`,
    });
  }
  out.push(...allocationAlerts(o.allocations));
  return out;
}

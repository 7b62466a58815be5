/**
 * The operator page's Allocations section: per active allocation a bar of used vs granted for each granted metric
 * (80 % and 100 % marked, most used first), and the events that wait for a directory entry, with what to add.
 * SVG bars (attributes, not style attributes: the page's CSP allows none).
 */
import { html } from 'hono/html';
import type { GrantMetric } from '../../../contracts/directory.ts';
import type { AllocationShare } from '../../../reporting/allocation-balances.ts';
import type { WaitingEntry, WaitingReason } from '../../../reporting/operator-overview.ts';

type Html = ReturnType<typeof html>;

/** Allocations shown, most used first. */
export const ALLOCATIONS_SHOWN = 50;
const BAR_WIDTH = 240;
const BAR_HEIGHT = 14;
/** The bar's scale ends at 125 %: room to show an overdrawn grant. */
const SCALE = 1.25;

const UNITS: Record<GrantMetric, { unit: string; per: number }> = {
  cpu_core_seconds: { unit: 'core-h', per: 3600 },
  gpu_time_seconds: { unit: 'GPU-h', per: 3600 },
  walltime_allocated: { unit: 'h', per: 3600 },
  storage_bytes_allocated: { unit: 'GiB', per: 1024 ** 3 },
};

const amount = (metric: GrantMetric, value: number) => {
  const { unit, per } = UNITS[metric];
  return `${(value / per).toLocaleString('en-US', { maximumFractionDigits: value / per < 10 ? 2 : 0 })} ${unit}`;
};
const percent = (share: number) => `${(share * 100).toLocaleString('en-US', { maximumFractionDigits: 1 })} %`;
const level = (share: number) => (share >= 1 ? 'over' : share >= 0.8 ? 'high' : 'ok');

function bar(share: number): Html {
  const x = (s: number) => ((Math.min(s, SCALE) / SCALE) * BAR_WIDTH).toFixed(1);
  return html`<svg class="grant-bar" width="${BAR_WIDTH}" height="${BAR_HEIGHT}" viewBox="0 0 ${BAR_WIDTH} ${BAR_HEIGHT}" role="img" aria-label="${percent(share)} used">
<rect class="track" x="0" y="0" width="${BAR_WIDTH}" height="${BAR_HEIGHT}"></rect>
<rect class="used used-${level(share)}" x="0" y="0" width="${x(share)}" height="${BAR_HEIGHT}"></rect>
<line class="mark mark-80" x1="${x(0.8)}" x2="${x(0.8)}" y1="0" y2="${BAR_HEIGHT}"></line>
<line class="mark mark-100" x1="${x(1)}" x2="${x(1)}" y1="0" y2="${BAR_HEIGHT}"></line>
</svg>`;
}

/** The allocations, each with its metrics, the one with the highest share used first. */
function byAllocation(shares: AllocationShare[]) {
  const groups = new Map<string, AllocationShare[]>();
  for (const s of shares) groups.set(s.allocation_id, [...(groups.get(s.allocation_id) ?? []), s]);
  return [...groups.values()]
    .map((metrics) => ({ metrics: metrics.sort((a, b) => b.used_share - a.used_share), top: Math.max(...metrics.map((m) => m.used_share)) }))
    .sort((a, b) => b.top - a.top || a.metrics[0]!.allocation_id.localeCompare(b.metrics[0]!.allocation_id));
}

const TO_ADD: Record<WaitingReason, (what: string) => string> = {
  user_not_found: (what) => `a user with ${what} (PUT /directory/users)`,
  project_not_found: (what) => `a project named ${what} (PUT /directory/projects)`,
  openstack_project_not_found: (what) => `an openstack allocation whose payload.openstack names ${what} (PUT /directory/allocations)`,
  no_allocation_at_time: (what) => `an hpc allocation of project ${what} valid at the events’ time (PUT /directory/allocations)`,
  no_default_project: (what) => `a default_project_id for user ${what} (PUT /directory/users)`,
};

export function allocationsSection(shares: AllocationShare[], waiting: WaitingEntry[], days: string[]): Html {
  const allocations = byAllocation(shares);
  const shown = allocations.slice(0, ALLOCATIONS_SHOWN);
  return html`<section id="allocations"><h2>Allocations</h2>
${
  shown.length === 0
    ? html`<p class="empty">No active allocation has a grant. Load them from the allocation system: <code>npm run directory:push -- export.json</code> or <code>PUT /directory/allocations</code> with <code>grants</code>.</p>`
    : html`<p class="muted">Used of each grant by the events linked to the allocation within its validity; the marks are 80 % and 100 %. Most used first${
        allocations.length > shown.length
          ? html`; ${shown.length} of ${allocations.length} shown (all: <code>GET /allocations?active=true</code>)`
          : ''
      }.</p>
<div class="scroll"><table class="allocations">
<thead><tr><th>allocation</th><th>project</th><th>metric</th><th>used of granted</th><th class="num">share</th></tr></thead>
<tbody>${shown.flatMap(({ metrics }) =>
        metrics.map(
          (m, i) =>
            html`<tr data-allocation="${m.allocation_id}" data-metric="${m.metric}" data-share="${m.used_share}" class="level-${level(m.used_share)}">${
              i === 0
                ? html`<td rowspan="${metrics.length}"><code>${m.allocation_id}</code></td><td rowspan="${metrics.length}">${m.project_id}</td>`
                : ''
            }<td>${m.metric}</td><td>${bar(m.used_share)} ${amount(m.metric, m.used)} of ${amount(m.metric, m.granted)}</td><td class="num">${percent(m.used_share)}</td></tr>`,
        ),
      )}</tbody></table></div>`
}
<h3>Waiting for a directory entry</h3>
${
  waiting.length === 0
    ? html`<p class="muted">No event of ${days[0]} to ${days[days.length - 1]} waits for a user, project or allocation to be added.</p>`
    : html`<table class="waiting"><caption>Events of ${days[0]} to ${days[days.length - 1]} (UTC) not resolved for want of a directory entry; adding it re-maps them automatically</caption>
<thead><tr><th>reason</th><th>add</th><th class="num">events</th><th>days</th></tr></thead>
<tbody>${waiting.map(
        (w) =>
          html`<tr data-reason="${w.code}" data-what="${w.what ?? ''}" data-events="${w.events}"><td><code>${w.code}</code></td><td>${
            w.what === null ? 'see GET /links/unresolved' : TO_ADD[w.code](w.what)
          }</td><td class="num">${w.events.toLocaleString('en-US')}</td><td>${w.first === w.last ? w.first : `${w.first} – ${w.last}`}</td></tr>`,
      )}</tbody></table>`
}
</section>`;
}

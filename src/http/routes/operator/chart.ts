/**
 * The usage chart: one stacked bar per UTC day with usage (`data-day`), one segment per project,
 * as inline SVG (no script, no outside file), with axes, `<title>` tooltips giving the exact
 * figures, and a legend table listing every project with its totals. Pure: data in, markup out.
 */
import { html } from 'hono/html';
import type { UsageCell, UsageOverview } from '../../../reporting/operator-overview.ts';

type Html = ReturnType<typeof html>;

/** Projects drawn in their own colour; the rest share one "other projects" segment. */
const MAX_PROJECT_SERIES = 9;
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];
const OTHER_COLOR = '#c9c9c9';
const UNMAPPED_FILL = 'url(#unmapped-hatch)';

const W = 960;
const H = 300;
const M = { left: 64, right: 12, top: 14, bottom: 52 };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const hoursFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const secondsFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });
export const formatCoreHours = (coreSeconds: number) => hoursFormat.format(coreSeconds / 3600);
export const formatCoreSeconds = (coreSeconds: number) => secondsFormat.format(coreSeconds);
const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

interface Series {
  key: string;
  label: string;
  fill: string;
  kind: 'project' | 'other' | 'unmapped';
}

interface ProjectTotal {
  key: string;
  project: string | null;
  core_seconds: number;
  events: number;
  days: number;
  series: Series;
}

const cellKey = (c: UsageCell) => c.project_id ?? 'unmapped';

/** Per project (unmapped last), its totals and the series it is drawn in. */
function projectTotals(cells: UsageCell[]): ProjectTotal[] {
  const byKey = new Map<string, Omit<ProjectTotal, 'series'>>();
  for (const c of cells) {
    const key = cellKey(c);
    const t = byKey.get(key) ?? { key, project: c.project, core_seconds: 0, events: 0, days: 0 };
    t.core_seconds += c.core_seconds;
    t.events += c.events;
    t.days += 1;
    byKey.set(key, t);
  }
  const projects = [...byKey.values()]
    .filter((t) => t.key !== 'unmapped')
    .sort((a, b) => b.core_seconds - a.core_seconds || String(a.project).localeCompare(String(b.project)));
  const own = projects.length <= MAX_PROJECT_SERIES + 1 ? projects.length : MAX_PROJECT_SERIES;
  const other: Series = { key: 'other', label: `other projects (${projects.length - own})`, fill: OTHER_COLOR, kind: 'other' };
  const totals: ProjectTotal[] = projects.map((t, i) => ({
    ...t,
    series: i < own ? { key: t.key, label: t.project ?? t.key, fill: PALETTE[i % PALETTE.length]!, kind: 'project' } : other,
  }));
  const unmapped = byKey.get('unmapped');
  if (unmapped) totals.push({ ...unmapped, series: { key: 'unmapped', label: 'unmapped', fill: UNMAPPED_FILL, kind: 'unmapped' } });
  return totals;
}

/** A round step for about five ticks up to `max`. */
function niceStep(max: number): number {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
}

const dayLabel = (day: string) => `${MONTHS[Number(day.slice(5, 7)) - 1]} ${Number(day.slice(8, 10))}`;
const round = (n: number) => Math.round(n * 100) / 100;

function renderSvg(usage: UsageOverview, totals: ProjectTotal[]): Html {
  const seriesOf = new Map(totals.map((t) => [t.key, t.series]));
  const order = [...new Set(totals.map((t) => t.series))];
  const byDay = new Map<string, UsageCell[]>();
  for (const c of usage.cells) byDay.set(c.day, [...(byDay.get(c.day) ?? []), c]);

  const dayTotal = (cells: UsageCell[]) => cells.reduce((s, c) => s + c.core_seconds, 0) / 3600;
  const maxHours = Math.max(...[...byDay.values()].map(dayTotal));
  const step = niceStep(maxHours);
  const yMax = step * Math.ceil(maxHours / step);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const slot = plotW / usage.days.length;
  const barW = Math.max(2, slot * 0.7);
  const y = (hours: number) => M.top + plotH - (hours / yMax) * plotH;
  const n = usage.days.length;

  const ticks = Array.from({ length: Math.round(yMax / step) + 1 }, (_, i) => i * step);
  const yAxis = ticks.map(
    (t) => html`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${round(y(t))}" y2="${round(y(t))}"/>
<text class="tick" x="${M.left - 6}" y="${round(y(t)) + 4}" text-anchor="end">${hoursFormat.format(t)}</text>`,
  );
  const xAxis = usage.days.map((day, i) =>
    (n - 1 - i) % 5 === 0
      ? html`<line class="axis" x1="${round(M.left + (i + 0.5) * slot)}" x2="${round(M.left + (i + 0.5) * slot)}" y1="${M.top + plotH}" y2="${M.top + plotH + 4}"/>
<text class="tick" x="${round(M.left + (i + 0.5) * slot)}" y="${M.top + plotH + 17}" text-anchor="middle">${dayLabel(day)}</text>`
      : null,
  );

  const bars = usage.days.map((day, i) => {
    const cells = byDay.get(day);
    if (!cells) return null;
    const x = round(M.left + i * slot + (slot - barW) / 2);
    const segments = order.flatMap((series) => {
      const of = cells.filter((c) => seriesOf.get(cellKey(c)) === series);
      if (of.length === 0) return [];
      return [{ series, core_seconds: of.reduce((s, c) => s + c.core_seconds, 0), events: of.reduce((s, c) => s + c.events, 0) }];
    });
    const total = segments.reduce((s, g) => s + g.core_seconds, 0);
    const events = segments.reduce((s, g) => s + g.events, 0);
    let base = 0;
    const rects = segments.map((g) => {
      const top = base + g.core_seconds / 3600;
      const rect = html`<rect class="seg seg-${g.series.kind}" data-project="${g.series.label}" data-core-seconds="${g.core_seconds}" x="${x}" y="${round(y(top))}" width="${round(barW)}" height="${round(y(base) - y(top))}" fill="${g.series.fill}"><title>${day} · ${g.series.label}: ${formatCoreHours(g.core_seconds)} core-hours (${formatCoreSeconds(g.core_seconds)} core-seconds, ${plural(g.events, 'event')})</title></rect>`;
      base = top;
      return rect;
    });
    const breakdown = segments.map((g) => `\n${g.series.label}: ${formatCoreHours(g.core_seconds)} core-hours`).join('');
    return html`<g class="bar" data-day="${day}" data-core-seconds="${total}"><title>${day}: ${formatCoreHours(total)} core-hours (${formatCoreSeconds(total)} core-seconds, ${plural(events, 'event')})${breakdown}</title>${rects}</g>`;
  });

  const first = usage.days[0]!;
  const last = usage.days[n - 1]!;
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="usage-chart-title usage-chart-desc" xmlns="http://www.w3.org/2000/svg">
<title id="usage-chart-title">Core-hours per project per UTC day</title>
<desc id="usage-chart-desc">One stacked bar per UTC day with usage from ${first} to ${last}; one segment per project. Hover a bar for its figures.</desc>
<defs><pattern id="unmapped-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e5e5e5"/><rect width="3" height="6" fill="#737373"/></pattern></defs>
${yAxis}
<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${M.top + plotH}" y2="${M.top + plotH}"/>
<line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}"/>
${xAxis}
<text class="axis-title" transform="translate(16 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">core-hours</text>
<text class="axis-title" x="${M.left + plotW / 2}" y="${H - 8}" text-anchor="middle">UTC day (${first} to ${last})</text>
${bars}
</svg>`;
}

function renderLegend(totals: ProjectTotal[], days: number): Html {
  const rows = totals.map(
    (
      t,
    ) => html`<tr class="${t.series.kind === 'unmapped' ? 'unmapped' : ''}" data-project="${t.project ?? 'unmapped'}" data-core-seconds="${t.core_seconds}">
<td><svg class="swatch" viewBox="0 0 12 12" aria-hidden="true"><rect width="12" height="12" fill="${t.series.fill}"/></svg></td>
<td>${t.project ?? html`<em>unmapped</em> <span class="muted">(no project: see unresolved links above)</span>`}${t.series.kind === 'other' ? html` <span class="muted">(in ${t.series.label})</span>` : null}</td>
<td class="num">${formatCoreHours(t.core_seconds)}</td><td class="num">${formatCoreSeconds(t.core_seconds)}</td>
<td class="num">${t.events.toLocaleString('en-US')}</td><td class="num">${t.days}</td></tr>`,
  );
  const total = totals.reduce((s, t) => s + t.core_seconds, 0);
  return html`<table class="legend"><caption>Legend: totals over the ${days} days</caption>
<thead><tr><th></th><th>project</th><th class="num">core-hours</th><th class="num">core-seconds</th><th class="num">events</th><th class="num">days</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr><td></td><th>all</th><td class="num">${formatCoreHours(total)}</td><td class="num">${formatCoreSeconds(total)}</td><td class="num">${totals.reduce((s, t) => s + t.events, 0).toLocaleString('en-US')}</td><td></td></tr></tfoot></table>`;
}

/** The chart and its legend; null when there is no usage in the range. */
export function renderUsageChart(usage: UsageOverview): Html | null {
  if (usage.cells.length === 0) return null;
  const totals = projectTotals(usage.cells);
  return html`${renderSvg(usage, totals)}${renderLegend(totals, usage.days.length)}`;
}

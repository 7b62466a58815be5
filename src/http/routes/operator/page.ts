/**
 * The operator page's markup: the sign-in form and the overview (collection per cluster,
 * unresolved links by reason, the usage chart). Every value from the database goes through `html`,
 * which escapes it.
 */
import { html, raw } from 'hono/html';
import type { Alert } from '../../../contracts/alert.ts';
import { LINK_REASONS } from '../../../contracts/event-link.ts';
import type { ClusterOverview, OperatorOverview, RunSummary, UnresolvedOverview } from '../../../reporting/operator-overview.ts';
import { allocationsSection } from './allocations-section.ts';
import { renderUsageChart } from './chart.ts';
import { SESSION_PATH, SESSION_TTL_SECONDS } from './session.ts';
import { STYLE } from './styles.ts';

export const PAGE_PATH = SESSION_PATH;
export const SIGN_IN_PATH = `${SESSION_PATH}/sign-in`;
export const SIGN_OUT_PATH = `${SESSION_PATH}/sign-out`;

/** Markup from `html`, which escapes every interpolated value unless it is markup itself. */
type Html = ReturnType<typeof html>;

const MAX_ERROR_CHARS = 500;

function layout(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${raw(STYLE)}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** The page, for one cluster or all. */
export const pageUrl = (cluster: string | null) => (cluster ? `${PAGE_PATH}?${new URLSearchParams({ cluster })}` : PAGE_PATH);

/** The sign-in form; `message` says why it is shown again (never repeating what was typed). */
export function signInPage(opts: { cluster: string | null; message?: string | undefined }): Html {
  return layout(
    'Sign in · Zeus operator',
    html`<main class="sign-in"><section>
<h1>Zeus operator</h1>
<p class="muted">Collection runs, unmapped usage and core-hours per project. Sign in with an operator key (one of <code>ADMIN_API_KEY</code>).</p>
${opts.message ? html`<p class="alert" role="alert">${opts.message}</p>` : null}
<form method="post" action="${SIGN_IN_PATH}">
${opts.cluster ? html`<input type="hidden" name="cluster" value="${opts.cluster}">` : null}
<input type="text" name="username" value="operator" autocomplete="username" hidden>
<label for="key">Operator key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<p class="muted">You stay signed in for ${SESSION_TTL_SECONDS / 3600} hours on this page only. The key is not stored: the cookie holds a signed expiry, which ends when the key is rotated out.</p>
</section></main>`,
  );
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

const count = (n: number) => n.toLocaleString('en-US');

const RUN_COLUMNS = 10;

/** A run's row, and below it a row with its error when it has one. */
function runRow(r: RunSummary): Html {
  const error = r.error ?? '';
  const shown = error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}…` : error;
  return html`<tr data-run="${r.id}" data-run-day="${r.day}" data-status="${r.status}">
<td>${r.day}</td><td>${r.started_at.replace('T', ' ')}</td><td>${r.trigger} #${r.attempt}</td>
<td class="status status-${r.status}">${r.status}</td><td class="num">${duration(r.duration_ms)}</td>
<td class="num">${count(r.jobs)}</td><td class="num">${count(r.events)}</td>
<td class="num">${count(r.inserted)} / ${count(r.updated)} / ${count(r.unchanged)}</td>
<td class="num${r.malformed > 0 ? ' warn' : ''}">${count(r.malformed)}</td><td class="num">${count(r.skipped)}</td></tr>
${error ? html`<tr class="run-error" data-run-error="${r.id}"><td colspan="${RUN_COLUMNS}"${shown === error ? null : html` title="${error}"`}>error: ${shown}</td></tr>` : null}`;
}

function clusterBlock(c: ClusterOverview): Html {
  return html`<article class="cluster" data-cluster="${c.cluster}">
<h3>${c.cluster}</h3>
<dl class="facts">
<div><dt>collected through</dt><dd class="watermark">${c.through_day ?? 'never'}</dd></div>
<div><dt>days queued</dt><dd>${c.queued}</dd></div>
<div><dt>days failed</dt><dd class="${c.failed > 0 ? 'warn' : ''}">${c.failed}</dd></div>
<div><dt>relay</dt><dd>${c.relay ?? html`<span class="muted">not in RELAYS</span>`}${c.kind === 'openstack' ? ' (OpenStack)' : null}</dd></div>
</dl>
${
  c.runs.length === 0
    ? html`<p class="muted">No runs yet: the daily cron collects each day once it has ended, or queue days with <code>POST /admin/collection/backfill</code>.</p>`
    : html`<div class="scroll"><table class="runs"><caption>Last ${c.runs.length} runs, newest first</caption>
<thead><tr><th>day</th><th>started (UTC)</th><th>trigger, attempt</th><th>status</th><th class="num">duration</th>
<th class="num">${c.kind === 'openstack' ? 'servers' : 'jobs'}</th><th class="num">events</th><th class="num">inserted / updated / unchanged</th>
<th class="num">${c.kind === 'openstack' ? 'malformed servers' : 'malformed lines'}</th><th class="num">skipped</th></tr></thead>
<tbody>${c.runs.map(runRow)}</tbody></table></div>`
}
</article>`;
}

function collectionSection(o: OperatorOverview): Html {
  return html`<section id="collection"><h2>Collection</h2>
${
  o.clusters.length === 0
    ? html`<p class="empty">No cluster is configured (<code>RELAYS</code>) and none has been collected yet.</p>`
    : o.clusters.map(clusterBlock)
}
</section>`;
}

function unresolvedSection(u: UnresolvedOverview, days: string[]): Html {
  const total = u.by_status.unresolved + u.by_status.partial;
  return html`<section id="unresolved"><h2>Unresolved links</h2>
<p class="muted">Links of the events of ${days[0]} to ${days[days.length - 1]} (UTC) that miss a user, a project or an allocation.</p>
<dl class="facts">
<div><dt>unresolved</dt><dd data-status="unresolved">${count(u.by_status.unresolved)}</dd></div>
<div><dt>partial</dt><dd data-status="partial">${count(u.by_status.partial)}</dd></div>
</dl>
${
  total === 0
    ? html`<p class="muted">Every mapped event of these days has its user, project and allocation.</p>`
    : html`<table class="reasons"><caption>Links by reason (a link has one reason per missing part)</caption>
<thead><tr><th>part</th><th>reason</th><th>meaning</th><th class="num">links</th></tr></thead>
<tbody>${u.by_reason.map(
        (r) =>
          html`<tr data-part="${r.part}" data-reason="${r.code}" data-links="${r.links}"><td>${r.part}</td><td><code>${r.code}</code></td><td>${LINK_REASONS[r.code]?.meaning ?? ''}</td><td class="num">${count(r.links)}</td></tr>`,
      )}</tbody></table>
<p class="muted">The events: <code>GET /links/unresolved</code>. After adding the missing users or projects: <code>POST /links/remap {from, to}</code>, or set a link by hand with <code>PUT /links/events/{event_id}</code> (all at <a href="/doc">/doc</a>).</p>`
}
</section>`;
}

function usageSection(o: OperatorOverview): Html {
  const chart = renderUsageChart(o.usage);
  const [first, last] = [o.usage.days[0], o.usage.days[o.usage.days.length - 1]];
  return html`<section id="usage"><h2>Core-hours per project per UTC day</h2>
<p class="muted">${first} to ${last} (UTC, today included), from <code>cpu_core_seconds</code> ÷ 3600, by the day of each event’s window start. Usage whose link names no project is shown as <em>unmapped</em>.</p>
${chart ?? html`<p class="empty">No usage with <code>cpu_core_seconds</code> in these ${o.usage.days.length} days.</p>`}
</section>`;
}

function emptyState(o: OperatorOverview): Html {
  const configured = o.clusters.filter((c) => c.relay !== null);
  return html`<section id="empty"><h2>No data yet</h2>
<div class="empty">
<p>${o.cluster ? html`Nothing has been collected or sent for cluster <strong>${o.cluster}</strong>.` : 'Nothing has been collected or sent yet.'} To get data:</p>
<ol>
<li>Configure each cluster’s relay in <code>RELAYS</code> (JSON <code>[{"cluster", "url"}]</code>) and <code>RELAY_SECRET</code>; the daily cron (02:15 UTC) then collects every ended day. Under <code>npm run dev</code> the demo cluster is configured: run the cron now with <code>curl 'http://127.0.0.1:8787/__scheduled?cron=15+2+*+*+*'</code>.</li>
<li>To collect past days again: <code>POST /admin/collection/backfill {cluster, from, to}</code>.</li>
<li>Or send usage events from your own collector: <code>POST /collector/resource-usage</code> (see <a href="/doc">/doc</a>).</li>
</ol>
${configured.length > 0 ? html`<p>Configured in <code>RELAYS</code>, not collected yet: ${configured.map((c, i) => html`${i > 0 ? ', ' : ''}<strong>${c.cluster}</strong>`)}.</p>` : null}
<p>Then reload this page.</p>
</div>
</section>`;
}

const isEmpty = (o: OperatorOverview) =>
  o.clusters.every((c) => c.runs.length === 0 && c.through_day === null) &&
  o.unresolved.by_status.unresolved + o.unresolved.by_status.partial === 0 &&
  o.usage.cells.length === 0;

const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(' · ');

function alertRow(a: Alert): Html {
  const since =
    a.state === 'firing' ? `since ${a.first_seen.slice(0, 16).replace('T', ' ')}` : `resolved ${a.resolved_at?.slice(0, 16).replace('T', ' ')}`;
  const silenced = a.silenced_until && a.silenced_until > new Date().toISOString() ? a.silenced_until : null;
  return html`<tr data-alert="${a.fingerprint}" data-state="${a.state}" data-rule="${a.rule}">
<td class="status ${a.state === 'firing' ? (a.severity === 'critical' ? 'status-failed' : 'warn') : 'status-succeeded'}">${a.state}${a.state === 'firing' ? ` · ${a.severity}` : ''}</td>
<td><code>${a.rule}</code><br><span class="muted">${labelText(a.labels)}</span></td><td>${a.summary}</td>
<td>${since}${silenced ? html`<br><span class="muted" title="${a.silence_note ?? ''}">silenced until ${silenced.slice(0, 16).replace('T', ' ')}</span>` : null}</td></tr>`;
}

/** Alerts: firing first, then those resolved in the last 7 days (the rows come in that order). */
function alertsSection(alerts: readonly Alert[]): Html {
  const firing = alerts.filter((a) => a.state === 'firing').length;
  return html`<section id="alerts"><h2>Alerts</h2>
${
  alerts.length === 0
    ? html`<p class="muted">No alert is firing, and none resolved in the last 7 days.</p>`
    : html`<p class="muted">${firing} firing, ${alerts.length - firing} resolved in the last 7 days. Silence one with <code>POST /admin/alerts/{fingerprint}/silence {until, note}</code>.</p>
<div class="scroll"><table class="alerts"><thead><tr><th>state</th><th>rule, labels</th><th>summary</th><th>when (UTC)</th></tr></thead>
<tbody>${alerts.map(alertRow)}</tbody></table></div>`
}
</section>`;
}

/** The overview, signed in. */
export function overviewPage(o: OperatorOverview, alerts: readonly Alert[] = []): Html {
  const generated = `${o.generated_at.slice(0, 19).replace('T', ' ')} UTC`;
  return layout(
    `${o.cluster ? `${o.cluster} · ` : ''}Zeus operator`,
    html`<header>
<h1>Zeus operator${o.cluster ? html` · <span class="cluster-filter">${o.cluster}</span>` : null}</h1>
<form method="get" action="${PAGE_PATH}" role="search">
<label for="cluster" class="muted">cluster</label>
<input id="cluster" name="cluster" value="${o.cluster ?? ''}" placeholder="all clusters">
<button type="submit" class="secondary">Show</button>
${o.cluster ? html`<a href="${PAGE_PATH}">all clusters</a>` : null}
</form>
<span class="muted">generated ${generated} · <a href="/doc">API explorer</a></span>
<form method="post" action="${SIGN_OUT_PATH}"><button type="submit" class="secondary">Sign out</button></form>
</header>
<main>
${alertsSection(alerts)}
${
  isEmpty(o)
    ? [emptyState(o), allocationsSection(o.allocations, o.waiting, o.usage.days)]
    : [
        collectionSection(o),
        allocationsSection(o.allocations, o.waiting, o.usage.days),
        unresolvedSection(o.unresolved, o.usage.days),
        usageSection(o),
      ]
}
</main>`,
  );
}

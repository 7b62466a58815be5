/**
 * The page's one stylesheet, inline, and the Content-Security-Policy that allows exactly it (by
 * hash): no script at all, no other origin, no style attribute, forms posted to this origin only.
 */
export const STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; justify-content: space-between; padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
header form { display: flex; gap: 6px; align-items: center; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
h2 { font-size: 16px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
caption { text-align: left; color: var(--muted); padding: 4px 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.status { font-weight: 600; }
.status-succeeded { color: var(--ok); }
.status-failed { color: var(--bad); }
.scroll { overflow-x: auto; }
.runs td { white-space: nowrap; }
.runs tr[data-run]:has(+ .run-error) td { border-bottom: 0; }
.runs .run-error td { white-space: normal; color: var(--bad); overflow-wrap: anywhere; padding-top: 0; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 0 0 6px; }
.facts div { display: flex; gap: 6px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; }
.warn { color: var(--warn); }
.empty { padding: 12px 16px; background: var(--bg); border: 1px dashed var(--line); border-radius: 6px; }
.empty ol { margin: 6px 0 0; padding-left: 20px; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--bg); padding: 1px 4px; border-radius: 4px; }
input, button { font: inherit; padding: 5px 10px; border: 1px solid var(--line); border-radius: 6px; }
button { background: #1f6feb; color: #fff; border-color: #1f6feb; cursor: pointer; }
button.secondary { background: #fff; color: var(--fg); border-color: var(--line); }
a { color: #0969da; }
.chart { width: 100%; height: auto; display: block; }
.chart .grid { stroke: #eaeef2; }
.chart .axis { stroke: #8c959f; }
.chart .tick { font-size: 11px; fill: var(--muted); }
.chart .axis-title { font-size: 12px; fill: var(--fg); }
.chart .bar:hover .seg { opacity: 0.8; }
.swatch { width: 12px; height: 12px; display: block; margin-top: 3px; }
.legend tr.unmapped td { background: #fff8e5; }
.grant-bar { vertical-align: middle; margin-right: 6px; }
.grant-bar .track { fill: #eaeef2; }
.grant-bar .used-ok { fill: var(--ok); }
.grant-bar .used-high { fill: #d4a72c; }
.grant-bar .used-over { fill: var(--bad); }
.grant-bar .mark { stroke: var(--fg); stroke-width: 1.5; }
.allocations tr.level-over td:last-child { color: var(--bad); font-weight: 600; }
.allocations tr.level-high td:last-child { color: var(--warn); font-weight: 600; }
.sign-in { max-width: 420px; margin: 12vh auto; }
.sign-in label { display: block; font-weight: 600; margin: 12px 0 4px; }
.sign-in input { width: 100%; }
.sign-in button { margin-top: 12px; width: 100%; }
.alert { padding: 8px 12px; border-radius: 6px; background: #ffebe9; border: 1px solid #ff818266; color: var(--bad); margin: 12px 0 0; }
`;

let styleHash: string | undefined;

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

/** The page's CSP: its own inline stylesheet (by hash), nothing else to load, no script. */
export async function pageCsp(): Promise<string> {
  styleHash ??= await sha256Base64(STYLE);
  return [
    "default-src 'none'",
    `style-src 'sha256-${styleHash}'`,
    'img-src data:',
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

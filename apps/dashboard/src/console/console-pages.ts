import type { UploadStatus } from '@upload-fleet/core';
import type { AccountLimits, DeliveryDetail, DeliveryFilter, DeliveryList, PoolThroughput } from './console-data.js';

/**
 * The console's HTML: server-rendered pages, no external asset (it works without
 * internet), one small inline script that refreshes the live part of a page. Every value
 * comes from ConsoleData already redacted and is HTML-escaped here.
 */
export interface PageContext {
  /** Where the console is served, like "/console" or "/dashboard/console". */
  consolePath: string;
  /** Bull Board's page, like "/" or "/dashboard/". */
  boardPath: string;
  readOnly: boolean;
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2433;background:#f4f6f9}
header{background:#1d2433;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center}
header a{color:#cfd8e6;text-decoration:none}header a.on,header a:hover{color:#fff;text-decoration:underline}
header .title{font-weight:600;color:#fff;margin-right:12px}header .mode{margin-left:auto;font-size:12px;background:#2f6f4f;padding:2px 8px;border-radius:9px}
main{padding:16px 20px;max-width:1200px}
h1{font-size:20px;margin:4px 0 12px}h2{font-size:16px;margin:18px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0001}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e7ee;vertical-align:top}th{background:#eef1f6;font-weight:600;font-size:12px;text-transform:uppercase;color:#4a5568}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
.state{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;background:#e2e8f0}
.s-completed{background:#d4f4dd;color:#17602c}.s-failed,.s-partially_failed{background:#fde0e0;color:#8a1c1c}
.s-active,.s-in_progress{background:#dbeafe;color:#1e4e9c}.s-deferred{background:#fef3c7;color:#7a5200}.s-cancelled{background:#e5e7eb;color:#4b5563}
.bar{display:inline-block;width:120px;height:8px;background:#e2e8f0;border-radius:4px;overflow:hidden;vertical-align:middle}
.bar i{display:block;height:100%;background:#3b82f6}
form.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:end;margin-bottom:12px;background:#fff;padding:10px;box-shadow:0 1px 2px #0001}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#4a5568}
input,select,button{font:inherit;padding:4px 6px}
.card{background:#fff;box-shadow:0 1px 2px #0001;padding:10px 14px;margin-bottom:12px}
.kv{display:grid;grid-template-columns:160px 1fr;gap:2px 12px}.kv dt{color:#4a5568}.kv dd{margin:0}
.error{border-left:3px solid #c53030;padding:4px 10px;background:#fff5f5;margin:6px 0}.hint{color:#7a3b00}
.muted{color:#6b7280}.spark{display:flex;gap:1px;align-items:end;height:28px}.spark i{width:3px;background:#3b82f6;display:block}.spark i.f{background:#c53030}
pre{white-space:pre-wrap;margin:4px 0;font-size:12px;background:#f8fafc;padding:6px}
`;

/** Re-fetches the page every 2 s and swaps its live part; stops once it says it is final. */
const LIVE_SCRIPT = `
(function(){var live=document.getElementById('live');if(!live||live.dataset.final==='true')return;
function tick(){fetch(location.href,{headers:{'x-console-fragment':'live'},credentials:'same-origin'}).then(function(r){return r.ok?r.text():null}).then(function(html){
if(html===null)return;var box=document.createElement('div');box.innerHTML=html;var next=box.querySelector('#live');if(!next)return;
live.replaceWith(next);live=next;document.documentElement.dataset.refreshed=String(Date.now());if(next.dataset.final!=='true')setTimeout(tick,2000);}).catch(function(){setTimeout(tick,5000)});}
setTimeout(tick,2000);})();
document.addEventListener('click',function(e){var b=e.target.closest&&e.target.closest('button[data-action]');if(!b)return;var box=b.closest('.actions');
fetch(box.dataset.api+'/'+b.dataset.action,{method:'POST',headers:{'x-console-action':'1'},credentials:'same-origin'}).then(function(r){return r.json()}).then(function(a){
box.querySelector('.outcome').textContent=JSON.stringify(a);setTimeout(function(){location.reload()},800);});});`;

export function layout(ctx: PageContext, current: 'deliveries' | 'limits' | 'pools', title: string, body: string): string {
  const nav = (page: typeof current, href: string, label: string) => `<a href="${escapeHtml(href)}"${page === current ? ' class="on"' : ''}>${label}</a>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · upload-fleet console</title><style>${STYLE}</style></head><body>
<header><span class="title">upload-fleet console</span>${nav('deliveries', `${ctx.consolePath}`, 'Deliveries')}${nav('limits', `${ctx.consolePath}/limits`, 'Limits')}${nav('pools', `${ctx.consolePath}/pools`, 'Pools')}<a href="${escapeHtml(ctx.boardPath)}">Queues (Bull Board)</a>
<span class="mode">${ctx.readOnly ? 'read-only' : 'retry, clean and promote allowed in Bull Board'}</span></header>
<main>${body}</main><script>${LIVE_SCRIPT}</script></body></html>`;
}

export function stateBadge(state: string): string {
  return `<span class="state s-${escapeHtml(state)}">${escapeHtml(state.replace('_', ' '))}</span>`;
}

function bar(percent: number | undefined): string {
  if (percent === undefined) return '';
  return `<span class="bar" role="progressbar" aria-valuenow="${percent}"><i style="width:${percent}%"></i></span> <span class="mono">${percent}%</span>`;
}

function time(iso: string | undefined): string {
  return iso ? `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time>` : '';
}

const DELIVERY_STATES = ['pending', 'in_progress', 'completed', 'failed', 'partially_failed', 'cancelled'];

export function deliveriesPage(ctx: PageContext, list: DeliveryList, filter: DeliveryFilter, query: Record<string, string>, types: { type: string; label: string }[]): string {
  const selected = new Set(filter.states ?? []);
  const filters = `<form class="filters" method="get" action="${escapeHtml(ctx.consolePath)}">
<label>Search token or metadata<input type="search" name="q" value="${escapeHtml(query.q ?? '')}" placeholder="dlv_… or customer"></label>
<label>State<select name="state"><option value="">any</option>${DELIVERY_STATES.map((s) => `<option value="${s}"${selected.has(s as never) ? ' selected' : ''}>${s.replace('_', ' ')}</option>`).join('')}</select></label>
<label>Destination<select name="type"><option value="">any</option>${types.map((t) => `<option value="${escapeHtml(t.type)}"${filter.type === t.type ? ' selected' : ''}>${escapeHtml(t.label)}</option>`).join('')}</select></label>
<label>Created from<input type="datetime-local" name="from" value="${escapeHtml(query.from ?? '')}"></label>
<label>to<input type="datetime-local" name="to" value="${escapeHtml(query.to ?? '')}"></label>
<button type="submit">Filter</button></form>`;
  const rows = list.deliveries
    .map(
      (d) => `<tr data-token="${escapeHtml(d.token)}"><td><a class="mono" href="${escapeHtml(`${ctx.consolePath}/deliveries/${encodeURIComponent(d.token)}`)}">${escapeHtml(d.token)}</a></td>
<td>${stateBadge(d.state)}</td><td>${d.uploads.map((u) => `<div>${escapeHtml(u.type)} ${stateBadge(u.state)} ${bar(u.percent)}</div>`).join('')}</td>
<td>${time(d.created_at)}</td><td class="mono">${escapeHtml(d.owner)}</td><td class="mono">${escapeHtml(d.metadata ? JSON.stringify(d.metadata) : '')}</td></tr>`,
    )
    .join('');
  const next = list.next_before_ms !== undefined ? `<p><a href="?${escapeHtml(new URLSearchParams({ ...query, before: String(list.next_before_ms) }).toString())}">Older deliveries →</a></p>` : '';
  const body = `<h1>Deliveries</h1>${filters}<div id="live" data-final="false">
<p class="muted">${list.deliveries.length} shown, newest first · ${list.scanned} of ${list.total} indexed deliveries looked at</p>
<table><thead><tr><th>Token</th><th>State</th><th>Uploads</th><th>Created</th><th>Owner</th><th>Metadata</th></tr></thead><tbody>${rows || '<tr><td colspan="6" class="muted">No delivery matches.</td></tr>'}</tbody></table>${next}</div>`;
  return layout(ctx, 'deliveries', 'Deliveries', body);
}

export function deliveryPage(ctx: PageContext, detail: DeliveryDetail): string {
  const { status } = detail;
  const extras = new Map(detail.uploads.map((u) => [u.index, u]));
  const uploads = status.uploads.map((u) => uploadCard(u, extras.get(u.index))).join('');
  const webhook = status.webhook
    ? `<dl class="kv"><dt>State</dt><dd>${stateBadge(status.webhook.state)}</dd><dt>Attempts</dt><dd>${status.webhook.attempts}</dd>${status.webhook.last_status !== undefined ? `<dt>Last answer</dt><dd>HTTP ${status.webhook.last_status}</dd>` : ''}${status.webhook.last_error ? `<dt>Last error</dt><dd>${escapeHtml(status.webhook.last_error)}</dd>` : ''}${status.webhook.delivered_at ? `<dt>Delivered</dt><dd>${time(status.webhook.delivered_at)}</dd>` : ''}</dl>`
    : `<p class="muted">${detail.callback_url ? 'Not sent yet: it is sent once every upload has ended.' : 'No callback_url was given.'}</p>`;
  const body = `<p><a href="${escapeHtml(ctx.consolePath)}">← Deliveries</a></p><h1 class="mono">${escapeHtml(status.token)}</h1>
<div id="live" data-final="${detail.finished}"><div class="card"><dl class="kv"><dt>State</dt><dd>${stateBadge(status.state)}</dd><dt>Created</dt><dd>${time(status.created_at)}</dd><dt>Owner</dt><dd class="mono">${escapeHtml(detail.owner)}</dd>
${status.metadata ? `<dt>Metadata</dt><dd class="mono">${escapeHtml(JSON.stringify(status.metadata))}</dd>` : ''}${status.upload ? `<dt>Result URL</dt><dd><a class="mono" href="${escapeHtml(status.upload)}">${escapeHtml(status.upload)}</a></dd>` : ''}</dl></div>
${actions(ctx, detail)}<h2>Uploads</h2>${uploads}<h2>Webhook</h2><div class="card">${detail.callback_url ? `<p class="mono">${escapeHtml(detail.callback_url)}</p>` : ''}${webhook}</div>
<p class="muted">${detail.finished ? 'Final: this page no longer refreshes.' : 'Refreshes every 2 seconds.'}</p></div>`;
  return layout(ctx, 'deliveries', status.token, body);
}

/** Cancel and retry, shown only when the dashboard is not read-only and there is something to do. */
function actions(ctx: PageContext, detail: DeliveryDetail): string {
  if (ctx.readOnly) return '';
  const states = detail.status.uploads.map((u) => u.state);
  const buttons = [
    states.some((s) => s === 'queued' || s === 'deferred') ? '<button type="button" data-action="cancel">Cancel the uploads not started</button>' : '',
    states.includes('failed') ? '<button type="button" data-action="retry">Retry the failed uploads</button>' : '',
  ].join(' ');
  if (!buttons.trim()) return '';
  const api = `${ctx.consolePath}/api/deliveries/${encodeURIComponent(detail.status.token)}`;
  return `<div class="card actions" data-api="${escapeHtml(api)}">${buttons} <span class="outcome muted"></span></div>`;
}

function uploadCard(u: UploadStatus, extra: DeliveryDetail['uploads'][number] | undefined): string {
  const rows: string[] = [
    `<dt>State</dt><dd>${stateBadge(u.state)} ${bar(extra?.percent)}${u.progress ? ` <span class="muted">${u.progress.bytes_sent} of ${u.progress.bytes_total} bytes</span>` : ''}</dd>`,
    `<dt>Attempts</dt><dd>${u.attempts} of ${u.max_attempts}</dd>`,
    `<dt>Job</dt><dd class="mono">${escapeHtml(u.job_id)}</dd>`,
  ];
  if (u.state === 'deferred') {
    rows.push(`<dt>Deferred</dt><dd>${escapeHtml(u.deferred_reason === 'rate_limited' ? 'rate limited' : 'waiting to retry')} until ${time(u.run_at)}${u.limit_key ? ` (limit key <span class="mono">${escapeHtml(u.limit_key)}</span>)` : ''}</dd>`);
  }
  if (u.upload) rows.push(`<dt>Result URL</dt><dd><a class="mono" href="${escapeHtml(u.upload)}">${escapeHtml(u.upload)}</a></dd>`);
  if (u.result) rows.push(`<dt>Result</dt><dd><pre>${escapeHtml(JSON.stringify(u.result, null, 2))}</pre></dd>`);
  if (u.finished_at) rows.push(`<dt>Finished</dt><dd>${time(u.finished_at)}</dd>`);
  const error = u.error
    ? `<div class="error"><strong class="mono">${escapeHtml(u.error.code)}</strong> <span class="muted">${escapeHtml(u.error.category)}</span><p>${escapeHtml(u.error.message)}</p>${extra?.hint ? `<p class="hint">What to do: ${escapeHtml(extra.hint)}</p>` : ''}${u.error.details ? `<pre>${escapeHtml(u.error.details)}</pre>` : ''}</div>`
    : '';
  const log = extra?.log.length ? `<details><summary>Job log (${extra.log.length} lines)</summary><pre>${escapeHtml(extra.log.join('\n'))}</pre></details>` : '';
  return `<div class="card upload" data-index="${u.index}" data-state="${escapeHtml(u.state)}"><h3>#${u.index} ${escapeHtml(u.type)}</h3><dl class="kv">${rows.join('')}</dl>${error}${log}</div>`;
}

function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

export function limitsPage(ctx: PageContext, accounts: AccountLimits[]): string {
  const rows = accounts
    .map((a) => {
      const windows = a.windows
        .map((w) => `<div>${w.used}${w.limit !== undefined ? ` / ${w.limit}` : ''} per ${duration(w.window_ms)}${w.remaining !== undefined ? ` · <strong>${w.remaining} left</strong>` : ''}${w.resets_at ? ` · next slot ${time(w.resets_at)}` : ''}</div>`)
        .join('');
      const leases = a.leases.length ? a.leases.map((l) => `<div class="mono">${escapeHtml(l.holder)} <span class="muted">until ${time(l.expires_at)}</span></div>`).join('') : '<span class="muted">none</span>';
      const paused = a.paused ? `${stateBadge('paused')} until ${time(a.paused.until)}${a.paused.reason ? `<div>${escapeHtml(a.paused.reason)}</div>` : ''}` : '<span class="muted">no</span>';
      return `<tr><td>${escapeHtml(a.type)}</td><td class="mono">${escapeHtml(a.account ?? `every ${a.type} account`)}</td><td>${windows || '<span class="muted">no window</span>'}</td><td>${a.concurrency !== undefined ? `${a.leases.length} / ${a.concurrency}` : ''}${leases}</td><td>${paused}</td></tr>`;
    })
    .join('');
  const body = `<h1>Fleet-wide limits per destination account</h1><div id="live" data-final="false">
<table><thead><tr><th>Destination</th><th>Account (limit key)</th><th>Windows: used, remaining, reset</th><th>Leases held</th><th>Paused</th></tr></thead><tbody>${rows || '<tr><td colspan="5" class="muted">No account has used a limit yet.</td></tr>'}</tbody></table>
<p class="muted">Rolling windows: a slot frees when the oldest start leaves the window ("next slot"). Refreshes every 2 seconds.</p></div>`;
  return layout(ctx, 'limits', 'Limits', body);
}

export function poolsPage(ctx: PageContext, pools: PoolThroughput[]): string {
  const rows = pools
    .map((p) => {
      const peak = Math.max(1, ...p.completed_per_minute.map((c, i) => c + (p.failed_per_minute[i] ?? 0)));
      const spark = p.completed_per_minute
        .map((c, i) => {
          const f = p.failed_per_minute[i] ?? 0;
          return `<span style="display:flex;flex-direction:column-reverse"><i style="height:${Math.round((c / peak) * 26)}px"></i><i class="f" style="height:${Math.round((f / peak) * 26)}px"></i></span>`;
        })
        .join('');
      const counts = ['prioritized', 'waiting', 'active', 'delayed'].map((k) => `${k} ${p.counts[k] ?? 0}`).join(' · ');
      return `<tr data-queue="${escapeHtml(p.queue)}"><td>${escapeHtml(p.label)}<div class="muted mono">${escapeHtml(p.queue)}</div></td><td>${p.completed}</td><td>${p.failed}</td><td>${p.failure_rate === undefined ? '<span class="muted">–</span>' : `${(p.failure_rate * 100).toFixed(1)}%`}</td><td><div class="spark">${spark}</div></td><td class="muted">${counts}</td></tr>`;
    })
    .join('');
  const body = `<h1>Pools: the last hour</h1><div id="live" data-final="false">
<table><thead><tr><th>Pool</th><th>Completed</th><th>Failed</th><th>Failure rate</th><th>Per minute (blue completed, red failed)</th><th>Now</th></tr></thead><tbody>${rows}</tbody></table>
<p class="muted">From BullMQ's metrics, which the workers record per minute: jobs that ended (completed, or failed for good) in the last 60 minutes. Retries and deferrals are not endings.</p></div>`;
  return layout(ctx, 'pools', 'Pools', body);
}

export function notFoundPage(ctx: PageContext, token: string): string {
  return layout(ctx, 'deliveries', 'Not found', `<h1>No delivery ${escapeHtml(token)}</h1><p>It may have expired (delivery records are kept 30 days by default) or the token is wrong. <a href="${escapeHtml(ctx.consolePath)}">All deliveries</a></p>`);
}

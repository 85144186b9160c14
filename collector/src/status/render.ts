// Server-rendered HTML of the status page: plain tables, inline CSS, no script. Every
// value that came from an agent or a config is escaped.
import { TEXT, type Lang, type Words } from './i18n.ts';

export interface AgentRow {
  name: string;
  agency: string;
  site: string;
  state: 'online' | 'offline' | 'revoked';
  lastSeen: number | null;
  version: string | null;
  spool: number | null;
  dropped: number | null;
}

export interface AlertRow {
  rule: string;
  severity: string;
  agency: string;
  host: string;
  since: number;
  summary: string;
}

export interface SilenceRow {
  matchers: string;
  author: string;
  comment: string;
  until: number;
}

export interface EventRow {
  time: number;
  host: string;
  agency: string;
  type: string;
  severity: string;
  message: string;
}

export interface StatusData {
  agents: AgentRow[];
  alerts?: AlertRow[];
  silences?: SilenceRow[];
  events: EventRow[];
  influx: { up: boolean; queued: number; spooled: number; lastError: string | null };
  smtp?: { up: boolean; queued: number; failed: number; sent: number; lastError?: string };
  /** Several collectors on PostgreSQL: who is there and who leads. */
  cluster?: { self: string; leader: string | null; collectors: { id: string; agents: number; leader: boolean }[] };
  timeZone: string;
}

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function when(ms: number | null, w: Words, tz: string, lang: Lang): string {
  if (!ms) return w.never;
  return new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: tz, dateStyle: 'short', timeStyle: 'medium' }).format(ms);
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
header{background:#123b5c;color:#fff;padding:10px 20px;display:flex;justify-content:space-between;align-items:center}
header a{color:#cfe3f5;margin-left:12px}main{padding:16px 20px}section{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;box-shadow:0 1px 2px #0001}
h1{font-size:18px;margin:0}h2{font-size:16px;margin:0 0 8px}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e7eb}
th{background:#f0f3f6}.online{color:#11783a;font-weight:600}.offline{color:#b3261e;font-weight:600}.revoked{color:#777}
.sev-critical{background:#b3261e;color:#fff;padding:0 6px;border-radius:3px}.sev-high{background:#e4572e;color:#fff;padding:0 6px;border-radius:3px}
.sev-medium{background:#f2a541;padding:0 6px;border-radius:3px}.sev-low,.sev-info{background:#dde3ea;padding:0 6px;border-radius:3px}
.agency{margin-top:10px;font-weight:600}.muted{color:#667}form.login{max-width:320px;margin:60px auto;background:#fff;padding:20px;border-radius:6px}
form.login input{display:block;width:100%;margin:4px 0 12px;padding:6px;box-sizing:border-box}.err{color:#b3261e}`;

function page(lang: Lang, title: string, body: string, header = ''): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head><body>${header}${body}</body></html>`;
}

export function renderLogin(lang: Lang, error: boolean, next: string): string {
  const w = TEXT[lang];
  return page(
    lang,
    w.title,
    `<form class="login" method="post" action="/login"><h1>${esc(w.title)}</h1>${error ? `<p class="err">${esc(w.badLogin)}</p>` : ''}
<input type="hidden" name="next" value="${esc(next)}"><input type="hidden" name="lang" value="${lang}">
<label>${esc(w.user)}<input name="user" autocomplete="username" required></label>
<label>${esc(w.password)}<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">${esc(w.login)}</button></form>`,
  );
}

export function renderStatus(lang: Lang, d: StatusData, user: string): string {
  const w = TEXT[lang];
  const tz = d.timeZone;
  // Revoked agents are history, not the fleet: they are not counted and are listed apart.
  const active = d.agents.filter((a) => a.state !== 'revoked');
  const revoked = d.agents.filter((a) => a.state === 'revoked');
  const on = active.filter((a) => a.state === 'online').length;
  const other = lang === 'vi' ? 'en' : 'vi';
  const header = `<header><h1>${esc(w.title)}</h1><nav><span>${esc(user)}</span><a href="/status?lang=${other}">${other === 'vi' ? 'Tiếng Việt' : 'English'}</a><a href="/logout">${esc(w.logout)}</a></nav></header>`;

  const byAgency = new Map<string, AgentRow[]>();
  for (const a of active) byAgency.set(a.agency, [...(byAgency.get(a.agency) ?? []), a]);
  if (revoked.length) byAgency.set('\u0000revoked', revoked);
  let agents = `<p id="summary">${esc(w.summary(on, active.length))}${revoked.length ? esc(w.revokedApart(revoked.length)) : ''}</p>`;
  for (const [agency, rows] of [...byAgency].sort(([a], [b]) => (a.startsWith('\u0000') ? 1 : b.startsWith('\u0000') ? -1 : a.localeCompare(b)))) {
    const heading = agency === '\u0000revoked' ? esc(w.revokedAgents) : `${esc(w.agency)}: ${esc(agency)}`;
    agents += `<div class="agency">${heading}</div><table><tr><th>${esc(w.host)}</th><th>${esc(w.site)}</th><th>${esc(w.state)}</th><th>${esc(w.lastSeen)}</th><th>${esc(w.version)}</th><th>${esc(w.spool)}</th><th>${esc(w.dropped)}</th></tr>`;
    for (const a of rows) {
      agents += `<tr data-agent="${esc(a.name)}"><td>${esc(a.name)}</td><td>${esc(a.site)}</td><td class="${a.state}">${esc(w[a.state])}</td><td>${esc(when(a.lastSeen, w, tz, lang))}</td><td>${esc(a.version ?? '-')}</td><td>${a.spool ?? '-'}</td><td>${a.dropped ?? '-'}</td></tr>`;
    }
    agents += '</table>';
  }

  const alerts =
    d.alerts === undefined
      ? `<p class="muted">${esc(w.notConfigured)}</p>`
      : d.alerts.length === 0
        ? `<p>${esc(w.noAlerts)}</p>`
        : `<table><tr><th>${esc(w.rule)}</th><th>${esc(w.severity)}</th><th>${esc(w.agency)}</th><th>${esc(w.host)}</th><th>${esc(w.since)}</th><th>${esc(w.message)}</th></tr>${d.alerts
            .map((a) => `<tr><td>${esc(a.rule)}</td><td><span class="sev-${esc(a.severity)}">${esc(w.sev[a.severity] ?? a.severity)}</span></td><td>${esc(a.agency)}</td><td>${esc(a.host)}</td><td>${esc(when(a.since, w, tz, lang))}</td><td>${esc(a.summary)}</td></tr>`)
            .join('')}</table>`;
  const silences =
    d.silences === undefined
      ? `<p class="muted">${esc(w.notConfigured)}</p>`
      : d.silences.length === 0
        ? `<p>${esc(w.noSilences)}</p>`
        : `<table><tr><th>${esc(w.matchers)}</th><th>${esc(w.until)}</th><th>${esc(w.author)}</th><th>${esc(w.comment)}</th></tr>${d.silences
            .map((s) => `<tr><td>${esc(s.matchers)}</td><td>${esc(when(s.until, w, tz, lang))}</td><td>${esc(s.author)}</td><td>${esc(s.comment)}</td></tr>`)
            .join('')}</table>`;
  const events = d.events.length
    ? `<table><tr><th>${esc(w.time)}</th><th>${esc(w.agency)}</th><th>${esc(w.host)}</th><th>${esc(w.type)}</th><th>${esc(w.severity)}</th><th>${esc(w.message)}</th></tr>${d.events
        .map((e) => `<tr><td>${esc(when(e.time, w, tz, lang))}</td><td>${esc(e.agency)}</td><td>${esc(e.host)}</td><td>${esc(e.type)}</td><td><span class="sev-${esc(e.severity)}">${esc(w.sev[e.severity] ?? e.severity)}</span></td><td>${esc(e.message)}</td></tr>`)
        .join('')}</table>`
    : `<p>${esc(w.noEvents)}</p>`;
  const influx = `${esc(w.influx)}: <span class="${d.influx.up ? 'online' : 'offline'}">${esc(d.influx.up ? w.up : w.down)}</span> — ${d.influx.queued} ${esc(w.queued)}, ${esc(w.spooled)}: ${d.influx.spooled}${d.influx.lastError && !d.influx.up ? ` <span class="muted">(${esc(d.influx.lastError)})</span>` : ''}`;
  const c = d.cluster;
  const cluster = c ? `<p id="cluster">${esc(w.cluster(c.collectors.length, c.leader, c.self))}</p><ul>${c.collectors.map((m) => `<li>${esc(w.clusterMember(m.id, m.agents, m.leader))}</li>`).join('')}</ul>` : '';
  const smtp = `${esc(w.smtp)}: ${d.smtp ? `<span class="${d.smtp.up ? 'online' : 'offline'}">${esc(d.smtp.up ? w.up : w.down)}</span> <span class="muted">${esc(w.mailStats(d.smtp.queued, d.smtp.failed, d.smtp.sent))}${d.smtp.lastError ? `; ${esc(w.lastError)}: ${esc(d.smtp.lastError)}` : ''}</span>` : `<span class="muted">${esc(w.notConfigured)}</span>`}`;

  return page(
    lang,
    w.title,
    `<main><section id="agents"><h2>${esc(w.agents)}</h2>${agents}</section>
<section id="alerts"><h2>${esc(w.alerts)}</h2>${alerts}<h2 style="margin-top:12px">${esc(w.silences)}</h2>${silences}</section>
<section id="events"><h2>${esc(w.events)}</h2>${events}</section>
<section id="health"><h2>${esc(w.health)}</h2><p>${influx}</p><p>${smtp}</p>${cluster}</section></main>`,
    header,
  );
}

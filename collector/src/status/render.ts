// Server-rendered HTML of the status page: plain tables, inline CSS, no script (the
// page reloads itself with a meta refresh). Every value that came from an agent or a
// config is escaped. Words come from i18n.ts and the shared glossary (@canh/core).
import { eventMessage, eventTypeName, fieldValue, severityName, wallClock } from '@canh/core';
import { TEXT, type Lang, type Words } from './i18n.ts';
import type { AlertingView, StatusAlert, StatusMaintenance } from './alerting.ts';
import type { ServiceRow } from './services.ts';
import { ackCell, ackColumn, type AckShown } from './ack.ts';

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
  /** The alert's id, for the acknowledge button, and who acknowledged it. */
  id?: number;
  ack?: AckShown;
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
  evidence?: Readonly<Record<string, unknown>>;
  count?: number;
  mitre?: string;
}

export interface StatusData {
  agents: AgentRow[];
  alerts?: AlertRow[];
  silences?: SilenceRow[];
  events: EventRow[];
  influx: {
    up: boolean;
    queued: number;
    spooled: number;
    lastError: string | null;
    /** With several InfluxDB targets (influx.targets): each one's backlog. */
    targets?: { name: string; up: boolean; queued: number; spooled: number; lost: number }[];
    disk?: { usedPercent: number; free: number };
    /** The retention line (influx/retention.ts), one text or one per language. */
    storage?: string | Record<Lang, string>;
  };
  smtp?: { up: boolean; queued: number; failed: number; sent: number; lastError?: string };
  /** Several collectors on PostgreSQL: who is there and who leads. */
  cluster?: { self: string; leader: string | null; collectors: { id: string; agents: number; leader: boolean }[] };
  timeZone: string;
  /** Firing alerts with titles, summaries and mutes, maintenance windows, agency names. */
  alerting?: AlertingView;
  services?: ServiceRow[];
  /** Seconds between reloads; 0: off. */
  refresh?: number;
  now?: number;
  /** The session's token for the acknowledge forms (status/ack.ts). */
  ackToken?: string;
}

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One date format per language: 07/12/2026 08:05:09 in Vietnamese, 2026-12-07 08:05:09 in
 *  English; the zone is named once, in the page's header. */
export function when(ms: number | null, w: Words, tz: string, lang: Lang): string {
  if (!ms) return w.never;
  const c = wallClock(ms, tz);
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(c.hour)}:${two(c.minute)}:${two(c.second)}`;
  return lang === 'vi' ? `${two(c.day)}/${two(c.month)}/${c.year} ${time}` : `${c.year}-${two(c.month)}-${two(c.day)} ${time}`;
}

/** "Asia/Ho_Chi_Minh (GMT+7)" */
export function zoneLabel(tz: string, at: number): string {
  const name =
    new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'shortOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? '';
  return `${tz} (${name})`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
header{background:#123b5c;color:#fff;padding:10px 20px;display:flex;justify-content:space-between;align-items:center}
header a{color:#cfe3f5;margin-left:12px}main{padding:16px 20px}section{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;box-shadow:0 1px 2px #0001}
h1{font-size:18px;margin:0}h2{font-size:16px;margin:0 0 8px}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e7eb}
th{background:#f0f3f6}.online{color:#11783a;font-weight:600}.offline{color:#b3261e;font-weight:600}.revoked{color:#777}
.sev-critical{background:#b3261e;color:#fff;padding:0 6px;border-radius:3px}.sev-high{background:#e4572e;color:#fff;padding:0 6px;border-radius:3px}
.sev-medium{background:#f2a541;padding:0 6px;border-radius:3px}.sev-low,.sev-info{background:#dde3ea;padding:0 6px;border-radius:3px}
.agency{margin-top:10px;font-weight:600}td.t{white-space:nowrap}pre.mail{white-space:pre-wrap;font:12px/1.4 monospace;background:#f6f8fa;padding:8px;max-height:420px;overflow:auto}.mute{background:#e8eaf6;color:#283593;padding:0 6px;border-radius:3px;font-size:12px}.zone{color:#cfe3f5;font-size:12px;margin-left:12px}.muted{color:#667}form.login{max-width:320px;margin:60px auto;background:#fff;padding:20px;border-radius:6px}
form.login input{display:block;width:100%;margin:4px 0 12px;padding:6px;box-sizing:border-box}.err{color:#b3261e}`;

function page(lang: Lang, title: string, body: string, header = '', refresh = 0): string {
  const meta = refresh > 0 ? `<meta http-equiv="refresh" content="${refresh}">` : '';
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${meta}<title>${esc(title)}</title><style>${CSS}</style></head><body>${header}${body}</body></html>`;
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
  const header = statusHeader(lang, d, user);

  const byAgency = new Map<string, AgentRow[]>();
  for (const a of active) byAgency.set(a.agency, [...(byAgency.get(a.agency) ?? []), a]);
  if (revoked.length) byAgency.set('\u0000revoked', revoked);
  let agents = `<p id="summary">${esc(w.summary(on, active.length))}${revoked.length ? esc(w.revokedApart(revoked.length)) : ''}</p>`;
  for (const [agency, rows] of [...byAgency].sort(([a], [b]) => (a.startsWith('\u0000') ? 1 : b.startsWith('\u0000') ? -1 : a.localeCompare(b)))) {
    const heading = agency === '\u0000revoked' ? esc(w.revokedAgents) : `${esc(w.agency)}: ${esc(agencyLabel(agency, d))}`;
    agents += `<div class="agency">${heading}</div><table><tr><th>${esc(w.host)}</th><th>${esc(w.site)}</th><th>${esc(w.state)}</th><th>${esc(w.lastSeen)}</th><th>${esc(w.version)}</th><th>${esc(w.spool)}</th><th>${esc(w.dropped)}</th></tr>`;
    for (const a of rows) {
      agents += `<tr data-agent="${esc(a.name)}"><td>${esc(a.name)}</td><td>${esc(a.site)}</td><td class="${a.state}">${esc(w[a.state])}</td><td class="t">${esc(when(a.lastSeen, w, tz, lang))}</td><td>${esc(a.version ?? '-')}</td><td>${a.spool ?? '-'}</td><td>${a.dropped ?? '-'}</td></tr>`;
    }
    agents += '</table>';
  }

  const alerts = d.alerting
    ? renderAlerts(d.alerting.alerts, d, lang)
    : d.alerts === undefined
      ? `<p class="muted">${esc(w.notConfigured)}</p>`
      : d.alerts.length === 0
        ? `<p>${esc(w.noAlerts)}</p>`
        : `<table><tr><th>${esc(w.rule)}</th><th>${esc(w.severity)}</th><th>${esc(w.agency)}</th><th>${esc(w.host)}</th><th>${esc(w.since)}</th><th>${esc(w.message)}</th><th>${esc(ackColumn(lang))}</th></tr>${d.alerts
            .map(
              (a) =>
                `<tr><td>${esc(a.rule)}</td><td><span class="sev-${esc(a.severity)}">${esc(w.sev[a.severity] ?? a.severity)}</span></td><td>${esc(a.agency)}</td><td>${esc(a.host)}</td><td>${esc(when(a.since, w, tz, lang))}</td><td>${esc(a.summary)}</td><td>${ackCell(a, lang, d.ackToken, (t) => when(t, w, tz, lang), esc)}</td></tr>`,
            )
            .join('')}</table>`;
  const silences =
    d.silences === undefined
      ? `<p class="muted">${esc(w.notConfigured)}</p>`
      : d.silences.length === 0
        ? `<p>${esc(w.noSilences)}</p>`
        : `<table><tr><th>${esc(w.matchers)}</th><th>${esc(w.until)}</th><th>${esc(w.author)}</th><th>${esc(w.comment)}</th></tr>${d.silences
            .map(
              (s) =>
                `<tr><td>${esc(s.matchers)}</td><td class="t">${esc(when(s.until, w, tz, lang))}</td><td>${esc(s.author)}</td><td>${esc(s.comment)}</td></tr>`,
            )
            .join('')}</table>`;
  const events = d.events.length
    ? `<table><tr><th>${esc(w.time)}</th><th>${esc(w.agency)}</th><th>${esc(w.host)}</th><th>${esc(w.type)}</th><th>${esc(w.severity)}</th><th>${esc(w.message)}</th></tr>${d.events
        .map(
          (e) =>
            `<tr><td class="t">${esc(when(e.time, w, tz, lang))}</td><td>${esc(agencyLabel(e.agency, d))}</td><td>${esc(e.host)}</td><td>${esc(eventTypeName(e.type, lang))}</td><td><span class="sev-${esc(e.severity)}">${esc(severityName(e.severity, lang))}</span></td><td>${esc(eventMessage(e, lang))}</td></tr>`,
        )
        .join('')}</table>`
    : `<p>${esc(w.noEvents)}</p>`;
  const influx = `${esc(w.influx)}: <span class="${d.influx.up ? 'online' : 'offline'}">${esc(d.influx.up ? w.up : w.down)}</span> — ${d.influx.queued} ${esc(w.queued)}, ${esc(w.spooled)}: ${d.influx.spooled}${d.influx.lastError && !d.influx.up ? ` <span class="muted">(${esc(d.influx.lastError)})</span>` : ''}`;
  const targets = d.influx.targets
    ? `<ul class="influx-targets">${d.influx.targets
        .map(
          (t) =>
            `<li>${esc(t.name)}: <span class="${t.up ? 'online' : 'offline'}">${esc(t.up ? w.up : w.down)}</span> — ${t.queued} ${esc(w.queued)}, ${esc(w.spooled)}: ${t.spooled}${t.lost ? `, <span class="offline">${esc(w.lostLines)}: ${t.lost}</span>` : ''}</li>`,
        )
        .join('')}</ul>`
    : '';
  const c = d.cluster;
  const cluster = c
    ? `<p id="cluster">${esc(w.cluster(c.collectors.length, c.leader, c.self))}</p><ul>${c.collectors.map((m) => `<li>${esc(w.clusterMember(m.id, m.agents, m.leader))}</li>`).join('')}</ul>`
    : '';
  const smtp = `${esc(w.smtp)}: ${d.smtp ? `<span class="${d.smtp.up ? 'online' : 'offline'}">${esc(d.smtp.up ? w.up : w.down)}</span> <span class="muted">${esc(w.mailStats(d.smtp.queued, d.smtp.failed, d.smtp.sent))}${d.smtp.lastError ? `; ${esc(w.lastError)}: ${esc(d.smtp.lastError)}` : ''}</span>` : `<span class="muted">${esc(w.notConfigured)}</span>`}`;

  return page(
    lang,
    w.title,
    `<main><section id="agents"><h2>${esc(w.agents)}</h2>${agents}</section>
<section id="alerts"><h2>${esc(w.alerts)}</h2>${alerts}<h2 style="margin-top:12px">${esc(w.silences)}</h2>${silences}</section>
${renderMaintenance(d, lang)}${renderServices(d, lang)}${renderMails(d, lang)}<section id="events"><h2>${esc(w.events)}</h2>${events}</section>
<section id="health"><h2>${esc(w.health)}</h2><p>${influx}</p>${targets}${storageLine(d, w, lang)}<p>${smtp}</p>${cluster}</section></main>`,
    header,
    d.refresh ?? 0,
  );
}

// Parts of the page with a function each (the page grows in several hands).

/** The agency's display name (alerting.agencies) with its id, or the id. */
function agencyLabel(id: string, d: StatusData): string {
  const name = d.alerting?.agencyNames[id];
  return name && name !== id ? `${name} (${id})` : id;
}

function statusHeader(lang: Lang, d: StatusData, user: string): string {
  const w = TEXT[lang];
  const other = lang === 'vi' ? 'en' : 'vi';
  const refresh = d.refresh ?? 0;
  const toggle = refresh > 0 ? `<a href="/status?lang=${lang}&refresh=0">${esc(w.refreshOff)}</a>` : `<a href="/status?lang=${lang}">${esc(w.refreshOn)}</a>`;
  const zone = `<span class="zone" id="zone">${esc(w.zone)}: ${esc(zoneLabel(d.timeZone, d.now ?? Date.now()))}${refresh > 0 ? ` · ${esc(w.refreshEvery(refresh))}` : ''}</span>`;
  return `<header><h1>${esc(w.title)}${zone}</h1><nav><span>${esc(user)}</span>${toggle}<a href="/status?lang=${other}${refresh > 0 ? '' : '&refresh=0'}">${other === 'vi' ? 'Tiếng Việt' : 'English'}</a><a href="/logout">${esc(w.logout)}</a></nav></header>`;
}

function renderAlerts(rows: readonly StatusAlert[], d: StatusData, lang: Lang): string {
  const w = TEXT[lang];
  if (!rows.length) return `<p>${esc(w.noAlerts)}</p>`;
  const mute = (a: StatusAlert) =>
    a.muted
      ? ` <span class="mute" title="${esc(a.muted.note)}">${esc(a.muted.by === 'silence' ? w.mutedSilence : w.mutedMaintenance(a.muted.note))}</span>`
      : '';
  return `<table><tr><th>${esc(w.rule)}</th><th>${esc(w.severity)}</th><th>${esc(w.agency)}</th><th>${esc(w.host)}</th><th>${esc(w.since)}</th><th>${esc(w.message)}</th></tr>${rows
    .map(
      (a) =>
        `<tr data-rule="${esc(a.rule)}"${a.muted ? ' class="muted-alert"' : ''}><td>${esc(a.title[lang])}${mute(a)}</td><td><span class="sev-${esc(a.severity)}">${esc(severityName(a.severity, lang))}</span></td><td>${esc(agencyLabel(a.agency, d))}</td><td>${esc(a.host)}</td><td class="t">${esc(when(a.since, w, d.timeZone, lang))}</td><td>${esc(a.summary[lang])}</td></tr>`,
    )
    .join('')}</table>`;
}

/** A one-off window from–until in the page's zone and date format; a weekly one by days and hours in its own zone. */
function windowWhen(m: StatusMaintenance, d: StatusData, lang: Lang): string {
  const w = TEXT[lang];
  if (m.once) return `${when(m.once.from, w, d.timeZone, lang)} – ${when(m.once.until, w, d.timeZone, lang)}`;
  const days = m.days ? m.days.map((x) => w.days[x] ?? x).join(', ') : w.everyDay;
  return `${days} ${m.start}–${m.end} (${m.timezone})`;
}

function renderMaintenance(d: StatusData, lang: Lang): string {
  const w = TEXT[lang];
  const list = d.alerting?.maintenance;
  if (!list) return '';
  const body = list.length
    ? `<table><tr><th>${esc(w.name)}</th><th>${esc(w.when)}</th><th>${esc(w.covers)}</th><th>${esc(w.state)}</th><th>${esc(w.plannedIn)}</th></tr>${list
        .map((m) => {
          const covers = [m.agencies ? m.agencies.map((a) => agencyLabel(a, d)).join(', ') : w.allAgencies, m.matchers].filter(Boolean).join('; ');
          const source = m.source === 'cli' ? w.fromCli(m.createdBy ?? '', m.comment ?? '') : w.fromConfig;
          return `<tr data-window="${esc(m.name)}" data-source="${esc(m.source)}"><td>${esc(m.name)}</td><td class="t">${esc(windowWhen(m, d, lang))}</td><td>${esc(covers)}</td><td class="${m.open ? 'offline' : ''}">${esc(m.open ? w.windowOpen : w.windowClosed)}</td><td>${esc(source)}</td></tr>`;
        })
        .join('')}</table>`
    : `<p>${esc(w.noMaintenance)}</p>`;
  return `<section id="maintenance"><h2>${esc(w.maintenance)}</h2>${body}</section>\n`;
}

/** The latest alert mails: subject, recipient, state; each opens as plain text below. */
function renderMails(d: StatusData, lang: Lang): string {
  const w = TEXT[lang];
  const list = d.alerting?.mails;
  if (!list) return '';
  const body = list.length
    ? `<table><tr><th>${esc(w.time)}</th><th>${esc(w.recipient)}</th><th>${esc(w.subject)}</th><th>${esc(w.state)}</th></tr>${list
        .map(
          (m) =>
            `<tr data-mail="${m.id}"><td class="t">${esc(when(m.createdAt, w, d.timeZone, lang))}</td><td>${esc(m.to)}</td><td><details><summary>${esc(m.subject)}</summary><pre class="mail">${esc(m.text)}</pre></details></td><td class="${m.state === 'failed' ? 'offline' : ''}">${esc(w.mailStates[m.state])}</td></tr>`,
        )
        .join('')}</table>`
    : `<p>${esc(w.noMails)}</p>`;
  return `<section id="mails"><h2>${esc(w.mails)}</h2>${body}</section>\n`;
}

function renderServices(d: StatusData, lang: Lang): string {
  const w = TEXT[lang];
  const rows = d.services ?? [];
  const body = rows.length
    ? `<table><tr><th>${esc(w.kind)}</th><th>${esc(w.target)}</th><th>${esc(w.state)}</th><th>${esc(w.detail)}</th><th>${esc(w.checkedFrom)}</th><th>${esc(w.time)}</th></tr>${rows
        .map((r) => {
          const detail =
            r.kind === 'certificate'
              ? w.expiresIn(Math.floor((r.expirySeconds ?? 0) / 86_400))
              : [fieldValue('result', r.detail, lang), r.responseMs === null ? '' : `${Math.round(r.responseMs)} ms`].filter(Boolean).join(', ');
          return `<tr data-service="${esc(r.target)}"><td>${esc(w.kinds[r.kind])}</td><td>${esc(r.target)}</td><td class="${r.up ? 'online' : 'offline'}">${esc(r.up ? w.up : r.kind === 'certificate' ? w.expiring : w.down)}</td><td>${esc(detail)}</td><td>${esc(`${r.host} (${agencyLabel(r.agency, d)})`)}</td><td class="t">${esc(when(r.time, w, d.timeZone, lang))}</td></tr>`;
        })
        .join('')}</table>`
    : `<p>${esc(w.noServices)}</p>`;
  return `<section id="services"><h2>${esc(w.services)}</h2>${body}</section>\n`;
}

/** InfluxDB's disk and the retention state (collector/src/influx/retention.ts), when known. */
function storageLine(d: StatusData, w: Words, lang: Lang): string {
  const i = d.influx;
  if (!i.disk && !i.storage) return '';
  const one = (n: number) => new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(n);
  const disk = i.disk ? `${esc(w.influxDisk)}: ${one(i.disk.usedPercent)} % ${esc(w.diskUsed)}, ${one(i.disk.free / 1e9)} GB ${esc(w.diskFree)}` : '';
  const storage = typeof i.storage === 'string' ? i.storage : i.storage?.[lang];
  return `<p id="storage">${disk}${disk && storage ? ' — ' : ''}${storage ? `${esc(w.retention)}: ${esc(storage)}` : ''}</p>`;
}

// What an alert mail says, as data for the templates, in Vietnamese or English: the
// wording, times in the configured zone (Asia/Ho_Chi_Minh), values with their units,
// and a Grafana link scoped to the agency, host and time of the alert.
import type { Severity } from '@canh/protocol';
import { durationText, eventMessage, eventTypeName, fieldName, fieldValue, SEVERITY_NAMES, term } from '@canh/core';
import type { Alert, AlertEvent } from '../../alerts/types.ts';
import { localize, type Language, type Rule } from '../../alerts/rules.ts';
import type { Context } from './render.ts';

const WORDS = {
  vi: {
    firing: 'Cảnh báo',
    resolved: 'Đã khắc phục',
    province: 'Toàn tỉnh',
    several: 'nhiều cơ quan',
    times: (n: string) => `${n} lần`,
    hosts: (n: string) => `${n} máy`,
    noData: 'không còn dữ liệu',
    quiet: 'không còn sự kiện mới',
    revoked: `${term('agent', 'vi')} đã bị thu hồi`,
    ruleRemoved: 'quy tắc đã bị gỡ khỏi cấu hình',
    ruleChanged: 'quy tắc đã được sửa: nó theo dõi dữ liệu khác nên cảnh báo cũ được đóng',
    collectorGone: `${term('collector', 'vi')} theo dõi nó đã rời cụm (không còn tín hiệu): không còn ai theo dõi`,
    late: (t: string) => `phát hiện muộn, xảy ra lúc ${t}`,
    more: (n: number) => `và ${n} sự kiện khác`,
    fresh: 'mới',
  },
  en: {
    firing: 'Alert',
    resolved: 'Resolved',
    province: 'Province-wide',
    several: 'several agencies',
    times: (n: string) => `${n} time${n === '1' ? '' : 's'}`,
    hosts: (n: string) => `${n} hosts`,
    noData: 'no more data',
    quiet: 'no new events',
    revoked: `${term('agent', 'en')} revoked`,
    ruleRemoved: 'rule removed from the config',
    ruleChanged: 'rule changed to watch other data, so the old alert was closed',
    collectorGone: `the ${term('collector', 'en')} watching it left the cluster (its heartbeat stopped): nobody watches it now`,
    late: (t: string) => `detected late, happened at ${t}`,
    more: (n: number) => `and ${n} more`,
    fresh: 'new',
  },
} as const;

export interface MailModelInput {
  lang: Language;
  firing: readonly Alert[];
  resolved: readonly Alert[];
  groupLabels: Record<string, string>;
  rules: ReadonlyMap<string, Rule>;
  agencyNames: Readonly<Record<string, string>>;
  grafanaUrl?: string;
  /** The collector's public address (alerting.status_url): mails link its status page. */
  statusUrl?: string;
  timeZone: string;
  now: number;
  recipientName?: string;
  /** Who acknowledged which of these alerts (alerts/ack.ts), by alert id. */
  acks?: ReadonlyMap<number, { by: string; at: number }>;
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();

export function formatTime(t: number, tz: string, lang: Language): string {
  let f = timeFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'shortOffset',
    });
    timeFormats.set(tz, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(new Date(t))) p[part.type] = part.value;
  return lang === 'vi'
    ? `${p.hour}:${p.minute}:${p.second} ngày ${p.day}/${p.month}/${p.year} (${p.timeZoneName})`
    : `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} (${p.timeZoneName})`;
}

export function formatNumber(v: number, lang: Language): string {
  return new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-US', { maximumFractionDigits: 2 }).format(v);
}

export function formatDuration(seconds: number, lang: Language): string {
  return durationText(seconds, lang);
}

export function formatValue(v: number | null, rule: Rule | undefined, lang: Language): string {
  if (v === null) return '';
  const unit = rule?.type === 'absence' ? 'seconds' : (rule?.unit ?? 'none');
  if (rule?.type === 'event') return rule.distinct_hosts ? WORDS[lang].hosts(formatNumber(v, lang)) : WORDS[lang].times(formatNumber(v, lang));
  switch (unit) {
    case 'percent':
      return `${formatNumber(v, lang)} %`;
    case 'seconds':
      return formatDuration(v, lang);
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let i = 0;
      let x = v;
      while (Math.abs(x) >= 1024 && i < units.length - 1) {
        x /= 1024;
        i++;
      }
      return `${formatNumber(x, lang)} ${units[i]}`;
    }
    case 'code':
      return String(v);
    default:
      return formatNumber(v, lang);
  }
}

function fill(text: string, vars: Record<string, string>): string {
  return text.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, k: string) => vars[k] ?? '');
}

function agencyName(id: string | undefined, names: Readonly<Record<string, string>>, lang: Language): string {
  if (!id) return WORDS[lang].province;
  return names[id] ?? id;
}

/**
 * A rule's `dashboard` is the key of a shipped dashboard ("security": the uid
 * canh-security-<lang>, in the recipient's language) or a path of the operator's own
 * ("/d/my-board"), appended to alerting.grafana_url as it is.
 */
export function dashboardPath(dashboard: string | undefined, lang: Language): string {
  if (!dashboard) return '';
  return dashboard.startsWith('/') ? dashboard : `/d/canh-${dashboard}-${lang}`;
}

function link(a: Alert, rule: Rule | undefined, base: string | undefined, lang: Language): string {
  if (!base) return '';
  const u = new URL(`${base.replace(/\/+$/, '')}${dashboardPath(rule?.dashboard, lang)}`);
  if (a.labels.agency) u.searchParams.set('var-agency', a.labels.agency);
  if (a.labels.host) u.searchParams.set('var-host', a.labels.host);
  u.searchParams.set('from', String(a.activeAt - 3_600_000));
  u.searchParams.set('to', a.resolvedAt ? String(a.resolvedAt + 3_600_000) : 'now');
  return u.toString();
}

/** One colour per severity in mails (medium and high used to share red): red, orange,
 *  amber, blue, grey — each readable as white text on it and told apart by people with the
 *  common red-green colour blindness through lightness as well as hue. */
export const SEVERITY_COLORS: Record<Severity, string> = { critical: '#b71c1c', high: '#d84315', medium: '#b26a00', low: '#1565c0', info: '#546e7a' };
const RESOLVED_COLOR = '#2e7d32';
const SEVERITY_ORDER: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** Events listed per alert in a mail; the rest are "and N more". */
export const MAX_MAIL_EVENTS = 10;

/** Evidence a mail leaves out: said by the message already. */
const HIDDEN_EVIDENCE = new Set(['update']);

function evidenceRows(evidence: Readonly<Record<string, string>>, lang: Language): { name: string; value: string }[] {
  return Object.entries(evidence)
    .filter(([k]) => !HIDDEN_EVIDENCE.has(k))
    .map(([k, v]) => ({ name: fieldName(k, lang), value: fieldValue(k, v, lang) }));
}

/** An event alert's distinct events, news first, each with its evidence. */
function eventsContext(a: Alert, i: MailModelInput): { events: Context[]; events_more: string } {
  const ev = a.events;
  if (!ev?.list.length) return { events: [], events_more: '' };
  const w = WORDS[i.lang];
  const news = ev.list.filter((e) => e.news);
  const old = ev.list.filter((e) => !e.news).reverse();
  const shown = [...news.slice(-MAX_MAIL_EVENTS), ...old].slice(0, MAX_MAIL_EVENTS).sort((x, y) => x.at - y.at);
  const more = ev.total - shown.length;
  return {
    events: shown.map((e) => ({
      time: formatTime(e.at, i.timeZone, i.lang),
      message: eventMessage({ type: e.type ?? a.details.type ?? '', message: e.message, evidence: e.evidence, count: e.count, mitre: e.mitre }, i.lang),
      type_text: eventTypeName(e.type ?? a.details.type ?? '', i.lang),
      severity_text: SEVERITY_NAMES[e.severity][i.lang],
      new: e.news ? w.fresh : '',
      late: e.late ? w.late(formatTime(e.at, i.timeZone, i.lang)) : '',
      evidence: evidenceRows(e.evidence, i.lang),
    })),
    events_more: more > 0 ? w.more(more) : '',
  };
}

const HIDDEN_LABELS = new Set(['rule', 'agency', 'host', 'site']);

/** The last event of an event alert, for its one-line message. */
function lastEvent(a: Alert): AlertEvent | undefined {
  const list = a.events?.list;
  return list?.length ? list.reduce((m, e) => (e.at >= m.at ? e : m)) : undefined;
}

/** What the alert says in one line, in the reader's language (the engine's own summary is
 *  for logs): the rule's summary, else a sentence made from the glossary. */
export function alertSummary(a: Alert, rule: Rule | undefined, lang: Language): string {
  const value = formatValue(a.value, rule, lang);
  const threshold = rule?.type === 'threshold' ? `${rule.op} ${formatValue(rule.value, rule, lang)}` : '';
  const last = lastEvent(a);
  const message = a.details.type
    ? eventMessage(
        { type: a.details.type, message: a.details.message ?? a.summary, evidence: last?.evidence, count: last?.count, mitre: a.details.mitre },
        lang,
      )
    : (a.details.message ?? a.summary);
  const vars: Record<string, string> = { ...a.labels, value, threshold, message };
  const own = rule?.summary && fill(localize(rule.summary, lang)!, vars);
  if (own) return own;
  if (rule?.type === 'threshold') return `${fieldName(rule.field, lang)} = ${value} (${lang === 'vi' ? 'ngưỡng' : 'threshold'} ${threshold})`;
  if (rule?.type === 'absence') {
    if (rule.measurement === 'agent')
      return lang === 'vi' ? `Tác tử trên máy ${a.labels.host ?? '?'} mất kết nối` : `The agent on ${a.labels.host ?? '?'} is offline`;
    return lang === 'vi'
      ? `Không còn dữ liệu ${rule.measurement} từ ${a.labels.host ?? '?'} trong ${value}`
      : `No ${rule.measurement} data from ${a.labels.host ?? '?'} for ${value}`;
  }
  return message;
}

/** What a resolved alert says: what recovered, not what was wrong. */
export function recoveredSummary(a: Alert, rule: Rule | undefined, lang: Language): string {
  const vars: Record<string, string> = { ...a.labels, value: formatValue(a.value, rule, lang) };
  // Not recovered: nobody judges it any more (its collector left the cluster).
  if (a.details.resolved_by === 'collector_gone') {
    const title = localize(rule?.title, lang) ?? a.rule;
    return lang === 'vi' ? `${title}: không còn được theo dõi` : `${title}: no longer watched`;
  }
  const own = rule?.recovered && fill(localize(rule.recovered, lang)!, vars);
  if (own) return own;
  const title = localize(rule?.title, lang) ?? a.rule;
  if (rule?.type === 'event') {
    const quiet = rule.resolve_after ? durationText(rule.resolve_after / 1000, lang) : '';
    return lang === 'vi' ? `${title}: không có sự kiện mới${quiet ? ` trong ${quiet}` : ''}` : `${title}: no new event${quiet ? ` for ${quiet}` : ''}`;
  }
  return lang === 'vi' ? `${title}: đã trở lại bình thường` : `${title}: back to normal`;
}

/** "Trần Thị Bình, 08:05:00 ngày 07/12/2026 (GMT+7)": who said they have it, and when. */
function ackText(a: Alert, i: MailModelInput): string {
  const k = i.acks?.get(a.id);
  return k ? `${k.by}, ${formatTime(k.at, i.timeZone, i.lang)}` : '';
}

function alertContext(a: Alert, i: MailModelInput, resolved: boolean): Context {
  const rule = i.rules.get(a.rule);
  const w = WORDS[i.lang];
  const value = formatValue(a.value, rule, i.lang);
  const threshold = rule?.type === 'threshold' ? `${rule.op} ${formatValue(rule.value, rule, i.lang)}` : '';
  const details = Object.entries(a.details)
    .filter(([k]) => k !== 'message' && k !== 'type' && k !== 'resolved_by')
    .map(([k, v]) => {
      const key = k.replace(/^evidence\./, '');
      return { name: fieldName(key, i.lang), value: fieldValue(key, v, i.lang) };
    });
  const labels = Object.entries(a.labels)
    .filter(([k]) => !HIDDEN_LABELS.has(k))
    .map(([k, v]) => ({ name: fieldName(k, i.lang), value: v }));
  const why =
    (
      {
        no_data: w.noData,
        quiet: w.quiet,
        agent_revoked: w.revoked,
        rule_removed: w.ruleRemoved,
        rule_changed: w.ruleChanged,
        collector_gone: w.collectorGone,
      } as Record<string, string>
    )[a.details.resolved_by ?? ''] ?? '';
  return {
    rule: a.rule,
    title: localize(rule?.title, i.lang) ?? a.rule,
    severity: a.severity,
    severity_text: SEVERITY_NAMES[a.severity as Severity]?.[i.lang] ?? a.severity,
    severity_color: SEVERITY_COLORS[a.severity as Severity] ?? SEVERITY_COLORS.high,
    agency: agencyName(a.labels.agency, i.agencyNames, i.lang),
    agency_id: a.labels.agency ?? '',
    host: a.labels.host ?? '',
    site: a.labels.site ?? '',
    since: formatTime(a.activeAt, i.timeZone, i.lang),
    fired_at: a.firedAt ? formatTime(a.firedAt, i.timeZone, i.lang) : '',
    resolved_at: a.resolvedAt ? formatTime(a.resolvedAt, i.timeZone, i.lang) : '',
    lasted: a.resolvedAt ? formatDuration((a.resolvedAt - a.activeAt) / 1000, i.lang) : formatDuration((i.now - a.activeAt) / 1000, i.lang),
    resolved_why: why,
    value,
    threshold,
    summary: resolved ? recoveredSummary(a, rule, i.lang) : alertSummary(a, rule, i.lang),
    action: resolved ? '' : (localize(rule?.action, i.lang) ?? ''),
    acknowledged: ackText(a, i),
    labels,
    details: resolved ? [] : details,
    link: link(a, rule, i.grafanaUrl, i.lang),
    ...(resolved ? { events: [], events_more: '' } : eventsContext(a, i)),
  };
}

/** The hosts of a mail for its subject: "web-01", "web-01 +2". */
function subjectHosts(all: readonly Alert[]): string {
  const hosts = [...new Set(all.map((a) => a.labels.host).filter((h): h is string => Boolean(h)))].sort();
  if (!hosts.length) return '';
  return hosts.length === 1 ? hosts[0]! : `${hosts[0]} +${hosts.length - 1}`;
}

/** The status page, in the reader's language. */
function statusLink(base: string | undefined, lang: Language): string {
  if (!base) return '';
  const u = new URL(`${base.replace(/\/+$/, '')}/status`);
  u.searchParams.set('lang', lang);
  return u.toString();
}

export function mailModel(i: MailModelInput): Context {
  const w = WORDS[i.lang];
  const all = [...i.firing, ...i.resolved];
  const firstRule = i.rules.get(all[0]?.rule ?? '');
  const ruleNames = new Set(all.map((a) => a.rule));
  let title = localize(firstRule?.title, i.lang) ?? all[0]?.rule ?? '';
  if (ruleNames.size > 1) title += ` (+${ruleNames.size - 1})`;
  const agencies = new Set(all.map((a) => a.labels.agency ?? ''));
  const agencyId = 'agency' in i.groupLabels ? i.groupLabels.agency : agencies.size === 1 ? [...agencies][0] : undefined;
  const agency = agencies.size > 1 && agencyId === undefined ? w.several : agencyName(agencyId || undefined, i.agencyNames, i.lang);
  const firing = i.firing.length > 0;
  // The heading takes the colour of the worst firing alert; green when all resolved.
  const worst = i.firing.reduce<Severity | undefined>(
    (m, a) => (m === undefined || SEVERITY_ORDER.indexOf(a.severity as Severity) < SEVERITY_ORDER.indexOf(m) ? (a.severity as Severity) : m),
    undefined,
  );
  return {
    heading_color: worst ? SEVERITY_COLORS[worst] : RESOLVED_COLOR,
    status: firing ? 'firing' : 'resolved',
    status_code: firing ? `FIRING:${i.firing.length}` : 'RESOLVED',
    heading: firing ? w.firing : w.resolved,
    title,
    hosts: subjectHosts(all),
    agency,
    agency_id: agencyId ?? '',
    firing_count: i.firing.length,
    resolved_count: i.resolved.length,
    firing: i.firing.map((a) => alertContext(a, i, false)),
    resolved: i.resolved.map((a) => alertContext(a, i, true)),
    grafana_url: i.grafanaUrl ?? '',
    status_url: statusLink(i.statusUrl, i.lang),
    now: formatTime(i.now, i.timeZone, i.lang),
    recipient_name: i.recipientName ?? '',
  };
}

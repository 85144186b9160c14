// Turns the answers of the report's InfluxQL statements (queries.ts) into the figures of
// one agency's monthly report. Pure: no I/O, no clock except `now` passed in, so every
// rule written in docs/report.md can be tested here against known rows.
import { dayIndex, type MonthRange } from './month.ts';
import type { QueryId, Row } from './queries.ts';

export interface Incident {
  start: number;
  /** Start of the first sample after the run (last down sample + interval). */
  end: number;
  samples: number;
  minutes: number;
}

export interface CheckTarget {
  kind: 'ping' | 'http';
  host: string;
  target: string;
  samples: number;
  down: number;
  /** up / all × 100; null with no samples. */
  availability: number | null;
  /** Typical spacing of the check's samples (median gap), seconds. */
  intervalS: number;
  minutesDown: number;
  daily: { samples: number; down: number }[];
  /** Longest continuous down periods, longest first (at most 3). */
  incidents: Incident[];
}

export interface Uplink {
  source: 'snmp' | 'net';
  device: string;
  iface: string;
  meanIn: number;
  meanOut: number;
  peakIn: number;
  peakInAt: number | null;
  peakOut: number;
  peakOutAt: number | null;
  daily: { peakIn: number | null; peakOut: number | null; meanIn: number | null; meanOut: number | null }[];
}

export interface AgentOnline {
  host: string;
  /** Watched: from the month start (or the agent's first point) to the month end (or now), ms. */
  monitoredMs: number;
  /** Of that, disconnected: from each online=0 to the next online=1, ms. */
  offlineMs: number;
  onlinePct: number | null;
  disconnects: number;
  /** The disconnection intervals, longest first (at most 3). */
  outages: { start: number; end: number }[];
}

export interface AlertEpisode {
  rule: string;
  host: string;
  severity: string;
  firedAt: number;
  resolvedAt: number | null;
  minutes: number | null;
  /** Someone acknowledged it (status page, API, CLI): it was handled, not resolved by itself. */
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
}

export interface CertExpiry {
  via: 'x509_cert' | 'http_response';
  host: string;
  source: string;
  name: string;
  expiresAt: number;
  daysLeft: number;
}

export interface AgencyReport {
  agency: string;
  checks: CheckTarget[];
  overall: { samples: number; down: number; availability: number | null; minutesDown: number };
  uplinks: Uplink[];
  agents: AgentOnline[];
  events: {
    byType: { type: string; severity: string; records: number; occurrences: number }[];
    bySeverity: Record<string, number>;
    total: number;
    daily: Record<string, number>[];
    topSources: { ip: string; occurrences: number; records: number }[];
    critical: { time: number; host: string; type: string; message: string; srcIp: string; count: number; evidence: Record<string, string> }[];
    /** Attacks on web portals (web_access detector): per site, requests and sources. */
    web: { total: number; sites: { site: string; occurrences: number; sources: number; exploits: number }[] };
  };
  alerts: {
    episodes: AlertEpisode[];
    fired: number;
    resolved: number;
    /** Resolved after someone acknowledged it (đã xử lý). */
    handled: number;
    /** Resolved with nobody's acknowledgement (tự phục hồi). */
    selfResolved: number;
    mttrMinutes: number | null;
    stillFiring: { rule: string; host: string; since: number; acknowledged: boolean }[];
  };
  certs: CertExpiry[];
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export const CERT_WARN_DAYS = 30;

const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const nn = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** What is not bookkeeping in a security_event row: its evidence, as the agent sent it. */
const NOT_EVIDENCE = new Set(['time', 'host', 'type', 'message', 'count', 'severity', 'detector', 'agency', 'site', 'mitre', 'event_uid', 'late']);
function evidenceOf(r: Row): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) if (!NOT_EVIDENCE.has(k) && v !== null && v !== undefined && v !== '') out[k] = String(v);
  return out;
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.floor((a.length - 1) / 2)]!;
}

function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    let list = m.get(k);
    if (!list) m.set(k, (list = []));
    list.push(r);
  }
  return m;
}

function checks(kind: 'ping' | 'http', range: MonthRange, samples: Row[], downRows: Row[], series: Row[], isDown: (r: Row) => boolean): CheckTarget[] {
  const tag = kind === 'ping' ? 'url' : 'server';
  const key = (r: Row): string => `${s(r.host)}\u0000${s(r[tag])}`;
  const bySeries = groupBy(series, key);
  const down = groupBy(downRows, key);
  const out: CheckTarget[] = [];
  for (const [k, rows] of groupBy(samples, key)) {
    const [host = '', target = ''] = k.split('\u0000');
    const daily = range.days.map(() => ({ samples: 0, down: 0 }));
    for (const r of rows) {
      const d = dayIndex(range, r.time);
      if (d >= 0) daily[d]!.samples += n(r.samples);
    }
    for (const r of down.get(k) ?? []) {
      const d = dayIndex(range, r.time);
      if (d >= 0) daily[d]!.down += n(r.down);
    }
    const total = daily.reduce((a, d) => a + d.samples, 0);
    const downTotal = daily.reduce((a, d) => a + d.down, 0);
    if (!total) continue;
    const pts = (bySeries.get(k) ?? []).sort((a, b) => a.time - b.time);
    const gaps: number[] = [];
    for (let i = 1; i < pts.length; i++) if (pts[i]!.time > pts[i - 1]!.time) gaps.push(pts[i]!.time - pts[i - 1]!.time);
    const intervalMs = median(gaps);
    const incidents: Incident[] = [];
    let run: Incident | undefined;
    for (const p of pts) {
      if (isDown(p)) {
        if (!run) incidents.push((run = { start: p.time, end: p.time, samples: 0, minutes: 0 }));
        run.samples++;
        run.end = p.time + intervalMs;
      } else run = undefined;
    }
    for (const i of incidents) i.minutes = (i.samples * intervalMs) / 60_000;
    incidents.sort((a, b) => b.minutes - a.minutes || a.start - b.start);
    out.push({
      kind,
      host,
      target,
      samples: total,
      down: downTotal,
      availability: ((total - downTotal) / total) * 100,
      intervalS: intervalMs / 1000,
      minutesDown: (downTotal * intervalMs) / 60_000,
      daily,
      incidents: incidents.slice(0, 3),
    });
  }
  return out.sort((a, b) => (a.availability ?? 100) - (b.availability ?? 100) || a.target.localeCompare(b.target));
}

function uplinks(source: 'snmp' | 'net', range: MonthRange, q: Record<QueryId, Row[]>): Uplink[] {
  const [devTag, ifTag] = source === 'snmp' ? ['agent_host', 'ifName'] : ['host', 'interface'];
  // net reports bytes/s; the report speaks bits/s like the SNMP figures and link speeds.
  const k = source === 'snmp' ? 1 : 8;
  const key = (r: Row): string => `${s(r[devTag])}\u0000${s(r[ifTag])}`;
  const peakIn = new Map((q[`${source}_peak_in`] ?? []).map((r) => [key(r), r.time]));
  const peakOut = new Map((q[`${source}_peak_out`] ?? []).map((r) => [key(r), r.time]));
  const daily = groupBy(q[`${source}_daily`] ?? [], key);
  return (q[`${source}_month`] ?? []).map((r) => {
    const days: Uplink['daily'] = range.days.map(() => ({ peakIn: null, peakOut: null, meanIn: null, meanOut: null }));
    for (const d of daily.get(key(r)) ?? []) {
      const i = dayIndex(range, d.time);
      if (i < 0) continue;
      const scale = (v: unknown): number | null => (nn(v) === null ? null : n(v) * k);
      days[i] = { peakIn: scale(d.peak_in), peakOut: scale(d.peak_out), meanIn: scale(d.mean_in), meanOut: scale(d.mean_out) };
    }
    return {
      source,
      device: s(r[devTag]),
      iface: s(r[ifTag]),
      meanIn: n(r.mean_in) * k,
      meanOut: n(r.mean_out) * k,
      peakIn: n(r.peak_in) * k,
      peakInAt: peakIn.get(key(r)) ?? null,
      peakOut: n(r.peak_out) * k,
      peakOutAt: peakOut.get(key(r)) ?? null,
      daily: days,
    };
  });
}

/**
 * Online time from disconnection intervals: the collector writes online=0 when an agent's
 * connection ends and online=1 when it connects. Counting 5-minute buckets with data would
 * call an agent that was away and then sent its spool 100 % online.
 */
function agents(range: MonthRange, q: Record<QueryId, Row[]>, now: number): AgentOnline[] {
  const first = new Map(q.agent_first.map((r) => [s(r.host), r.time]));
  const before = new Map(q.agent_state_before.map((r) => [s(r.host), n(r.online)]));
  const changes = groupBy(q.agent_states, (r) => s(r.host));
  const until = Math.min(range.end, now);
  const hosts = new Set([...first.keys()].filter((h) => first.get(h)! < until));
  const out: AgentOnline[] = [];
  for (const host of hosts) {
    const from = Math.max(range.start, first.get(host) ?? range.start);
    if (until <= from) continue;
    const rows = (changes.get(host) ?? []).filter((r) => r.online !== null && r.online !== undefined).sort((a, b) => a.time - b.time);
    // Disconnected at the start when its last word before the month was online=0.
    let downSince: number | null = before.get(host) === 0 ? from : null;
    const outages: { start: number; end: number }[] = [];
    let disconnects = 0;
    for (const r of rows) {
      if (r.time >= until) break;
      if (n(r.online) === 0) {
        disconnects++;
        downSince ??= Math.max(from, r.time);
      } else if (downSince !== null) {
        if (r.time > downSince) outages.push({ start: downSince, end: r.time });
        downSince = null;
      }
    }
    if (downSince !== null && until > downSince) outages.push({ start: downSince, end: until });
    const monitoredMs = until - from;
    const offlineMs = outages.reduce((a, o) => a + (o.end - o.start), 0);
    outages.sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start);
    out.push({ host, monitoredMs, offlineMs, onlinePct: ((monitoredMs - offlineMs) / monitoredMs) * 100, disconnects, outages: outages.slice(0, 3) });
  }
  return out.sort((a, b) => (a.onlinePct ?? 100) - (b.onlinePct ?? 100) || a.host.localeCompare(b.host));
}

function events(range: MonthRange, q: Record<QueryId, Row[]>): AgencyReport['events'] {
  const byType = q.events_by_type
    .map((r) => ({ type: s(r.type), severity: s(r.severity), records: n(r.records), occurrences: n(r.occurrences) }))
    .sort((a, b) => SEVERITIES.indexOf(a.severity as never) - SEVERITIES.indexOf(b.severity as never) || b.occurrences - a.occurrences);
  const bySeverity: Record<string, number> = {};
  for (const r of byType) bySeverity[r.severity] = (bySeverity[r.severity] ?? 0) + r.occurrences;
  const daily: Record<string, number>[] = range.days.map(() => ({}));
  for (const r of q.events_daily) {
    const d = dayIndex(range, r.time);
    if (d >= 0) daily[d]![s(r.severity)] = (daily[d]![s(r.severity)] ?? 0) + n(r.occurrences);
  }
  const sources = new Map<string, { ip: string; occurrences: number; records: number }>();
  for (const r of q.events_sources) {
    const ip = s(r.src_ip);
    if (!ip) continue;
    const e = sources.get(ip) ?? { ip, occurrences: 0, records: 0 };
    // An aggregated event (brute force: 30 failures) weighs its count, not 1.
    e.occurrences += Math.max(1, n(r.count));
    e.records++;
    sources.set(ip, e);
  }
  const web = new Map<string, { site: string; occurrences: number; ips: Set<string>; exploits: number }>();
  for (const r of q.events_web) {
    const site = s(r.site) || s(r.host);
    const e = web.get(site) ?? { site, occurrences: 0, ips: new Set<string>(), exploits: 0 };
    e.occurrences += Math.max(1, n(r.count));
    if (s(r.src_ip)) e.ips.add(s(r.src_ip));
    if (s(r.type) === 'web_exploit_attempt' || s(r.type) === 'web_shell_access') e.exploits++;
    web.set(site, e);
  }
  const critical = q.events_critical
    .map((r) => ({ time: r.time, host: s(r.host), type: s(r.type), message: s(r.message), srcIp: s(r.src_ip), count: n(r.count), evidence: evidenceOf(r) }))
    .sort((a, b) => b.time - a.time);
  return {
    byType,
    bySeverity,
    total: byType.reduce((a, r) => a + r.occurrences, 0),
    daily,
    topSources: [...sources.values()].sort((a, b) => b.occurrences - a.occurrences || a.ip.localeCompare(b.ip)).slice(0, 10),
    critical,
    web: {
      total: [...web.values()].reduce((a, w) => a + w.occurrences, 0),
      sites: [...web.values()]
        .map((w) => ({ site: w.site, occurrences: w.occurrences, sources: w.ips.size, exploits: w.exploits }))
        .sort((a, b) => b.occurrences - a.occurrences || a.site.localeCompare(b.site))
        .slice(0, 10),
    },
  };
}

/** An alert instance: its tags (rule, agency, host and the rule's labels) without severity, which can rise during an episode. */
function alertInstance(r: Row): string {
  const skip = new Set(['time', 'state', 'value', 'summary', 'severity', 'acknowledged_by', '_measurement']);
  return Object.keys(r)
    .filter((k) => !skip.has(k))
    .sort()
    .map((k) => `${k}=${s(r[k])}`)
    .join('\u0000');
}

function alerts(q: Record<QueryId, Row[]>): AgencyReport['alerts'] {
  const episodes: AlertEpisode[] = [];
  for (const rows of groupBy(q.alert_changes, alertInstance).values()) {
    rows.sort((a, b) => a.time - b.time);
    let open: AlertEpisode | undefined;
    for (const r of rows) {
      if (r.state === 'firing' && !open) {
        open = {
          rule: s(r.rule),
          host: s(r.host),
          severity: s(r.severity),
          firedAt: r.time,
          resolvedAt: null,
          minutes: null,
          acknowledgedBy: null,
          acknowledgedAt: null,
        };
        episodes.push(open);
      } else if (r.state === 'acknowledged' && open && open.acknowledgedAt === null) {
        open.acknowledgedBy = s(r.acknowledged_by);
        open.acknowledgedAt = r.time;
      } else if (r.state === 'resolved' && open) {
        open.resolvedAt = r.time;
        open.minutes = (r.time - open.firedAt) / 60_000;
        open = undefined;
      }
    }
  }
  episodes.sort((a, b) => a.firedAt - b.firedAt);
  const done = episodes.filter((e) => e.minutes !== null);
  // An acknowledgement is the series' last word while the alert still fires.
  const stillFiring = q.alert_last_state
    .filter((r) => r.state === 'firing' || r.state === 'acknowledged')
    .map((r) => {
      const ep = episodes.findLast((e) => e.rule === s(r.rule) && e.host === s(r.host) && e.resolvedAt === null);
      return { rule: s(r.rule), host: s(r.host), since: ep?.firedAt ?? r.time, acknowledged: r.state === 'acknowledged' || !!ep?.acknowledgedBy };
    })
    .sort((a, b) => a.since - b.since);
  return {
    episodes,
    fired: episodes.length,
    resolved: done.length,
    handled: done.filter((e) => e.acknowledgedBy !== null).length,
    selfResolved: done.filter((e) => e.acknowledgedBy === null).length,
    mttrMinutes: done.length ? done.reduce((a, e) => a + e.minutes!, 0) / done.length : null,
    stillFiring,
  };
}

function certs(range: MonthRange, q: Record<QueryId, Row[]>): CertExpiry[] {
  const out: CertExpiry[] = [];
  const add = (via: CertExpiry['via'], r: Row, source: string, name: string, expiresAt: number): void => {
    const daysLeft = (expiresAt - range.end) / 86_400_000;
    if (daysLeft < CERT_WARN_DAYS) out.push({ via, host: s(r.host), source, name, expiresAt, daysLeft });
  };
  for (const r of q.cert_x509) if (nn(r.expiry) !== null) add('x509_cert', r, s(r.source), s(r.common_name), r.time + n(r.expiry) * 1000);
  for (const r of q.cert_http) if (nn(r.days) !== null) add('http_response', r, s(r.server), '', r.time + n(r.days) * 86_400_000);
  return out.sort((a, b) => a.expiresAt - b.expiresAt);
}

export function computeReport(agency: string, range: MonthRange, q: Record<QueryId, Row[]>, now: number): AgencyReport {
  const pingDown = (r: Row): boolean => n(r.result_code) !== 0 || n(r.percent_packet_loss) >= 100;
  const httpDown = (r: Row): boolean => n(r.result_code) !== 0;
  const all = [
    ...checks('ping', range, q.ping_samples, q.ping_down, q.ping_series, pingDown),
    ...checks('http', range, q.http_samples, q.http_down, q.http_series, httpDown),
  ];
  const samples = all.reduce((a, c) => a + c.samples, 0);
  const down = all.reduce((a, c) => a + c.down, 0);
  const links = [...uplinks('snmp', range, q), ...uplinks('net', range, q)].sort((a, b) => Math.max(b.peakIn, b.peakOut) - Math.max(a.peakIn, a.peakOut));
  return {
    agency,
    checks: all,
    overall: { samples, down, availability: samples ? ((samples - down) / samples) * 100 : null, minutesDown: all.reduce((a, c) => a + c.minutesDown, 0) },
    uplinks: links.slice(0, 10),
    agents: agents(range, q, now),
    events: events(range, q),
    alerts: alerts(q),
    certs: certs(range, q),
  };
}

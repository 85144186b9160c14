// Every surface a Vietnamese reader sees is Vietnamese: each default rule's firing and
// resolved mail (subject, text, HTML), the status page, and the Vietnamese dashboards'
// titles and legends are rendered by the real code and searched for
//   - a raw field or evidence key (`user_count`, `window_s`, `result_code`...),
//   - an English word of a sentence (an allow-list keeps proper nouns and units),
//   - a template placeholder left unfilled.
// The agents' own messages are English, as they send them; a Vietnamese mail must say
// them again in Vietnamese.
import { describe, expect, it } from 'vitest';
import { EVENT_TYPE_NAMES, FIELD_NAMES } from '@canh/core';
import { allDocumented, documentedEvidence } from './helpers/detector-docs.ts';
import { computeReport } from '../collector/src/report/compute.ts';
import { buildDocument, DEFAULT_HEADER, type Block } from '../collector/src/report/document.ts';
import { Fmt } from '../collector/src/report/i18n.ts';
import { monthRange } from '../collector/src/report/month.ts';
import { QUERY_IDS, type QueryId, type Row } from '../collector/src/report/queries.ts';
import { ruleTitles } from '../collector/src/report/report.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { main as collectorCli } from '../collector/src/cli.ts';
import { alertCommand } from '../collector/src/commands/alert.ts';
import { maintenanceCommand } from '../collector/src/commands/maintenance.ts';
import { formatEstimate, type StorageEstimate } from '../collector/src/influx/capacity.ts';
import { batch, disk, hanoi, harness, hue, MIN } from '../collector/src/alerts/test-kit.ts';
import type { Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboards, type InfluxQuery } from '../dashboards/src/index.ts';
import { defaultRules, type Rule } from '../collector/src/alerts/rules.ts';
import type { Alert, AlertEvent } from '../collector/src/alerts/types.ts';
import { MailRenderer } from '../collector/src/notify/templates/index.ts';
import { renderStatus, type StatusData } from '../collector/src/status/render.ts';
import { alertSummary } from '../collector/src/notify/templates/model.ts';

/** English words that never belong in a Vietnamese sentence. */
const ENGLISH = new Set(
  `the is are was were be of for from and with within after before not no new failed failure failures login logins attack attacks agent agents collector
  offline online hosts users more seconds value threshold since resolved firing alert alerts memory swap points events event jitter peak unknown true false
  update count changed added deleted modified removed device devices interface port ports rule rules severity medium high critical low info error state
  in out on at by this that has have been detected late happened successful compromised may account accounts file files process program listening
  attacking several source polled answer answers does cannot reached connect connected down up loss packet average over minutes hours days full
  inbound outbound saturated although administratively expires certificate time total sent queued last seen never version spool dropped`
    .split(/\s+/)
    .filter(Boolean),
);

/** Proper nouns, product names, units and values that are the same in every language;
 *  "swap" and "zombie" are the Linux terms; [FIRING:n] and [RESOLVED] are the subject's
 *  stable codes for mail filters, the same in both languages. */
const ALLOWED = new Set(
  `canh grafana influxdb smtp mitre att ck ssh http https tls snmp pam suid sgid lan mac ip url uid cron systemd sudo sudoers nginx apache iis
  systemctl du chmod ld so preload password publickey root admin backup ms kib mib gib b gmt s xss sql cve web shell rootkit php id acl dns
  tcp udp windows linux swap zombie firing resolved`
    .split(/\s+/)
    .filter(Boolean),
);

/** Keys that must never show raw: every glossary key with an underscore or an inner capital. */
const RAW_KEYS = Object.keys(FIELD_NAMES).filter((k) => /_|[a-z][A-Z]/.test(k));

function words(text: string): string[] {
  // URLs, paths, Grafana variables, dotted field names and program names are not words.
  const noUrls = text
    .replace(/https?:\/\/\S+/g, ' ')
    .replace(/\/[\w./-]+/g, ' ')
    .replace(/\$\w+/g, ' ')
    .replace(/\b\w+(\.\w+)+\b/g, ' ')
    .replace(/\bcanh-[\w-]+/g, ' ');
  return noUrls.split(/[^\p{L}]+/u).filter(Boolean);
}

/** What in one rendered text is not Vietnamese: English words, raw keys, placeholders. */
function problems(where: string, text: string, own: readonly string[] = []): string[] {
  const out: string[] = [];
  const allowed = new Set([...ALLOWED, ...own.flatMap((o) => words(o.toLowerCase()))]);
  for (const w of words(text)) {
    const l = w.toLowerCase();
    if (ENGLISH.has(l) && !allowed.has(l)) out.push(`${where}: English word "${w}" in: ${context(text, w)}`);
  }
  for (const k of RAW_KEYS) if (new RegExp(`(^|[^\\w])${k}([^\\w]|$)`).test(text)) out.push(`${where}: raw key "${k}" in: ${context(text, k)}`);
  if (/\{\{|\}\}/.test(text)) out.push(`${where}: a placeholder left in: ${context(text, '{{')}`);
  return out;
}

function context(text: string, w: string): string {
  const i = text.indexOf(w);
  return JSON.stringify(text.slice(Math.max(0, i - 60), i + w.length + 60));
}

// ---------------------------------------------------------------------------------------
// Representative data: what agents send (English messages) and label values

const T = Date.parse('2026-12-07T08:00:00+07:00');
const LABEL_VALUES: Record<string, string> = {
  host: 'mc-portal-01',
  url: '10.0.0.1',
  server: 'https://congthongtin.tinh.gov.vn/',
  port: '443',
  source: 'https://congthongtin.tinh.gov.vn:443',
  path: '/var',
  agent_host: '10.0.0.2',
  device: 'core-sw',
  ifName: 'ge-0/0/1',
  src_ip: '203.0.113.77',
  type: 'cron_job_added',
};

/** Evidence as the detectors send it, per event type; the rest get a path. */
const EVIDENCE: Record<string, Record<string, string>> = {
  brute_force: {
    src_ip: '203.0.113.77',
    service: 'ssh',
    users: 'root\nadmin',
    user_count: '2',
    total_failures: '8',
    window_s: '600',
    update: 'false',
    port: '40007',
  },
  brute_force_success: { src_ip: '203.0.113.77', user: 'root', method: 'password', failures: '8', port: '40010' },
  off_hours_privileged_login: { src_ip: '203.0.113.77', user: 'root', method: 'publickey', local_time: '02:13' },
  new_listening_port: { proto: 'tcp', address: '0.0.0.0', port: '4444', process: 'nc', exe: '/usr/bin/nc', exposed: 'true' },
  new_lan_device: { ip: '192.168.1.77', mac: 'aa:bb:cc:00:11:22', interface: 'eth0' },
  arp_spoofing: { ip: '192.168.1.1', mac: 'aa:bb:cc:00:11:22', expected_mac: '02:00:00:00:0a:01', interface: 'eth0', gateway: 'true' },
  suspicious_process: { pid: '4242', exe: '/tmp/x', cmdline: '/tmp/x -d', user: 'www-data', reason: 'temp_dir', via: 'exe' },
  kernel_module_loaded: { module: 'diamorphine', size: '16384' },
  web_scan: { src_ip: '203.0.113.9', distinct_paths: '120', samples: 'GET /a\nGET /b', statuses: '404' },
  web_exploit_attempt: { src_ip: '203.0.113.9', cve: 'CVE-2021-44228', samples: 'GET /?x=${jndi:ldap://x}', statuses: '200' },
};

function eventFor(type: string, i: number): AlertEvent {
  const evidence = EVIDENCE[type] ?? { path: '/etc/cron.d/backdoor', change: 'added' };
  return {
    key: `${type}-${i}`,
    at: T + i * 1000,
    seenAt: T + i * 1000,
    severity: 'high',
    message: `${type.replace(/_/g, ' ')} detected on the host: something was changed by an attacker`,
    evidence,
    late: false,
    news: true,
    type,
    count: 8,
  };
}

function alertFor(rule: Rule, state: 'firing' | 'resolved'): Alert {
  const groupBy = rule.type === 'absence' ? ['host'] : (rule.group_by ?? []);
  const labels: Record<string, string> = { rule: rule.name, agency: 'so-tttt' };
  for (const k of groupBy) labels[k] = LABEL_VALUES[k] ?? `${k}-1`;
  labels.host ??= 'mc-portal-01';
  const events = rule.type === 'event' ? { list: rule.event_types.map((t, i) => eventFor(t, i)), total: rule.event_types.length } : undefined;
  const first = events?.list[0];
  return {
    id: 1,
    fingerprint: rule.name,
    rule: rule.name,
    labels,
    severity: rule.severity ?? 'high',
    state,
    value: rule.type === 'threshold' ? rule.value + 1 : rule.type === 'absence' ? 180 : 1,
    summary:
      rule.type === 'absence'
        ? `agent ${labels.host} offline`
        : rule.type === 'threshold'
          ? `${rule.measurement}.${rule.field} = 1 (${rule.op} ${rule.value})`
          : first!.message,
    activeAt: T,
    firedAt: T,
    resolvedAt: state === 'resolved' ? T + 600_000 : null,
    lastSampleAt: T,
    clearSince: null,
    details:
      rule.type === 'event'
        ? {
            message: first!.message,
            type: first!.type!,
            mitre: 'T1110.001',
            ...(rule.correlate_by ? { hosts: 'mc-portal-01 (so-tttt), web-02 (so-yte)', agencies: 'so-tttt, so-yte' } : {}),
          }
        : {},
    ...(state === 'resolved' ? {} : events ? { events } : {}),
  };
}

const rules = defaultRules();
const ruleMap = new Map(rules.map((r) => [r.name, r]));
const renderer = new MailRenderer({
  rules: ruleMap,
  agencyNames: { 'so-tttt': 'Sở Thông tin và Truyền thông' },
  grafanaUrl: 'https://grafana.tinh.gov.vn',
  statusUrl: 'https://canh.tinh.gov.vn',
  timeZone: 'Asia/Ho_Chi_Minh',
});
const stripHtml = (h: string) =>
  h
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c)))
    .replace(/&\w+;/g, ' ');
/** Values the test itself put in (host names, paths, user names, commands) are not sentences. */
/** An estimate as `storage estimate` computes it for 1,000 agents on a measured InfluxDB. */
const ESTIMATE: StorageEstimate = {
  agents: 1000,
  connectedAgents: 998,
  intakePerSecond: 2994.5,
  pointsPerAgentPerSecond: 3,
  pointsPerSecond: 3000,
  bytesPerPoint: 10,
  bytesPerPointMeasured: true,
  rawGBPerDay: 2.592,
  rollupGBPerDay: 0.05,
  steadyStateGB: 97.8,
  yearWithoutRollupsGB: 946.1,
  usedByPolicy: [
    { policy: 'autogen', bytes: 12e9, pointsWritten: 1.2e9 },
    { policy: 'rollup_5m', bytes: 0.4e9, pointsWritten: 4e7 },
  ],
  disk: { path: '/var/lib/influxdb', total: 500e9, free: 380e9, used: 120e9, usedPercent: 24 },
  daysToFull: 146.7,
};

const OWN = [...Object.values(LABEL_VALUES), ...Object.values(EVIDENCE).flatMap((e) => Object.values(e)), 'www-data', 'diamorphine', 'nc', 'eth0', 'ge'];

describe('glossary: every Vietnamese surface is Vietnamese', () => {
  it('each default rule has a "what to do" line in both languages', () => {
    const missing = rules.filter((r) => typeof r.action !== 'object' || !r.action.vi || !r.action.en).map((r) => r.name);
    expect(missing).toEqual([]);
  });

  it("each default rule's firing and resolved mail in Vietnamese", () => {
    const found: string[] = [];
    for (const rule of rules) {
      for (const state of ['firing', 'resolved'] as const) {
        const a = alertFor(rule, state);
        const mail = renderer.render({
          recipient: { email: 'soc@tinh.gov.vn', language: 'vi' },
          firing: state === 'firing' ? [a] : [],
          resolved: state === 'resolved' ? [a] : [],
          groupKey: rule.name,
          groupLabels: { agency: 'so-tttt' },
          now: T + 700_000,
        });
        const where = `${rule.name} ${state}`;
        found.push(
          ...problems(`${where} subject`, mail.subject, OWN),
          ...problems(`${where} text`, mail.text, OWN),
          ...problems(`${where} html`, stripHtml(mail.html), OWN),
        );
        expect(mail.subject, where).toContain('mc-portal-01');
        if (state === 'firing') expect(mail.text, where).toContain('Việc cần làm: ');
        expect(mail.text, where).toContain('https://canh.tinh.gov.vn/status?lang=vi');
      }
    }
    expect(found).toEqual([]);
  });

  it('the brute-force mail says the attack in Vietnamese with the service, and no raw key', () => {
    const a = alertFor(ruleMap.get('brute_force')!, 'firing');
    const mail = renderer.render({
      recipient: { email: 'soc@tinh.gov.vn', language: 'vi' },
      firing: [a],
      resolved: [],
      groupKey: 'bf',
      groupLabels: { agency: 'so-tttt' },
      now: T + 60_000,
    });
    expect(mail.text).toContain('Tấn công dò mật khẩu (ssh): 8 lần đăng nhập sai từ 203.0.113.77 trong 10 phút vào tài khoản root, admin');
    expect(mail.text).toContain('Dịch vụ: ssh');
    expect(mail.text).toContain('Trong khoảng: 10 phút');
    expect(mail.text).not.toMatch(/user_count|window_s|update/);
    // English readers get the agent's sentence as it was sent.
    const en = renderer.render({
      recipient: { email: 'soc@tinh.gov.vn', language: 'en' },
      firing: [a],
      resolved: [],
      groupKey: 'bf',
      groupLabels: { agency: 'so-tttt' },
      now: T + 60_000,
    });
    expect(en.text).toContain('brute force detected on the host');
    expect(en.text).toContain('What to do: Block the source address');
  });

  it('a resolved mail says what recovered instead of repeating the problem', () => {
    const a = alertFor(ruleMap.get('agent_offline')!, 'resolved');
    const mail = renderer.render({
      recipient: { email: 'soc@tinh.gov.vn', language: 'vi' },
      firing: [],
      resolved: [a],
      groupKey: 'ao',
      groupLabels: { agency: 'so-tttt' },
      now: T + 700_000,
    });
    expect(mail.text).toContain('Tác tử trên máy mc-portal-01 đã kết nối lại với máy thu thập');
    expect(mail.text).not.toContain('không còn kết nối');
  });

  it('the status page in Vietnamese', () => {
    const firing = rules.filter((r) => ['agent_offline', 'disk_full', 'brute_force', 'portal_down'].includes(r.name)).map((r) => alertFor(r, 'firing'));
    firing.push({
      ...alertFor(
        {
          ...ruleMap.get('disk_full')!,
          name: 'cpu_busy',
          summary: undefined,
          title: undefined,
          type: 'threshold',
          measurement: 'cpu',
          field: 'usage_idle',
          op: '<',
          value: 99.5,
        } as Rule,
        'firing',
      ),
    });
    const withCpu = new Map(ruleMap).set('cpu_busy', {
      ...ruleMap.get('disk_full')!,
      name: 'cpu_busy',
      summary: undefined,
      title: { vi: 'CPU bận', en: 'CPU busy' },
      measurement: 'cpu',
      field: 'usage_idle',
      op: '<',
      value: 99.5,
    } as Rule);
    const data: StatusData = {
      agents: [
        { name: 'mc-portal-01', agency: 'so-tttt', site: 'dc', state: 'online', lastSeen: T, version: '0.1.0', spool: 0, dropped: 0 },
        { name: 'web-01', agency: 'so-yte', site: 'bv', state: 'offline', lastSeen: T - 3_600_000, version: '0.1.0', spool: 3, dropped: 0 },
        { name: 'old-pc', agency: 'so-tttt', site: 'dc', state: 'revoked', lastSeen: null, version: null, spool: null, dropped: null },
      ],
      silences: [{ matchers: 'host=web-01', author: 'Nguyễn Văn An', comment: 'Bảo trì', until: T + 7_200_000 }],
      events: [
        {
          time: T,
          host: 'mc-portal-01',
          agency: 'so-tttt',
          type: 'brute_force',
          severity: 'high',
          message: 'Brute-force attack (ssh): 8 failed logins from 203.0.113.77 within 10m for root, admin',
          evidence: EVIDENCE.brute_force,
          count: 8,
        },
      ],
      influx: { up: true, queued: 0, spooled: 0, lastError: null },
      smtp: { up: true, queued: 0, failed: 0, sent: 14 },
      timeZone: 'Asia/Ho_Chi_Minh',
      alerting: {
        alerts: firing.map((a, i) => ({
          rule: a.rule,
          title: { vi: withCpu.get(a.rule)?.title ? (withCpu.get(a.rule)!.title as { vi: string }).vi : a.rule, en: a.rule },
          summary: { vi: alertSummary(a, withCpu.get(a.rule), 'vi'), en: alertSummary(a, withCpu.get(a.rule), 'en') },
          severity: a.severity,
          agency: 'so-tttt',
          host: a.labels.host ?? '',
          since: T,
          ...(i === 0 ? { muted: { by: 'maintenance' as const, note: 'Bảo trì Chủ nhật' } } : {}),
        })),
        maintenance: [
          {
            name: 'Bảo trì Chủ nhật',
            days: ['sun'],
            start: '22:00',
            end: '02:00',
            timezone: 'Asia/Ho_Chi_Minh',
            agencies: ['so-tttt'],
            matchers: '',
            open: false,
            source: 'config',
          },
          {
            name: 'Thay UPS',
            days: undefined,
            start: '',
            end: '',
            timezone: 'Asia/Ho_Chi_Minh',
            agencies: ['so-tttt'],
            matchers: 'host=mc-portal-01',
            open: true,
            source: 'cli',
            once: { from: T, until: T + 4 * 3_600_000 },
            createdBy: 'Trần Thị Bình',
            comment: 'phiếu 1234',
          },
        ],
        agencyNames: { 'so-tttt': 'Sở Thông tin và Truyền thông', 'so-yte': 'Sở Y tế' },
        mails: [
          {
            id: 1,
            createdAt: T,
            to: 'soc@tinh.gov.vn',
            state: 'sent',
            ...(({ subject, text }) => ({ subject, text }))(
              renderer.render({
                recipient: { email: 'soc@tinh.gov.vn', language: 'vi' },
                firing: [firing.find((a) => a.rule === 'brute_force')!],
                resolved: [],
                groupKey: 'x',
                groupLabels: { agency: 'so-tttt' },
                now: T,
              }),
            ),
          },
        ],
      },
      services: [
        {
          kind: 'portal',
          target: 'https://congthongtin.tinh.gov.vn/',
          host: 'mc-portal-01',
          agency: 'so-tttt',
          up: false,
          detail: 'connection_failed',
          responseMs: null,
          expirySeconds: null,
          time: T,
        },
        {
          kind: 'certificate',
          target: 'https://congthongtin.tinh.gov.vn:443',
          host: 'mc-portal-01',
          agency: 'so-tttt',
          up: true,
          detail: '',
          responseMs: null,
          expirySeconds: 40 * 86_400,
          time: T,
        },
      ],
      refresh: 30,
      now: T,
    };
    const html = renderStatus('vi', data, 'admin');
    const text = stripHtml(html);
    expect(problems('status page', text, [...OWN, 'Asia/Ho_Chi_Minh', 'host=web-01', 'UPS'])).toEqual([]);
    expect(text).toContain('không kết nối được');
    expect(text).not.toContain('connection_failed');
    expect(text).toContain('CPU rảnh = 100,5 % (ngưỡng < 99,5 %)');
    expect(text).toContain('Sở Thông tin và Truyền thông (so-tttt)');
    expect(text).toContain('07/12/2026 08:00:00');
    expect(text).toContain('Giờ theo: Asia/Ho_Chi_Minh (GMT+7)');
    expect(html).toContain('<meta http-equiv="refresh" content="30">');
    expect(renderStatus('vi', { ...data, refresh: 0 }, 'admin')).not.toContain('http-equiv="refresh"');
    expect(text).toContain('bảo trì: Bảo trì Chủ nhật');
    // A window of `maintenance add` beside the config file's: from–until in the page's format.
    expect(text).toMatch(/Thay UPS\s+07\/12\/2026 08:00:00 – 07\/12\/2026 12:00:00\s/);
    expect(text).toContain('dòng lệnh, do Trần Thị Bình lập: phiếu 1234');
    expect(text).toContain('còn 40 ngày');
    // The mail viewer lists the mail and holds its text.
    expect(text).toContain('Thư cảnh báo gần đây');
    expect(html).toMatch(/<tr data-mail="1">(?:(?!<\/tr>)[\s\S])*Tấn công dò mật khẩu(?:(?!<\/tr>)[\s\S])*đã gửi<\/td><\/tr>/);
  });

  it('the Vietnamese dashboards: titles, descriptions and legends', () => {
    const found: string[] = [];
    for (const g of buildDashboards().filter((d) => d.lang === 'vi')) {
      const d = g.dashboard;
      found.push(...problems(`${d.uid} title`, d.title ?? ''));
      const panels = (d.panels ?? []).flatMap((p) => (p.type === 'row' ? [p as Panel, ...((p as RowPanel).panels ?? [])] : [p as Panel]));
      for (const p of panels) {
        found.push(
          ...problems(`${d.uid} "${p.title}"`, `${p.title ?? ''}\n${p.description ?? ''}`, [
            'CPU',
            'RAM',
            'top',
            'ping',
            'DNS',
            'TTFB',
            'uptime',
            'IO',
            'bps',
            'pps',
            'load',
          ]),
        );
        // Words Grafana shows in place of values and column names: value mappings,
        // display names, renamed columns.
        const shown: string[] = [];
        const walk = (v: unknown, key = ''): void => {
          if (typeof v === 'string') {
            if (key === 'text' || key === 'displayName' || key === 'renamed') shown.push(v);
          } else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
          else if (v && typeof v === 'object')
            for (const [k, x] of Object.entries(v))
              walk(x, k === 'renameByName' ? 'renamed' : key === 'renamed' ? 'renamed' : k === 'value' && key === 'properties' ? 'displayName' : k);
        };
        walk({ fieldConfig: p.fieldConfig, transformations: p.transformations });
        found.push(...problems(`${d.uid} "${p.title}" values`, shown.join('\n'), ['CPU', 'TLS', 'DNS', 'TTFB', 'IO', 'SNMP']));
        for (const t of (p.targets ?? []) as InfluxQuery[]) {
          if (!t.alias) continue;
          // $col is the column's AS name: the legend shows it, so it must be Vietnamese too.
          const cols = t.alias.includes('$col') ? [...t.query.matchAll(/\bAS "([^"]+)"/g)].map((m) => m[1]).join(' ') : '';
          found.push(...problems(`${d.uid} "${p.title}" legend`, `${t.alias.replace(/\$\w+/g, ' ')} ${cols}`));
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('every event type of every detector has a Vietnamese and an English name', () => {
    const types = [...new Set(allDocumented().map((d) => d.type))];
    // The walk finds the tables (an empty parse cannot pass), low and info types included.
    expect(types.length).toBeGreaterThan(60);
    for (const t of ['brute_force', 'listening_port_program_changed', 'group_created', 'account_disabled', 'listening_port_closed']) expect(types).toContain(t);
    const missing = types.filter((t) => !EVENT_TYPE_NAMES[t]?.vi || !EVENT_TYPE_NAMES[t]?.en || EVENT_TYPE_NAMES[t].vi === t);
    expect(missing, 'event types without a name in both languages').toEqual([]);
    const names = Object.entries(EVENT_TYPE_NAMES).flatMap(([t, n]) =>
      problems(`name of ${t}`, n.vi, ['sudo', 'su', 'ld', 'so', 'preload', 'cron', 'systemd', 'PAM']),
    );
    expect(names).toEqual([]);
  });

  it('every evidence key a detector documents has a Vietnamese and an English name', () => {
    const keys = [...new Set(documentedEvidence().map((e) => e.key))];
    // The walk finds the evidence tables and columns (an empty parse cannot pass).
    expect(keys.length).toBeGreaterThan(60);
    for (const k of ['src_ip', 'user_count', 'old_sha256', 'login_url', 'exe', 'record_id']) expect(keys).toContain(k);
    expect(keys.filter((k) => !FIELD_NAMES[k]?.vi || !FIELD_NAMES[k]?.en)).toEqual([]);
  });

  it('the monthly report in Vietnamese: event types, severities and critical events by name', () => {
    const range = monthRange('2026-11', 'Asia/Ho_Chi_Minh');
    const q = Object.fromEntries(QUERY_IDS.map((id) => [id, []])) as unknown as Record<QueryId, Row[]>;
    const types = [...new Set(allDocumented().map((d) => d.type))];
    types.forEach((type, i) => q.events_by_type.push({ time: range.start, type, severity: 'high', records: 1, occurrences: i + 1 }));
    q.events_critical.push(
      {
        time: range.start + 3_600_000,
        host: 'mc-portal-01',
        type: 'brute_force_success',
        message: 'login for root from 203.0.113.77 after 8 failed attempts',
        src_ip: '203.0.113.77',
        user: 'root',
        method: 'password',
        failures: 8,
        count: 1,
      },
      {
        time: range.start + 7_200_000,
        host: 'mc-portal-01',
        type: 'listening_port_program_changed',
        message: 'port 22 is now served by /tmp/x',
        port: 22,
        exe: '/tmp/x',
        count: 1,
      },
    );
    const report = computeReport('so-tttt', range, q, range.end + 86_400_000);
    const blocks = buildDocument(
      {
        range,
        lang: 'vi',
        generatedAt: range.end + 3_600_000,
        database: 'canh',
        agencies: [{ report, queries: Object.fromEntries(QUERY_IDS.map((id) => [id, ''])) as Record<QueryId, string> }],
        header: DEFAULT_HEADER,
        names: { agencies: { 'so-tttt': 'Sở Thông tin và Truyền thông' }, hosts: {}, rules: ruleTitles(defaultRules(), 'vi') },
        appendix: false,
      },
      new Fmt('vi', 'Asia/Ho_Chi_Minh'),
    );
    const text = (b: Block): string => {
      if (b.kind === 'table') return [...b.head, ...b.rows.flat().map((c) => `${c.text} ${c.note ?? ''}`)].join('\n');
      if (b.kind === 'cards') return b.items.map((i) => `${i.value} ${i.label}`).join('\n');
      if (b.kind === 'header') return [...b.issuingBody, b.number, b.nationalName, b.motto, b.dateLine].join('\n');
      if (b.kind === 'title') return `${b.title}\n${b.subject}`;
      if (b.kind === 'signature') return [b.recipientsLabel, ...b.recipients, b.title, b.name].join('\n');
      return 'text' in b ? b.text : '';
    };
    const all = blocks
      .filter((b) => b.kind !== 'chart')
      .map(text)
      .join('\n');
    expect(all).toContain('Chương trình khác chiếm cổng dịch vụ');
    expect(all).toContain('Đăng nhập thành công vào root từ 203.0.113.77 (password) sau 8 lần sai từ địa chỉ đó');
    const allowed = [
      ...OWN,
      'MITRE',
      'ATT',
      'CK',
      'sudo',
      'su',
      'ld',
      'so',
      'preload',
      'PAM',
      'SQL',
      'XSS',
      'ARP',
      'LAN',
      'UID',
      'SUID',
      'SGID',
      'cron',
      'systemd',
      'web',
      'shell',
      'Ping',
      'GMT',
      'BC',
      '/tmp/x',
    ];
    expect(problems('report', all, allowed)).toEqual([]);
    for (const t of types) expect(all, t).not.toMatch(new RegExp(`(^|\\s)${t}(\\s|$)`));
  });

  it('the command line in Vietnamese: agent, silence and alert commands; --json unchanged', async () => {
    const h = harness({ timezone: 'Asia/Ho_Chi_Minh' });
    try {
      await h.advance(8 * MIN, (t) => {
        h.engine.onBatch(hanoi, batch([disk(t, '/data', 96)]));
        h.engine.onBatch(hue, batch([disk(t, '/data', 97)]));
      });
      const file = join(h.dir, 'collector.yaml');
      writeFileSync(
        file,
        stringify({
          state_dir: h.dir,
          alerting: {
            timezone: 'Asia/Ho_Chi_Minh',
            maintenance: [{ name: 'sao lưu tuần', agencies: ['so-yte'], days: ['sun', 'sat'], start: '01:00', end: '03:00' }],
          },
        }),
      );
      writeFileSync(join(h.dir, 'agent-config.yaml'), 'agent: { interval: 10s }\n');
      const capture = async (run: () => number | Promise<number>) => {
        const out: string[] = [];
        const write = process.stdout.write;
        process.stdout.write = ((x: string) => out.push(x) > 0) as typeof process.stdout.write;
        try {
          expect(await run()).toBe(0);
        } finally {
          process.stdout.write = write;
        }
        return out.join('');
      };
      const cli = (...args: string[]) => capture(() => collectorCli([...args, '--config', file]));
      const outputs: Record<string, string> = {
        'agent add': await cli('agent', 'add', '--name', 'mc-portal-01', '--agency', 'so-tttt', '--site', 'dc'),
      };
      await cli('agent', 'add', '--name', 'old-pc', '--agency', 'so-tttt', '--site', 'dc');
      outputs['agent revoke'] = await cli('agent', 'revoke', 'old-pc');
      outputs['agent list'] = await cli('agent', 'list');
      outputs['agent remove'] = await cli('agent', 'remove', 'old-pc');
      outputs['silence add'] = await cli('silence', 'add', 'host=ws-ketoan-02', '--duration', '2h', '--comment', 'thay ổ cứng', '--author', 'Nguyễn Văn An');
      outputs['silence list'] = await cli('silence', 'list');
      const id = /^\S+\t/m.exec(outputs['silence list'].split('\n')[1]!)![0].trim();
      outputs['silence expire'] = await cli('silence', 'expire', id);
      outputs['alert list'] = await capture(() => alertCommand(['list', '--config', file], { now: h.now }));
      const alertId = outputs['alert list'].split('\n')[1]!.split('\t')[0]!;
      outputs['alert ack'] = await capture(() => alertCommand(['ack', alertId, '--author', 'Trần Thị Bình', '--config', file], { now: h.now }));
      // Central configuration: its history, with a deleted scope.
      const push = ['--file', join(h.dir, 'agent-config.yaml'), '--agency', 'so-tttt', '--author', 'Nguyễn Văn An', '--comment', 'chu kỳ 10 giây'];
      outputs['config push'] = await cli('config', 'push', ...push);
      outputs['config show'] = await cli('config', 'show');
      outputs['config delete'] = await cli('config', 'delete', '--agency', 'so-tttt', '--author', 'Nguyễn Văn An', '--comment', 'thôi dùng');
      outputs['config history'] = await cli('config', 'history');
      // Maintenance windows: one-off and weekly from the CLI, beside the config file's.
      const maintenance = (...args: string[]) => capture(() => maintenanceCommand([...args, '--config', file], { now: h.now }));
      const who = ['--comment', 'phiếu 12', '--author', 'Trần Thị Bình'];
      outputs['maintenance add'] = await maintenance(
        'add',
        '--name',
        'thay UPS',
        '--agency',
        'so-tttt',
        '--from',
        '08/12/2026 22:00',
        '--until',
        '09/12/2026 02:00',
        ...who,
      );
      outputs['maintenance add weekly'] = await maintenance(
        'add',
        '--name',
        'vá lỗi',
        'host=mc-portal-01',
        '--days',
        'mon,fri',
        '--start',
        '22:00',
        '--end',
        '23:00',
        ...who,
      );
      outputs['maintenance list'] = await maintenance('list');
      const windowId = /^(\S+)\t\S+\tthay UPS\t/m.exec(outputs['maintenance list'])![1]!;
      outputs['maintenance remove'] = await maintenance('remove', windowId);
      // Capacity: the estimate `storage estimate` prints (the figures come from InfluxDB; test/storage.test.ts runs it there).
      outputs['storage estimate'] = formatEstimate(ESTIMATE, 'vi');
      outputs['storage estimate, no disk'] = formatEstimate(
        { ...ESTIMATE, intakePerSecond: null, disk: null, daysToFull: null, bytesPerPointMeasured: false },
        'vi',
      );

      // Identifiers the reader types back (names, rule ids, matchers, ids, zone) are not sentences.
      const own = [
        ...OWN,
        'mc-portal-01',
        'ws-ketoan-02',
        'old-pc',
        'so-tttt',
        'so-yte',
        'dc',
        'disk_full',
        'token',
        'token_file',
        'InfluxDB',
        'Asia/Ho_Chi_Minh',
        'GB',
        'rollup_5m',
        'autogen',
        'thay UPS',
        windowId,
        id,
      ];
      // Tokens and ids are random: a UUID's hex can spell a word ("…8b5be3" once failed CI with "be").
      const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
      const found = Object.entries(outputs).flatMap(([cmd, text]) => problems(cmd, text.replace(/canh_[\w-]{43}/, ' ').replace(UUID, ' '), own));
      expect(found).toEqual([]);
      expect(outputs['agent list']).toMatch(/\tđã thu hồi\t/);
      expect(outputs['agent list'].split('\n')[0]).toBe('TÊN\tCƠ QUAN\tĐỊA ĐIỂM\tTRẠNG THÁI\tPHIÊN BẢN\tLẦN CUỐI LIÊN LẠC');
      expect(outputs['silence list']).toMatch(/\tđang áp dụng\thost=ws-ketoan-02\t\d\d\/\d\d\/\d{4} \d\d:\d\d \(Asia\/Ho_Chi_Minh\)\t/);
      expect(outputs['alert list']).toMatch(/\tdisk_full\t(cao|trung bình|nghiêm trọng)\tso-(tttt|yte)\t/);
      expect(outputs['alert list']).toContain('Ổ đĩa sắp đầy');
      expect(outputs['alert ack']).toMatch(/đã được Trần Thị Bình nhận xử lý lúc \d\d\/\d\d\/\d{4} \d\d:\d\d \(Asia\/Ho_Chi_Minh\)/);
      expect(outputs['config history']).toMatch(/^PHIÊN BẢN\tPHẠM VI\t/);
      expect(outputs['config history']).toMatch(
        /\n2 \(đã xoá\)\tcơ quan\tso-tttt\t.*\n1\tcơ quan\tso-tttt\tNguyễn Văn An\t\d\d\/\d\d\/\d{4} \d\d:\d\d \(Asia\/Ho_Chi_Minh\)\tchu kỳ 10 giây\n/,
      );
      expect(outputs['maintenance list']).toContain(
        `${windowId}\tkhông\tthay UPS\t08/12/2026 22:00 (Asia/Ho_Chi_Minh) – 09/12/2026 02:00 (Asia/Ho_Chi_Minh)\tagency=so-tttt\t`,
      );
      expect(outputs['maintenance list']).toMatch(/\tvá lỗi\tT2, T6 22:00–23:00 \(Asia\/Ho_Chi_Minh\)\thost=mc-portal-01\t/);
      expect(outputs['maintenance list']).toContain('(tệp cấu hình)\t-\tsao lưu tuần\tCN, T7 01:00–03:00 (Asia/Ho_Chi_Minh)\tagency=so-yte\t');
      expect(outputs['storage estimate']).toContain('dữ liệu gốc: 2,59 GB/ngày');

      // Machine output stays as it is, whatever the language.
      const json = JSON.parse(await cli('agent', 'list', '--json')) as { name: string; revokedAt: unknown }[];
      expect(json.map((a) => a.name)).toEqual(['mc-portal-01']);
      const silences = JSON.parse(await cli('silence', 'list', '--all', '--json')) as { state: string; ends_at: string }[];
      expect(silences[0]).toMatchObject({ state: 'expired', ends_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) });
      // And English when asked.
      expect((await cli('agent', 'list', '--lang', 'en')).split('\n')[0]).toBe('NAME\tAGENCY\tSITE\tSTATE\tVERSION\tLAST SEEN');
      expect((await cli('config', 'history', '--lang', 'en')).split('\n')[1]).toMatch(
        /^2 \(deleted\)\tagency\tso-tttt\tNguyễn Văn An\t\d{4}-\d\d-\d\d \d\d:\d\d \(Asia\/Ho_Chi_Minh\)\t/,
      );
      expect(await maintenance('list', '--lang', 'en')).toMatch(/^ID\tOPEN\tNAME\tWHEN\tCOVERS\tAUTHOR\tCOMMENT\n.*\tno\tvá lỗi\tmon,fri 22:00–23:00/);
      expect(formatEstimate(ESTIMATE, 'en')).toContain('raw: 2.59 GB/day');
      const history = JSON.parse(await cli('config', 'history', '--json')) as { version: number; scope: string; createdAt: number }[];
      expect(history.map((v) => [v.version, v.scope, typeof v.createdAt])).toEqual([
        [2, 'agency', 'number'],
        [1, 'agency', 'number'],
      ]);
      const windows = JSON.parse(await maintenance('list', '--json')) as { cli: { name: string; when: string; open: boolean }[] };
      expect(windows.cli.map((w) => [w.name, w.when, w.open])).toEqual([['vá lỗi', 'mon,fri 22:00–23:00 (Asia/Ho_Chi_Minh)', false]]);
      const stderr = process.stderr.write;
      const said: string[] = [];
      process.stderr.write = ((x: string) => said.push(x) > 0) as typeof process.stderr.write;
      try {
        expect(await collectorCli(['agent', 'list', '--lang', 'fr', '--config', file])).toBe(2);
      } finally {
        process.stderr.write = stderr;
      }
      expect(said.join('')).toContain('CANH_ERR_CLI_USAGE');
    } finally {
      await h.stop();
    }
  });
});

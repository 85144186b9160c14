// The monthly report against a real InfluxDB holding a generated month for two agencies:
// every figure must equal what this test computes from the generated points on its own;
// both languages render with their diacritics; the CLI writes HTML and a PDF that
// Chromium printed and pdftoppm can turn into readable pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInfluxd, seriesRows, type Influxd } from './helpers/influxd.ts';
import { A, B, generate, L, MONTH_END, MONTH_START, toLine, type GenPoint } from './report-data.ts';
import { buildReport, type BuiltReport } from '../collector/src/report/report.ts';
import { main } from '../collector/src/cli.ts';

const artifacts = join(import.meta.dirname, '..', 'test-artifacts', 'report');
const points = generate();
const inMonth = (p: GenPoint): boolean => p.t >= MONTH_START && p.t < MONTH_END;
const of = (agency: string, m: string): GenPoint[] => points.filter((p) => p.tags.agency === agency && p.m === m && inMonth(p));
const num = (v: unknown): number => Number(v);

/** Samples, down samples, availability % and minutes down of one target, from the points. */
function expectedCheck(ps: GenPoint[], isDown: (p: GenPoint) => boolean, intervalMin: number) {
  const down = ps.filter(isDown).length;
  return { samples: ps.length, down, availability: ((ps.length - down) / ps.length) * 100, minutesDown: down * intervalMin };
}
const pingDown = (p: GenPoint): boolean => num(p.fields.result_code) !== 0 || num(p.fields.percent_packet_loss) === 100;
const httpDown = (p: GenPoint): boolean => num(p.fields.result_code) !== 0;

/** Two-decimal percent as the report prints it: truncated, with the language's separator. */
function pctText(v: number, lang: 'vi' | 'en'): string {
  const s = (Math.floor(v * 100) / 100).toFixed(2);
  return `${lang === 'vi' ? s.replace('.', ',') : s} %`;
}

let influx: Influxd;
let vi: BuiltReport;
let en: BuiltReport;
const NOW = L(45); // mid-December: the month is complete

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase('canh');
  const lines = points.map(toLine);
  for (let i = 0; i < lines.length; i += 10_000) await influx.write('canh', lines.slice(i, i + 10_000));
  const client = { query: (q: string, db?: string) => influx.query(q, db) };
  vi = await buildReport(client, { month: '2026-11', timeZone: 'Asia/Ho_Chi_Minh', database: 'canh', lang: 'vi', now: NOW });
  en = await buildReport(client, { month: '2026-11', timeZone: 'Asia/Ho_Chi_Minh', database: 'canh', lang: 'en', now: NOW, agency: A });
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(join(artifacts, 'report-vi.html'), vi.html);
  writeFileSync(join(artifacts, 'report-en.html'), en.html);
}, 120_000);

afterAll(async () => {
  await influx?.stop();
});

const agencyOf = (r: BuiltReport, name: string) => {
  const a = r.agencies.find((x) => x.report.agency === name);
  if (!a) throw new Error(`no section for ${name}`);
  return a.report;
};

describe('monthly report figures', () => {
  it('covers every agency with data, and only those', () => {
    expect(vi.agencies.map((a) => a.report.agency)).toEqual([A, B]);
    expect(en.agencies.map((a) => a.report.agency)).toEqual([A]);
  });

  it('availability and minutes down of ping and HTTP checks', () => {
    const r = agencyOf(vi, A);
    const cases = [
      { target: '10.1.0.1', want: expectedCheck(of(A, 'ping').filter((p) => p.tags.url === '10.1.0.1'), pingDown, 5), interval: 300 },
      { target: '8.8.8.8', want: expectedCheck(of(A, 'ping').filter((p) => p.tags.url === '8.8.8.8'), pingDown, 5), interval: 300 },
      { target: 'https://portal.tttt.gov.vn', want: expectedCheck(of(A, 'http_response'), httpDown, 2), interval: 120 },
    ];
    expect(cases[0]!.want).toMatchObject({ samples: 8640, down: 23, minutesDown: 115 }); // the generator did what it says
    for (const c of cases) {
      const got = r.checks.find((x) => x.target === c.target);
      expect(got, c.target).toBeDefined();
      expect(got!.samples).toBe(c.want.samples);
      expect(got!.down).toBe(c.want.down);
      expect(got!.availability).toBeCloseTo(c.want.availability, 9);
      expect(got!.minutesDown).toBeCloseTo(c.want.minutesDown, 9);
      expect(got!.intervalS).toBe(c.interval);
      expect(vi.html).toContain(pctText(c.want.availability, 'vi'));
      expect(en.html).toContain(pctText(c.want.availability, 'en'));
    }
    const all = [...of(A, 'ping'), ...of(A, 'http_response')];
    const down = all.filter((p) => (p.m === 'ping' ? pingDown(p) : httpDown(p))).length;
    expect(r.overall.availability).toBeCloseTo(((all.length - down) / all.length) * 100, 9);
    const b = agencyOf(vi, B).checks.find((x) => x.target === '10.2.0.1')!;
    expect(b).toMatchObject({ samples: 43200, down: 3, minutesDown: 3, intervalS: 60 });
    // The outage crossed local midnight: two samples on the 9th, one on the 10th.
    expect(b.daily[8]).toEqual({ samples: 1440, down: 2 });
    expect(b.daily[9]).toEqual({ samples: 1440, down: 1 });
  });

  it('worst incidents are the longest continuous down periods', () => {
    const ping = agencyOf(vi, A).checks.find((x) => x.target === '10.1.0.1')!;
    expect(ping.incidents.map((i) => [i.start, i.minutes])).toEqual([
      [L(3, 10), 90],
      [L(15, 2), 20],
      [L(22, 12), 5],
    ]);
    expect(ping.incidents[0]!.end).toBe(L(3, 11, 30));
    const http = agencyOf(vi, A).checks.find((x) => x.kind === 'http')!;
    expect(http.incidents[0]).toMatchObject({ start: L(20, 8), end: L(20, 9), minutes: 60 });
    expect(vi.html).toContain('<td>03/11/2026 10:00</td>');
    expect(en.html).toContain('<td>03/11/2026 11:30</td>');
  });

  it('bandwidth peaks and means per uplink', () => {
    const r = agencyOf(vi, A);
    const snmp = of(A, 'interface');
    const snmpUp = r.uplinks.find((u) => u.iface === 'ge-0/0/0')!;
    const maxIn = Math.max(...snmp.map((p) => num(p.fields.in_bps)));
    const maxOut = Math.max(...snmp.map((p) => num(p.fields.out_bps)));
    expect(snmpUp.peakIn).toBe(maxIn);
    expect(snmpUp.peakInAt).toBe(snmp.find((p) => p.fields.in_bps === maxIn)!.t);
    expect(snmpUp.peakInAt).toBe(L(18, 14, 35));
    expect(snmpUp.peakOut).toBe(maxOut);
    expect(snmpUp.peakOutAt).toBe(L(7, 9, 10));
    expect(snmpUp.meanIn).toBeCloseTo(snmp.reduce((a, p) => a + num(p.fields.in_bps), 0) / snmp.length, 3);
    const day18 = snmp.filter((p) => p.t >= L(18) && p.t < L(19));
    expect(snmpUp.daily[17]!.peakIn).toBe(Math.max(...day18.map((p) => num(p.fields.in_bps))));
    const eth0 = of(A, 'net').filter((p) => p.tags.interface === 'eth0');
    const netUp = r.uplinks.find((u) => u.iface === 'eth0')!;
    expect(netUp.peakIn).toBe(Math.max(...eth0.map((p) => num(p.fields.bytes_recv_rate))) * 8);
    expect(r.uplinks.find((u) => u.iface === 'lo')).toBeUndefined();
    expect(vi.html).toContain('950,0 Mbit/s');
    expect(en.html).toContain('950.0 Mbit/s');
  });

  it('agents online % from their own points per 5 minutes', () => {
    const r = agencyOf(vi, A);
    const presence = (host: string, from: number): number => {
      const buckets = new Set(of(A, 'agent').filter((p) => p.tags.host === host && p.fields.spool_batches !== undefined).map((p) => Math.floor(p.t / 300_000)));
      return (buckets.size / ((MONTH_END - from) / 300_000)) * 100;
    };
    const gw = r.agents.find((a) => a.host === 'gw-tttt')!;
    expect(gw.onlinePct).toBeCloseTo(presence('gw-tttt', MONTH_START), 9);
    expect(gw.onlinePct).toBeCloseTo((29 / 30) * 100, 9);
    expect(gw.disconnects).toBe(1);
    const web = r.agents.find((a) => a.host === 'web-tttt')!;
    expect(web.onlinePct).toBeCloseTo(presence('web-tttt', L(5)), 9);
    expect(agencyOf(vi, B).agents[0]!.onlinePct).toBe(100);
  });

  it('security events by type and severity, with top sources', () => {
    const r = agencyOf(vi, A);
    const ev = of(A, 'security_event');
    const total = ev.reduce((a, p) => a + num(p.fields.count), 0);
    expect(r.events.total).toBe(total);
    for (const sev of ['critical', 'high', 'medium', 'low']) {
      expect(r.events.bySeverity[sev] ?? 0, sev).toBe(ev.filter((p) => p.tags.severity === sev).reduce((a, p) => a + num(p.fields.count), 0));
    }
    const bySrc = new Map<string, number>();
    for (const p of ev) if (p.fields.src_ip) bySrc.set(String(p.fields.src_ip), (bySrc.get(String(p.fields.src_ip)) ?? 0) + num(p.fields.count));
    const top = [...bySrc].sort((a, b) => b[1] - a[1])[0]!;
    expect(top).toEqual(['203.0.113.7', 90]);
    expect(r.events.topSources[0]).toMatchObject({ ip: top[0], occurrences: top[1], records: 30 });
    expect(r.events.topSources.map((s) => s.ip)).not.toContain('192.0.2.99');
    expect(r.events.daily.reduce((a, d) => a + Object.values(d).reduce((x, y) => x + y, 0), 0)).toBe(total);
    expect(agencyOf(vi, B).events.total).toBe(10);
    expect(r.events.critical.map((e) => e.message)).toEqual(['Trang chủ bị thay đổi', 'Log4Shell']);
    // Web attacks: per site, from the web_access events only.
    const webEv = ev.filter((p) => p.tags.detector === 'web_access');
    expect(r.events.web.total).toBe(webEv.reduce((a, p) => a + num(p.fields.count), 0));
    expect(r.events.web.sites).toEqual([
      { site: 'congthongtin.example.gov.vn', occurrences: 10 * 11, sources: 2, exploits: 0 },
      { site: 'dichvucong.example.gov.vn', occurrences: 1, sources: 1, exploits: 1 },
    ]);
  });

  it('alerts fired, time to resolve, and what still fires', () => {
    const r = agencyOf(vi, A);
    const al = of(A, 'alert').sort((a, b) => a.t - b.t);
    const open = new Map<string, number>();
    const durations: number[] = [];
    for (const p of al) {
      const k = `${p.tags.rule}/${p.tags.host}`;
      if (p.fields.state === 'firing') open.set(k, p.t);
      else if (open.has(k)) {
        durations.push((p.t - open.get(k)!) / 60_000);
        open.delete(k);
      }
    }
    expect(r.alerts.fired).toBe(al.filter((p) => p.fields.state === 'firing').length);
    expect(r.alerts.resolved).toBe(durations.length);
    expect(r.alerts.mttrMinutes).toBeCloseTo(durations.reduce((a, b) => a + b, 0) / durations.length, 9);
    expect(r.alerts.mttrMinutes).toBeCloseTo(170 / 3, 9);
    expect(r.alerts.stillFiring).toEqual([{ rule: 'cert_expiry', host: 'web-tttt', since: L(28, 6) }]);
    expect(agencyOf(vi, B).alerts.fired).toBe(0);
  });

  it('certificates expiring within 30 days of the month end', () => {
    const r = agencyOf(vi, A);
    expect(r.certs).toHaveLength(1);
    expect(r.certs[0]).toMatchObject({ source: 'https://portal.tttt.gov.vn', name: 'portal.tttt.gov.vn' });
    expect(r.certs[0]!.daysLeft).toBeCloseTo(19.5, 3);
    expect(agencyOf(vi, B).certs).toEqual([]);
  });

  it('the appendix shows queries that give the same figures when run again', async () => {
    const q = agencyOf(vi, A) && vi.agencies[0]!.queries;
    expect(vi.html).toContain(q.ping_down.replace(/'/g, '&#39;').replace(/"/g, '&quot;').replace(/>/g, '&gt;').replace(/</g, '&lt;'));
    const down = seriesRows(await influx.query(q.ping_down, 'canh')).filter((r) => r.url === '10.1.0.1');
    expect(down.reduce((a, r) => a + num(r.down), 0)).toBe(23);
  });
});

describe('monthly report rendering', () => {
  it('renders Vietnamese and English with their words and diacritics', () => {
    for (const w of ['Báo cáo tháng', 'Khả dụng', 'Sự kiện an ninh', 'Cơ quan', 'Cảnh báo', 'Việc cần theo dõi', 'nghiêm trọng', 'Phụ lục: truy vấn InfluxQL']) expect(vi.html).toContain(w);
    for (const w of ['Monthly report', 'Availability', 'Security events', 'Agency', 'Needs attention', 'Mean time to resolve']) expect(en.html).toContain(w);
    expect(en.html).not.toContain('Khả dụng');
    expect(vi.html).toMatch(/^<!doctype html><html lang="vi">/);
    expect(vi.html).not.toMatch(/<script|<link|src="http/);
    expect((vi.html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(4);
  });

  it('canh-collector report writes HTML and an A4 PDF that renders to pages', { timeout: 120_000 }, async () => {
    const config = join(artifacts, 'collector.yaml');
    writeFileSync(config, `state_dir: ${join(artifacts, 'state')}\ninflux:\n  url: ${influx.url}\n  database: canh\n`);
    const html = join(artifacts, 'cli-en.html');
    expect(await main(['report', '--config', config, '--month', '2026-11', '--agency', B, '--lang', 'en', '--out', html])).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain('ubnd-tinh');
    const pdf = join(artifacts, 'report-vi.pdf');
    rmSync(pdf, { force: true });
    expect(await main(['report', '--config', config, '--month', '2026-11', '--agency', A, '--format', 'pdf', '--out', pdf])).toBe(0);
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    const prefix = join(artifacts, 'report-vi-page');
    for (const f of readdirSync(artifacts)) if (f.startsWith('report-vi-page')) rmSync(join(artifacts, f));
    execFileSync('pdftoppm', ['-png', '-r', '80', pdf, prefix]);
    const pages = readdirSync(artifacts).filter((f) => f.startsWith('report-vi-page') && f.endsWith('.png'));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    const first = join(artifacts, pages.sort()[0]!);
    // A4 (210 × 297 mm) at 80 dpi is about 661 × 935 px; a blank page compresses to a few hundred bytes.
    const png = readFileSync(first);
    expect(Math.abs(png.readUInt32BE(16) - 661)).toBeLessThanOrEqual(3);
    expect(Math.abs(png.readUInt32BE(20) - 935)).toBeLessThanOrEqual(3);
    expect(statSync(first).size).toBeGreaterThan(20_000);
    expect(existsSync(pdf)).toBe(true);
  });

  it('takes its language and time zone from the config file\'s report section; flags win; a bad zone is a config error', { timeout: 60_000 }, async () => {
    const config = join(artifacts, 'collector-report-section.yaml');
    writeFileSync(config, `state_dir: ${join(artifacts, 'state')}\ninflux:\n  url: ${influx.url}\n  database: canh\nreport:\n  language: en\n  time_zone: UTC\n`);
    const fromConfig = join(artifacts, 'cli-config-en-utc.html');
    expect(await main(['report', '--config', config, '--month', '2026-11', '--agency', A, '--out', fromConfig])).toBe(0);
    const a = readFileSync(fromConfig, 'utf8');
    expect(a).toContain('Time zone: UTC (');
    const flags = join(artifacts, 'cli-config-flags-vi.html');
    expect(await main(['report', '--config', config, '--month', '2026-11', '--agency', A, '--lang', 'vi', '--tz', 'Asia/Ho_Chi_Minh', '--out', flags])).toBe(0);
    const b = readFileSync(flags, 'utf8');
    expect(b).toContain('Múi giờ: Asia/Ho_Chi_Minh (');
    // The month's days start at local midnight: the same month in UTC and in Vietnam covers different hours.
    expect(a).not.toBe(b);

    const bad = join(artifacts, 'collector-bad-zone.yaml');
    writeFileSync(bad, `state_dir: ${join(artifacts, 'state')}\ninflux:\n  url: ${influx.url}\nreport:\n  time_zone: Asia/Hanoii\n`);
    await expect(main(['report', '--config', bad, '--month', '2026-11'])).rejects.toThrow(/report\.time_zone: unknown time zone/);
  });
});

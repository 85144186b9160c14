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
import mammoth from 'mammoth';

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

/** The report section of a collector config: an official document of a provincial department. */
const OFFICIAL = `report:
  agencies: { so-tttt: "Sở Thông tin và Truyền thông", ubnd-tinh: "Văn phòng UBND tỉnh" }
  hosts: { gw-ubnd: "Máy cổng UBND" }
  header:
    issuing_body: ["UBND TỈNH THỪA THIÊN HUẾ", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"]
    document_number: "Số: 15/BC-STTTT"
    place: Huế
    recipients: ["Như trên;", "UBND tỉnh (để b/c);", "Lưu: VT, CNTT."]
    signer_title: GIÁM ĐỐC
    signer_name: Nguyễn Văn Hùng
`;

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
      {
        target: '10.1.0.1',
        want: expectedCheck(
          of(A, 'ping').filter((p) => p.tags.url === '10.1.0.1'),
          pingDown,
          5,
        ),
        interval: 300,
      },
      {
        target: '8.8.8.8',
        want: expectedCheck(
          of(A, 'ping').filter((p) => p.tags.url === '8.8.8.8'),
          pingDown,
          5,
        ),
        interval: 300,
      },
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

  it('agents online % from their disconnection intervals (online=0 until the next online=1)', () => {
    const r = agencyOf(vi, A);
    const month = MONTH_END - MONTH_START;
    const gw = r.agents.find((a) => a.host === 'gw-tttt')!;
    expect(gw.offlineMs).toBe(L(11) - (L(10) + 30_000));
    expect(gw.onlinePct).toBeCloseTo(((month - (L(11) - L(10) - 30_000)) / month) * 100, 9);
    expect(gw.disconnects).toBe(1);
    const web = r.agents.find((a) => a.host === 'web-tttt')!;
    expect(web.monitoredMs).toBe(MONTH_END - L(5));
    expect(web.onlinePct).toBeCloseTo(((MONTH_END - L(5) - 2 * 3_600_000) / (MONTH_END - L(5))) * 100, 9);
    // Known outages: two disconnections of 30 and 90 minutes, with points in every 5
    // minutes (sent later from the agent's spool). Counting buckets with data said 100 %.
    const ubnd = agencyOf(vi, B).agents[0]!;
    expect(ubnd).toMatchObject({ host: 'gw-ubnd', disconnects: 2, offlineMs: 120 * 60_000 });
    expect(ubnd.onlinePct).toBeCloseTo((1 - 120 / (30 * 1440)) * 100, 9);
    expect(vi.html).toMatch(
      /<td>gw-ubnd<\/td><td class="n"><span data-figure="agents">99,72 %<\/span><\/td><td class="n">2<\/td><td class="n">2 giờ 0 phút<\/td>/,
    );
    expect(vi.html).not.toMatch(/<td>gw-ubnd<\/td><td class="n"><span data-figure="agents">100,00 %/);
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
      else if (p.fields.state === 'resolved' && open.has(k)) {
        durations.push((p.t - open.get(k)!) / 60_000);
        open.delete(k);
      }
    }
    expect(r.alerts.fired).toBe(al.filter((p) => p.fields.state === 'firing').length);
    expect(r.alerts.resolved).toBe(durations.length);
    expect(r.alerts.mttrMinutes).toBeCloseTo(durations.reduce((a, b) => a + b, 0) / durations.length, 9);
    expect(r.alerts.mttrMinutes).toBeCloseTo(170 / 3, 9);
    expect(r.alerts.stillFiring).toEqual([{ rule: 'certificate_expiring', host: 'web-tttt', since: L(28, 6), acknowledged: false }]);
    // Handled (acknowledged by someone) and resolved by itself are kept apart.
    expect(r.alerts.handled).toBe(1);
    expect(r.alerts.selfResolved).toBe(2);
    expect(r.alerts.episodes.find((e) => e.firedAt === L(3, 10, 5))).toMatchObject({ acknowledgedBy: 'Trần Thị Bình', acknowledgedAt: L(3, 10, 20) });
    expect(vi.html).toContain('<td>đã xử lý, người nhận: Trần Thị Bình</td>');
    expect((vi.html.match(/<td>Tự phục hồi<\/td>/g) ?? []).length).toBe(2);
    expect(agencyOf(vi, B).alerts.fired).toBe(0);
  });

  it('certificates expiring within 30 days of the month end', () => {
    const r = agencyOf(vi, A);
    expect(r.certs).toHaveLength(1);
    expect(r.certs[0]).toMatchObject({ source: 'https://portal.tttt.gov.vn', name: 'portal.tttt.gov.vn' });
    expect(r.certs[0]!.daysLeft).toBeCloseTo(19.5, 3);
    expect(agencyOf(vi, B).certs).toEqual([]);
  });

  it('the appendix (asked for; off by default) shows queries that give the same figures when run again', async () => {
    const q = agencyOf(vi, A) && vi.agencies[0]!.queries;
    expect(vi.html).not.toContain('Phụ lục');
    const withAppendix = await buildReport(
      { query: (s: string, db?: string) => influx.query(s, db) },
      { month: '2026-11', timeZone: 'Asia/Ho_Chi_Minh', database: 'canh', lang: 'vi', now: NOW, agency: A, appendix: true },
    );
    expect(withAppendix.html).toContain('Phụ lục: truy vấn InfluxQL');
    expect(withAppendix.html).toContain(q.ping_down.replace(/'/g, '&#39;').replace(/"/g, '&quot;').replace(/>/g, '&gt;').replace(/</g, '&lt;'));
    const down = seriesRows(await influx.query(q.ping_down, 'canh')).filter((r) => r.url === '10.1.0.1');
    expect(down.reduce((a, r) => a + num(r.down), 0)).toBe(23);
  });
});

describe('monthly report rendering', () => {
  it('renders Vietnamese and English with their words and diacritics', () => {
    for (const w of ['BÁO CÁO', 'Khả dụng', 'Sự kiện an ninh', 'Cơ quan', 'Cảnh báo', 'Việc cần theo dõi', 'nghiêm trọng', 'Đã xử lý', 'Tự phục hồi'])
      expect(vi.html).toContain(w);
    for (const w of ['REPORT', 'Availability', 'Security events', 'Agency', 'Needs attention', 'Mean time to resolve', 'Handled', 'Resolved by itself'])
      expect(en.html).toContain(w);
    // Plain words, not field names.
    for (const jargon of ['result_code', 'bytes_recv_rate', 'bytes_sent_rate', 'in_bps', 'firing', 'resolved']) expect(vi.html, jargon).not.toContain(jargon);
    // Rule titles, not rule ids.
    expect(vi.html).toContain('<td>Mất gói tin</td>');
    expect(vi.html).not.toContain('<td>packet_loss</td>');
    expect(en.html).not.toContain('Khả dụng');
    expect(vi.html).toMatch(/^<!doctype html><html lang="vi">/);
    expect(vi.html).not.toMatch(/<script|<link|src="http/);
    expect((vi.html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(4);
  });

  it('canh-collector report writes HTML and an A4 PDF that renders to pages', { timeout: 120_000 }, async () => {
    const config = join(artifacts, 'collector.yaml');
    writeFileSync(config, `state_dir: ${join(artifacts, 'state')}\ninflux:\n  url: ${influx.url}\n  database: canh\n${OFFICIAL}`);
    const html = join(artifacts, 'cli-en.html');
    expect(await main(['report', '--config', config, '--month', '2026-11', '--agency', B, '--lang', 'en', '--out', html])).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain('Agency: Văn phòng UBND tỉnh'); // its display name, not the id ubnd-tinh
    const pdf = join(artifacts, 'report-vi.pdf');
    rmSync(pdf, { force: true });
    const pdfHtml = (): string => {
      const f = join(artifacts, 'report-vi-for-pdf.html');
      if (!existsSync(f)) throw new Error('no HTML of the PDF');
      return f;
    };
    expect(await main(['report', '--config', config, '--month', '2026-11', '--agency', A, '--out', join(artifacts, 'report-vi-for-pdf.html')])).toBe(0);
    expect(await main(['report', '--config', config, '--month', '2026-11', '--agency', A, '--format', 'pdf', '--out', pdf])).toBe(0);
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    const prefix = join(artifacts, 'report-vi-page');
    for (const f of readdirSync(artifacts)) if (f.startsWith('report-vi-page')) rmSync(join(artifacts, f));
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '2', pdf, prefix]);
    const text = execFileSync('pdftotext', ['-layout', '-l', '1', pdf, '-'], { encoding: 'utf8' });
    for (const line of ['SỞ THÔNG TIN VÀ TRUYỀN THÔNG', 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM', 'Độc lập - Tự do - Hạnh phúc', 'Số: 15/BC-STTTT', 'BÁO CÁO'])
      expect(text, line).toContain(line);
    expect(text).toMatch(/Huế, ngày \d\d tháng \d\d năm \d{4}/);
    // No heading left alone at a page foot: the last line of every page is not a heading.
    const headings = new Set([...readFileSync(pdfHtml(), 'utf8').matchAll(/<h[123][^>]*>([^<]+)<\/h[123]>/g)].map((m) => m[1]!.replace(/&#39;/g, "'").trim()));
    expect(headings.size).toBeGreaterThan(10);
    const pageCount = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [pdf], { encoding: 'utf8' }))![1]);
    for (let i = 1; i <= pageCount; i++) {
      const lines = execFileSync('pdftotext', ['-f', String(i), '-l', String(i), pdf, '-'], { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      expect(headings.has(lines.at(-1)!), `page ${i} ends with the heading "${lines.at(-1)}"`).toBe(false);
    }
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

  it('canh-collector report --format docx writes a Word document with the official header, tables and figures', { timeout: 180_000 }, async () => {
    const config = join(artifacts, 'collector-docx.yaml');
    writeFileSync(config, `state_dir: ${join(artifacts, 'state')}\ninflux:\n  url: ${influx.url}\n  database: canh\n${OFFICIAL}`);
    const docx = join(artifacts, 'report-vi.docx');
    rmSync(docx, { force: true });
    expect(await main(['report', '--config', config, '--month', '2026-11', '--format', 'docx', '--out', docx])).toBe(0);
    expect(readFileSync(docx).subarray(0, 2).toString()).toBe('PK');
    // Read back with a DOCX reader, as Word would open it.
    const text = (await mammoth.extractRawText({ path: docx })).value;
    const lines = text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    for (const l of [
      'UBND TỈNH THỪA THIÊN HUẾ',
      'SỞ THÔNG TIN VÀ TRUYỀN THÔNG',
      'Số: 15/BC-STTTT',
      'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM',
      'Độc lập - Tự do - Hạnh phúc',
      'BÁO CÁO',
      'Kết quả giám sát mạng và an toàn thông tin tháng 11/2026',
      'Nơi nhận:',
      '- Như trên;',
      'GIÁM ĐỐC',
      'Nguyễn Văn Hùng',
    ]) {
      expect(lines, l).toContain(l);
    }
    expect(lines.some((l) => /^Huế, ngày \d\d tháng \d\d năm \d{4}$/.test(l))).toBe(true);
    // Names instead of ids, for both agencies; no appendix unless asked for.
    expect(lines).toContain('I. Cơ quan: Sở Thông tin và Truyền thông');
    expect(lines).toContain('II. Cơ quan: Văn phòng UBND tỉnh');
    expect(text).not.toContain('Phụ lục');
    const html = (await mammoth.convertToHtml({ path: docx })).value;
    const tables = html.match(/<table>/g) ?? [];
    expect(tables.length).toBeGreaterThanOrEqual(10);
    // The same figures as the HTML: availability of a check, the agent with two disconnections, handled vs self-resolved.
    const ping = agencyOf(vi, A).checks.find((x) => x.target === '10.1.0.1')!;
    expect(html).toContain(`<td><p>${pctText(ping.availability!, 'vi')}</p></td>`);
    expect(html).toMatch(/<td><p>Máy cổng UBND<\/p><\/td><td><p>99,72 %<\/p><\/td><td><p>2<\/p><\/td>/);
    expect(html).toContain('<td><p>đã xử lý, người nhận: Trần Thị Bình</p></td>');
    expect(html).toContain('<td><p>Tự phục hồi</p></td>');
    // Rendered as an office suite shows it: the first two pages as PNG in test-artifacts/.
    const out = join(artifacts, 'docx-render');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    execFileSync('soffice', [`-env:UserInstallation=file://${join(out, 'profile')}`, '--headless', '--convert-to', 'pdf', '--outdir', out, docx], {
      stdio: 'pipe',
      timeout: 150_000,
    });
    const rendered = join(out, 'report-vi.pdf');
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '2', rendered, join(artifacts, 'report-vi-docx-page')]);
    const pngs = readdirSync(artifacts).filter((f) => f.startsWith('report-vi-docx-page') && f.endsWith('.png'));
    expect(pngs).toHaveLength(2);
    const page1 = execFileSync('pdftotext', ['-layout', '-l', '1', rendered, '-'], { encoding: 'utf8' });
    expect(page1).toContain('CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM');
    expect(page1).toContain('BÁO CÁO');
  });

  it("takes its language and time zone from the config file's report section; flags win; a bad zone is a config error", { timeout: 60_000 }, async () => {
    const config = join(artifacts, 'collector-report-section.yaml');
    writeFileSync(
      config,
      `state_dir: ${join(artifacts, 'state')}\ninflux:\n  url: ${influx.url}\n  database: canh\nreport:\n  language: en\n  time_zone: UTC\n`,
    );
    const fromConfig = join(artifacts, 'cli-config-en-utc.html');
    expect(await main(['report', '--config', config, '--month', '2026-11', '--agency', A, '--out', fromConfig])).toBe(0);
    const a = readFileSync(fromConfig, 'utf8');
    expect(a).toContain('(time zone UTC).');
    const flags = join(artifacts, 'cli-config-flags-vi.html');
    expect(await main(['report', '--config', config, '--month', '2026-11', '--agency', A, '--lang', 'vi', '--tz', 'Asia/Ho_Chi_Minh', '--out', flags])).toBe(0);
    const b = readFileSync(flags, 'utf8');
    expect(b).toContain('(múi giờ Asia/Ho_Chi_Minh).');
    // The month's days start at local midnight: the same month in UTC and in Vietnam covers different hours.
    expect(a).not.toBe(b);

    const bad = join(artifacts, 'collector-bad-zone.yaml');
    writeFileSync(bad, `state_dir: ${join(artifacts, 'state')}\ninflux:\n  url: ${influx.url}\nreport:\n  time_zone: Asia/Hanoii\n`);
    expect(await main(['report', '--config', bad, '--month', '2026-11'])).toBe(2); // CANH_ERR_CONFIG_INVALID, printed (test/cli-errors.test.ts)
  });
});

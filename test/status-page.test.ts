// The status page in a real browser (Debian's Chromium): login required, agents of a
// running fleet shown by agency with their state, Vietnamese and English; a screenshot
// is kept in test-artifacts/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';
import { launchChromium } from './helpers/browser.ts';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp.ts';
import { freePort } from './helpers/ports.ts';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { maintenanceCommand } from '../collector/src/commands/maintenance.ts';

const artifacts = join(import.meta.dirname, '..', 'test-artifacts');
let p: Pipeline;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
let base: string;
let smtp: TestSmtpServer;
let closed: number;
/** Two windows of `canh-collector maintenance add`: one open now, one still to come. */
const HOUR = 3_600_000;
const openFrom = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
const soonFrom = openFrom + 48 * HOUR;
/** How the Vietnamese page writes a time (day first, in the page's zone), independently of the page's code. */
const viTime = (t: number) =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Asia/Ho_Chi_Minh',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  })
    .format(t)
    .replace(',', '');
const ADMIN = 'status-test-admin-token';

beforeAll(async () => {
  smtp = await startSmtpServer();
  p = await startPipeline({
    collector: {
      status: { users: [{ name: 'admin', password: { value: 'mật-khẩu-đúng' } }], language: 'vi' },
      alerting: {
        admin_token: { value: ADMIN },
        agencies: { 'so-tttt': 'Sở Thông tin và Truyền thông' },
        status_url: 'https://canh.tinh.gov.vn',
        maintenance: [{ name: 'Bảo trì Chủ nhật', agencies: ['so-tttt'], days: ['sun'], start: '22:00', end: '02:00' }],
        grouping: { group_wait: '1s' },
        recipients: [
          { email: 'soc@tinh.gov.vn', language: 'vi' },
          { email: 'noc@tinh.gov.vn', language: 'en' },
        ],
        smtp: { host: smtp.host, port: smtp.port, security: 'none', from: 'canh@tinh.gov.vn' },
      },
    },
  });
  base = `http://127.0.0.1:${p.collector.server.port}`;
  // It checks a portal (the collector's own login page) and a closed port, for the
  // portals and services section.
  closed = await freePort();
  await p.addAgent({
    name: 'mc-portal-01',
    agency: 'so-tttt',
    site: 'dc-tinh',
    inputs: [{ type: 'mem' }, { type: 'http_response', urls: [`${base}/login`] }, { type: 'net_response', address: `127.0.0.1:${closed}` }],
  });
  await p.addAgent({ name: 'ubnd-fs-02', agency: 'ubnd-tinh', site: 'tru-so', inputs: [{ type: 'mem' }] });
  p.collector.registry.add({ name: 'never-seen', agency: 'so-yte', site: 'bv' });
  // A revoked agent: history, not the fleet (not counted, listed apart).
  p.collector.registry.add({ name: 'old-pc', agency: 'so-tttt', site: 'dc-tinh' });
  p.collector.registry.revoke('old-pc');
  // A security event through the real path, for the events section.
  const h = await p.addAgent({ name: 'web-03', agency: 'so-tttt', site: 'dc-tinh' });
  // As the detector sends it: an English message; the Vietnamese page and mail say it
  // again from the evidence.
  h.agent.batcher.accumulator('auth_log').addEvent({
    type: 'brute_force',
    severity: 'high',
    message: 'Brute-force attack (ssh): 12 failed logins from 203.0.113.7 within 10m for root',
    evidence: { src_ip: '203.0.113.7', service: 'ssh', users: 'root', user_count: 1, total_failures: 12, window_s: 600, update: false },
    count: 12,
  });
  h.agent.batcher.flush();
  await p.waitFor(`SELECT count(*) FROM security_event`, (r) => r.length > 0);
  // A silence through the collector's HTTP API, for the silences section.
  const res = await fetch(`${base}/api/v1/silences`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ matchers: ['host=ubnd-fs-02'], created_by: 'Nguyễn Văn An', comment: 'Bảo trì máy chủ tệp', duration: '2h' }),
  });
  expect(res.status).toBe(201);
  // Maintenance planned from the command line, on the collector's own state file.
  const cliConfig = join(p.config.state_dir, 'cli.yaml');
  writeFileSync(cliConfig, stringify({ state_dir: p.config.state_dir, influx: { url: p.influx.url }, alerting: { timezone: 'Asia/Ho_Chi_Minh' } }));
  const plan = async (...args: string[]) => {
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      expect(await maintenanceCommand(['add', ...args, '--author', 'Trần Thị Bình', '--config', cliConfig])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
  };
  const iso = (t: number) => new Date(t).toISOString();
  await plan('--name', 'Thay UPS', '--agency', 'ubnd-tinh', '--from', iso(openFrom), '--until', iso(openFrom + 3 * HOUR), '--comment', 'phiếu 1234');
  await plan('--name', 'Nâng cấp tường lửa', 'host=web-03', '--from', iso(soonFrom), '--until', iso(soonFrom + 4 * HOUR), '--comment', 'phiếu 1240');
  chrome = await launchChromium();
  mkdirSync(artifacts, { recursive: true });
}, 90_000);

afterAll(async () => {
  await chrome?.close();
  await p?.stop();
  await smtp?.stop();
});

describe('status page', () => {
  it('requires a login and refuses a wrong password', async () => {
    const page = await chrome.browser.newPage();
    await page.goto(`${base}/status`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=user]', 'admin');
    await page.fill('input[name=password]', 'wrong');
    await page.click('button[type=submit]');
    expect(await page.textContent('body')).toContain('Sai tên đăng nhập hoặc mật khẩu.');
    // Without a session cookie the data is not served, even to a direct request.
    const res = await fetch(`${base}/status`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    await page.close();
  });

  it('shows the running fleet by agency, in Vietnamese and English', async () => {
    const page = await chrome.browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${base}/status`);
    await page.fill('input[name=user]', 'admin');
    await page.fill('input[name=password]', 'mật-khẩu-đúng');
    await page.click('button[type=submit]');
    expect(new URL(page.url()).pathname).toBe('/status');
    expect(await page.textContent('#summary')).toBe('3/4 tác tử trực tuyến; 1 tác tử đã thu hồi (ở cuối trang, không tính)');
    expect(await page.textContent('tr[data-agent="old-pc"] td:nth-child(3)')).toBe('đã thu hồi');
    expect(await page.textContent('#agents')).toContain('Tác tử đã thu hồi');
    expect(await page.textContent('tr[data-agent="mc-portal-01"] td:nth-child(3)')).toBe('trực tuyến');
    expect(await page.textContent('tr[data-agent="never-seen"] td:nth-child(3)')).toBe('mất kết nối');
    expect(await page.textContent('tr[data-agent="never-seen"] td:nth-child(4)')).toBe('chưa bao giờ');
    expect(await page.textContent('#agents')).toContain('Cơ quan: ubnd-tinh');
    // Display names from alerting.agencies; times in one format with the zone named once.
    expect(await page.textContent('#agents')).toContain('Cơ quan: Sở Thông tin và Truyền thông (so-tttt)');
    expect(await page.textContent('header')).toContain('Giờ theo: Asia/Ho_Chi_Minh (GMT+7)');
    expect(await page.textContent('tr[data-agent="mc-portal-01"] td:nth-child(4)')).toMatch(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/);
    expect(await page.getAttribute('meta[http-equiv=refresh]', 'content')).toBe('30');
    expect(await page.textContent('#maintenance')).toContain('Bảo trì Chủ nhật');
    expect(await page.textContent('#maintenance')).toContain('CN 22:00–02:00');
    // The command line's windows beside the config file's: from–until in the page's zone and format.
    expect(await page.textContent('tr[data-window="Thay UPS"]')).toBe(
      `Thay UPS${viTime(openFrom)} – ${viTime(openFrom + 3 * HOUR)}ubnd-tinhđang bảo trì: không gửi thư cảnh báodòng lệnh, do Trần Thị Bình lập: phiếu 1234`,
    );
    expect(await page.textContent('tr[data-window="Nâng cấp tường lửa"]')).toBe(
      `Nâng cấp tường lửa${viTime(soonFrom)} – ${viTime(soonFrom + 4 * HOUR)}mọi cơ quan; host=web-03chưa đến giờdòng lệnh, do Trần Thị Bình lập: phiếu 1240`,
    );
    expect(await page.textContent('tr[data-window="Bảo trì Chủ nhật"] td:nth-child(5)')).toBe('tệp cấu hình');
    expect(await page.textContent('#events')).toContain('Tấn công dò mật khẩu (ssh): 12 lần đăng nhập sai từ 203.0.113.7 trong 10 phút vào tài khoản root');
    expect(await page.textContent('#events')).not.toContain('failed logins');
    expect(await page.textContent('#health')).toMatch(/InfluxDB: hoạt động/);
    expect(await page.textContent('#health')).toMatch(/Thư điện tử \(SMTP\): hoạt động 0 thư đang chờ, 0 thư lỗi, \d+ thư đã gửi từ khi khởi động/);
    expect(await page.textContent('#alerts span.sev-high')).toBe('cao'); // the severity, in Vietnamese
    // The brute-force event fired the shipped rule; the silence is listed with its author.
    expect(await page.textContent('#alerts')).toContain('Tấn công dò mật khẩu'); // the rule's title, not its id
    expect(await page.textContent('#alerts')).not.toContain('brute_force');
    expect(await page.textContent('#alerts')).toContain('web-03');
    expect(await page.textContent('#alerts')).toContain('Bảo trì máy chủ tệp');
    expect(await page.textContent('#alerts')).toContain('Nguyễn Văn An');
    // Portals and services from the agent's latest http_response and net_response points.
    for (let i = 0; i < 40 && !((await page.textContent('#services')) ?? '').includes('127.0.0.1:'); i++) {
      await page.waitForTimeout(500);
      await page.goto(`${base}/status?refresh=0`);
    }
    await page.goto(`${base}/status?refresh=0`);
    expect(await page.locator('meta[http-equiv=refresh]').count()).toBe(0);
    expect(await page.textContent(`tr[data-service="${base}/login"] td:nth-child(3)`)).toBe('hoạt động');
    expect(await page.textContent(`tr[data-service="127.0.0.1:${closed}"] td:nth-child(3)`)).toBe('ngừng');
    await page.screenshot({ path: join(artifacts, 'status-vi.png'), fullPage: true });
    await page.goto(`${base}/status?lang=en`);
    expect(await page.textContent('#summary')).toBe('3 of 4 agents online; 1 revoked (listed at the end, not counted)');
    expect(await page.textContent('tr[data-agent="ubnd-fs-02"] td:nth-child(3)')).toBe('online');
    expect(await page.textContent('#alerts')).toContain('Brute-force attack');
    expect(await page.textContent('#events')).toContain('12 failed logins from 203.0.113.7');
    expect(await page.textContent('tr[data-window="Thay UPS"] td:nth-child(2)')).toMatch(/^\d{4}-\d\d-\d\d \d\d:00:00 – \d{4}-\d\d-\d\d \d\d:00:00$/);
    expect(await page.textContent('tr[data-window="Thay UPS"] td:nth-child(5)')).toBe('command line, by Trần Thị Bình: phiếu 1234');
    await page.screenshot({ path: join(artifacts, 'status-en.png'), fullPage: true });
    // The agent's own health point reaches the page: spool backlog is a number.
    await page.waitForTimeout(1500);
    await page.reload();
    expect(await page.textContent('tr[data-agent="mc-portal-01"] td:nth-child(6)')).toMatch(/^\d+$/);
    await page.close();
  }, 60_000);

  it('the brute-force mail in Vietnamese and English, as a reader sees it (screenshots)', async () => {
    const vi = await smtp.waitForMail((m) => m.envelope.to.includes('soc@tinh.gov.vn') && (m.parsed.subject ?? '').includes('Tấn công dò mật khẩu'), 20_000);
    const en = await smtp.waitForMail((m) => m.envelope.to.includes('noc@tinh.gov.vn') && (m.parsed.subject ?? '').includes('Brute-force attack'), 20_000);
    expect(vi.parsed.subject).toBe('[FIRING:1] Cảnh báo: Tấn công dò mật khẩu — web-03 — Sở Thông tin và Truyền thông');
    expect(vi.parsed.text).toContain('Việc cần làm: Chặn địa chỉ nguồn trên tường lửa');
    expect(vi.parsed.text).toContain('Dịch vụ: ssh');
    expect(vi.parsed.text).not.toMatch(/failed logins|user_count|window_s/);
    expect(vi.parsed.text).toContain('Trang trạng thái: https://canh.tinh.gov.vn/status?lang=vi');
    expect(en.parsed.text).toContain('What to do: Block the source address');
    for (const [lang, mail] of [
      ['vi', vi],
      ['en', en],
    ] as const) {
      const page = await chrome.browser.newPage({ viewport: { width: 800, height: 600 } });
      await page.setContent(String(mail.parsed.html));
      expect(await page.textContent('h1')).toContain('web-03');
      await page.screenshot({ path: join(artifacts, `mail-${lang}.png`), fullPage: true });
      await page.close();
    }
  }, 45_000);
});

// The alert engine end to end inside the collector process: rules evaluated on
// batches, grouped notifications, timings under an injected clock, and the mails as a
// real SMTP server (STARTTLS, AUTH) receives them, parsed back with mailparser.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AlertEngine } from './engine.ts';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from '../../../test/helpers/smtp.ts';
import { batch, disk, event, hanoi, harness, hue, HOUR, MIN, ping, pointsBatch, SEC, smtpSection, T0, type Harness } from './test-kit.ts';

let smtp: TestSmtpServer;
let h: Harness | undefined;

beforeAll(async () => {
  smtp = await startSmtpServer({ starttls: true, auth: { user: 'canh', pass: 'mật-khẩu-smtp' }, requireAuth: true });
});
afterAll(() => smtp.stop());
afterEach(async () => {
  await h?.stop();
  h = undefined;
  smtp.mails.length = 0;
});

const PING_RULE = {
  name: 'ping_loss',
  type: 'threshold',
  measurement: 'ping',
  field: 'percent_packet_loss',
  op: '>',
  value: 20,
  for: '2m',
  group_by: ['host', 'url'],
  severity: 'high',
  unit: 'percent',
  title: { vi: 'Mất gói tin', en: 'Packet loss' },
  summary: { vi: 'Mất {{value}} gói tin tới {{url}}', en: '{{value}} packet loss to {{url}}' },
  dashboard: '/d/canh-network',
};

function base(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    grafana_url: 'https://grafana.tinh.gov.vn',
    agencies: { 'so-tttt': 'Sở Thông tin và Truyền thông' },
    default_rules: false,
    rules: [PING_RULE],
    recipients: [
      { email: 'cntt@sotttt.gov.vn', name: 'Phòng CNTT', agencies: ['so-tttt'], language: 'vi' },
      { email: 'soc@tinh.gov.vn', language: 'en' },
    ],
    smtp: smtpSection(smtp, { auth: { user: 'canh', password: { env: 'SMTP_PASSWORD' } } }),
    ...extra,
  };
}

function start(alerting: Record<string, unknown>, at = T0, mono?: () => number): Harness {
  h = harness(alerting, { env: { SMTP_PASSWORD: 'mật-khẩu-smtp' }, certPem: smtp.certPem, start: at, ...(mono ? { mono } : {}) });
  return h;
}

const to = (addr: string) => (m: ReceivedMail) => m.envelope.to.includes(addr);
const subjects = (addr?: string) => smtp.mails.filter((m) => !addr || m.envelope.to.includes(addr)).map((m) => m.parsed.subject);

describe('alert engine: threshold rules, grouping and mails', () => {
  it('fires after `for`, waits group_wait, mails each recipient in their language with diacritics', async () => {
    const h = start(base());
    const feed = (loss: number) => (t: number) => h.engine.onBatch(hanoi, batch([ping(t, '10.0.0.1', loss), ping(t, '10.0.0.2', loss)]));
    feed(50)(T0);
    await h.engine.tick();
    await h.advance(1 * MIN + 50 * SEC, feed(50));
    expect([...h.engine.tracker.alerts.values()].map((a) => a.state)).toEqual(['pending', 'pending']);
    await h.advance(10 * SEC, feed(50)); // T0 + 2m: fires
    expect([...h.engine.tracker.alerts.values()].map((a) => a.state)).toEqual(['firing', 'firing']);
    await h.advance(20 * SEC, feed(50));
    expect(smtp.mails).toHaveLength(0); // group_wait (30 s) not over
    await h.advance(10 * SEC, feed(50));
    expect(smtp.mails).toHaveLength(2);

    const vi = smtp.mails.find(to('cntt@sotttt.gov.vn'))!;
    expect(vi.secure).toBe(true); // STARTTLS, then AUTH
    expect(vi.user).toBe('canh');
    expect(vi.parsed.subject).toBe('[FIRING:2] Cảnh báo: Mất gói tin — mc-portal-01 — Sở Thông tin và Truyền thông');
    expect(vi.parsed.to).toMatchObject({ value: [{ address: 'cntt@sotttt.gov.vn', name: 'Phòng CNTT' }] });
    expect(vi.parsed.from?.value[0]).toMatchObject({ address: 'canh@tinh.gov.vn', name: 'Canh' });
    expect(vi.parsed.headers.get('content-language')).toBe('vi');
    expect(vi.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(vi.parsed.messageId).toMatch(/^<canh-[a-z0-9]+-\d+@tinh\.gov\.vn>$/);
    const text = vi.parsed.text!;
    expect(text).toContain('ĐANG CẢNH BÁO (2)');
    expect(text).toContain('Mất 50 % gói tin tới 10.0.0.1');
    expect(text).toContain('Cơ quan: Sở Thông tin và Truyền thông');
    expect(text).toContain('Máy chủ: mc-portal-01');
    expect(text).toContain('Bắt đầu lúc: 08:00:00 ngày 04/05/2026 (GMT+7)');
    expect(text).toContain('Giá trị: 50 % (ngưỡng > 20 %)');
    expect(text).toContain('mức độ: cao');
    expect(text).toMatch(/Xem trên Grafana: https:\/\/grafana\.tinh\.gov\.vn\/d\/canh-network\?var-agency=so-tttt&var-host=mc-portal-01&from=\d+&to=now/);
    const html = vi.parsed.html as string;
    expect(html).toContain('<html lang="vi">');
    expect(html).toContain('Cơ quan</td><td style="padding:2px 10px">Sở Thông tin và Truyền thông</td>');
    expect(html).toContain('href="https://grafana.tinh.gov.vn/d/canh-network?var-agency=so-tttt&amp;var-host=mc-portal-01');

    const en = smtp.mails.find(to('soc@tinh.gov.vn'))!;
    expect(en.parsed.subject).toBe('[FIRING:2] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông');
    expect(en.parsed.headers.get('content-language')).toBe('en');
    expect(en.parsed.text).toContain('Agency: Sở Thông tin và Truyền thông');
    expect(en.parsed.text).toContain('Host: mc-portal-01');
    expect(en.parsed.text).toContain('Since: 2026-05-04 08:00:00 (GMT+7)');
    expect(en.parsed.text).toContain('Value: 50 % (threshold > 20 %)');
    expect(en.parsed.html).toContain('<html lang="en">');

    // State changes went to InfluxDB as the `alert` measurement, for Grafana annotations.
    expect(h.lines.filter((l) => l.startsWith('alert,'))).toHaveLength(2);
    expect(h.lines[0]).toMatch(
      /^alert,agency=so-tttt,host=mc-portal-01,rule=ping_loss,severity=high,url=10\.0\.0\.[12] state="firing",summary="ping\.percent_packet_loss = 50 \(> 20\)",value=50(\.0)? \d+$/,
    );
  });

  it('repeats only after repeat_interval, and mails the resolution of every episode it announced', async () => {
    const h = start(base({ grouping: { group_wait: '30s', group_interval: '5m', repeat_interval: '4h' } }));
    // Points spelled as objects here; the other tests send rows, as canh-agent does.
    const feed = (loss: number) => (t: number) => h.engine.onBatch(hanoi, pointsBatch([ping(t, '10.0.0.1', loss)]));
    await h.advance(3 * MIN, feed(80));
    expect(subjects('soc@tinh.gov.vn')).toEqual(['[FIRING:1] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông']);
    const firstAt = smtp.mails[0]!.receivedAt;
    await h.advance(3 * HOUR + 50 * MIN, feed(80));
    expect(subjects('soc@tinh.gov.vn')).toHaveLength(1); // nothing new, repeat not due
    await h.advance(15 * MIN, feed(80));
    expect(subjects('soc@tinh.gov.vn')).toEqual([
      '[FIRING:1] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông',
      '[FIRING:1] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông',
    ]);
    expect(smtp.mails.at(-1)!.receivedAt.getTime()).toBeGreaterThanOrEqual(firstAt.getTime());

    await h.advance(6 * MIN, feed(0));
    expect(subjects('cntt@sotttt.gov.vn').at(-1)).toBe('[RESOLVED] Đã khắc phục: Mất gói tin — mc-portal-01 — Sở Thông tin và Truyền thông');
    const resolved = smtp.mails.filter(to('cntt@sotttt.gov.vn')).at(-1)!;
    expect(resolved.parsed.text).toContain('ĐÃ KHẮC PHỤC (1)');
    expect(resolved.parsed.text).toMatch(/Đã khắc phục lúc: \d\d:\d\d:\d\d ngày 04\/05\/2026 \(GMT\+7\) \(kéo dài 4 giờ \d+ phút\)/);
    expect(resolved.parsed.headers.get('x-canh-status')).toBe('resolved');
    expect(subjects('soc@tinh.gov.vn').at(-1)).toBe('[RESOLVED] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông');
    const before = smtp.mails.length;
    await h.advance(5 * HOUR, feed(0));
    expect(smtp.mails).toHaveLength(before); // resolved once, then quiet
    expect(h.engine.tracker.alerts.size).toBe(0);
  });

  it('a flapping alert still gets its resolved mail; damping holds the resolution once it flaps', async () => {
    const h = start(
      base({
        rules: [{ ...PING_RULE, for: 0 }],
        recipients: [{ email: 'soc@tinh.gov.vn', language: 'en' }],
        grouping: { group_wait: '10s', group_interval: '1m' },
        flap: { transitions: 4, window: '30m', hold: '5m' },
      }),
    );
    const send = (loss: number) => h.engine.onBatch(hanoi, batch([ping(h.now(), '10.0.0.1', loss)]));
    const announced = { firing: new Set<number>(), resolved: new Set<number>() };
    const commit = h.engine.store.commitNotification.bind(h.engine.store);
    h.engine.store.commitNotification = (n) => {
      n.firing.forEach((id) => announced.firing.add(id));
      n.resolved.forEach((id) => announced.resolved.add(id));
      return commit(n);
    };
    send(90);
    await h.advance(10 * SEC); // first mail: episode 1 firing
    send(0); // episode 1 resolves...
    await h.advance(10 * SEC);
    send(90); // ...and episode 2 fires before the group is looked at again
    await h.advance(60 * SEC);
    expect(subjects()).toEqual([
      '[FIRING:1] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông',
      '[FIRING:1] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông',
    ]);
    const second = smtp.mails[1]!.parsed.text!;
    expect(second).toContain('FIRING (1)');
    expect(second).toContain('RESOLVED (1)'); // episode 1's resolution was not swallowed by episode 2

    send(0); // 4th transition: resolves, now flapping
    await h.advance(10 * SEC);
    send(90); // 5th: fires again
    await h.advance(10 * SEC);
    send(0); // flapping: the resolution is held for 5 minutes of calm
    await h.advance(10 * SEC);
    const held = [...h.engine.tracker.alerts.values()].filter((a) => a.state === 'firing');
    expect(held).toHaveLength(1);
    expect(held[0]!.clearSince).not.toBeNull();
    send(90); // back within the hold: same episode, no new mail for it
    await h.advance(30 * SEC, () => send(0));
    await h.advance(4 * MIN, () => send(0));
    expect([...h.engine.tracker.alerts.values()].some((a) => a.state === 'firing')).toBe(true);
    await h.advance(3 * MIN, () => send(0));
    expect([...h.engine.tracker.alerts.values()].some((a) => a.state === 'firing')).toBe(false);
    await h.advance(2 * MIN, () => send(0));
    expect(subjects().at(-1)).toBe('[RESOLVED] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông');
    // Every episode announced as firing had its resolution mailed: three episodes in all.
    expect([...announced.firing].sort()).toEqual([...announced.resolved].sort());
    expect(announced.firing.size).toBe(3);
  });

  it('a critical security event is mailed at once, without group_wait', async () => {
    const h = start(
      base({
        rules: [
          {
            name: 'brute_force_success',
            type: 'event',
            event_types: ['brute_force_success'],
            severity: 'critical',
            group_by: ['host'],
            title: { vi: 'Đăng nhập thành công sau khi dò mật khẩu', en: 'Login after brute force' },
          },
        ],
      }),
    );
    h.engine.onBatch(
      hanoi,
      batch([], [event(T0, 'brute_force_success', 'high', 'root logged in from 203.0.113.7 after 412 failures', { src_ip: '203.0.113.7', user: 'root' })]),
    );
    await h.engine.tick(); // same instant: no group_wait for critical
    expect(subjects('cntt@sotttt.gov.vn')).toEqual([
      '[FIRING:1] Cảnh báo: Đăng nhập thành công sau khi dò mật khẩu — mc-portal-01 — Sở Thông tin và Truyền thông',
    ]);
    const text = smtp.mails.find(to('cntt@sotttt.gov.vn'))!.parsed.text!;
    expect(text).toContain('mức độ: nghiêm trọng');
    // The agent's English message is said again in Vietnamese from the event's evidence.
    expect(text).toContain('Đăng nhập thành công vào root từ 203.0.113.7: tài khoản có thể đã bị chiếm');
    expect(text).not.toContain('logged in from');
    expect(text).toContain('IP nguồn: 203.0.113.7');
    expect(text).toContain('Giá trị: 1 lần');
  });

  it('the same source attacking N hosts of the province within T is one province-wide alert', async () => {
    const h = start(
      base({
        rules: [
          {
            name: 'campaign',
            type: 'event',
            event_types: ['brute_force'],
            distinct_hosts: 3,
            within: '10m',
            severity: 'high',
            title: { vi: 'Một địa chỉ tấn công nhiều máy chủ', en: 'One source, many hosts' },
          },
        ],
        grouping: { group_wait: '0s' },
      }),
    );
    const third = { host: 'mail-01', agency: 'so-tttt', site: 'dc' };
    h.engine.onBatch(hanoi, batch([], [event(T0, 'brute_force', 'medium', 'ssh failures', { src_ip: '198.51.100.9' })]));
    h.engine.onBatch(hue, batch([], [event(T0 + MIN, 'brute_force', 'medium', 'ssh failures', { src_ip: '198.51.100.9' })]));
    h.engine.onBatch(third, batch([], [event(T0 + MIN, 'brute_force', 'medium', 'ssh failures', { src_ip: '203.0.113.50' })]));
    await h.advance(2 * MIN);
    expect(smtp.mails).toHaveLength(0); // two hosts, or two different sources: not yet
    h.engine.onBatch(third, batch([], [event(T0 + 2 * MIN, 'brute_force', 'medium', 'ssh failures', { src_ip: '198.51.100.9' })]));
    await h.advance(10 * SEC);
    expect(subjects()).toEqual(['[FIRING:1] One source, many hosts — Province-wide']); // only the province-wide recipient
    const text = smtp.mails[0]!.parsed.text!;
    expect(text).toContain('Hosts: mail-01 (so-tttt), mc-portal-01 (so-tttt), ws-ketoan-02 (so-yte)');
    expect(text).toContain('Value: 3 hosts');
    await h.advance(61 * MIN);
    expect(subjects().at(-1)).toBe('[RESOLVED] One source, many hosts — Province-wide');
  });

  it('a series that stops arriving fires its absence rule, and resolves when it comes back', async () => {
    const rule = {
      name: 'ping_silent',
      type: 'absence',
      measurement: 'ping',
      for: '5m',
      group_by: ['host', 'url'],
      severity: 'high',
      title: { vi: 'Mất dữ liệu ping', en: 'Ping data missing' },
    };
    const h = start(base({ rules: [rule] }));
    const state = () => [...h.engine.tracker.alerts.values()].map((a) => `${a.labels.url}:${a.state}`);
    // Both targets arrive as rows; then 10.0.0.2 goes silent while 10.0.0.1 keeps coming.
    await h.advance(2 * MIN, (t) => h.engine.onBatch(hanoi, batch([ping(t, '10.0.0.1', 0), ping(t, '10.0.0.2', 0)])));
    await h.advance(4 * MIN, (t) => h.engine.onBatch(hanoi, batch([ping(t, '10.0.0.1', 0)])));
    expect(state().filter((s) => s.endsWith(':firing'))).toEqual([]);
    await h.advance(3 * MIN, (t) => h.engine.onBatch(hanoi, batch([ping(t, '10.0.0.1', 0)])));
    expect(state()).toContain('10.0.0.2:firing');
    expect(state()).not.toContain('10.0.0.1:firing');
    await h.advance(1 * MIN, (t) => h.engine.onBatch(hanoi, batch([ping(t, '10.0.0.1', 0), ping(t, '10.0.0.2', 0)])));
    expect(state()).not.toContain('10.0.0.2:firing');
  });

  it('absence under clock steps: an agent clock 7 h behind still sends; a collector step of +1 h fires nothing; silence is still found after it', async () => {
    const rule = {
      name: 'ping_silent',
      type: 'absence',
      measurement: 'ping',
      for: '5m',
      group_by: ['host', 'url'],
      severity: 'high',
      title: { vi: 'Mất dữ liệu ping', en: 'Ping data missing' },
    };
    let stepped = 0;
    const h = start(base({ rules: [rule] }), T0, () => h.now() - stepped);
    const firing = () =>
      [...h.engine.tracker.alerts.values()].filter((a) => a.state === 'firing' || a.state === 'pending').map((a) => `${a.labels.url}:${a.state}`);
    // 10.0.0.2 comes from an agent whose clock stepped back 7 h: its samples carry old times.
    const both = (t: number) => h.engine.onBatch(hanoi, batch([ping(t, '10.0.0.1', 0), ping(t - 7 * 3600_000, '10.0.0.2', 0)]));
    await h.advance(8 * MIN, both);
    expect(firing()).toEqual([]);
    // The collector's wall clock steps forward an hour; the next round comes before any data.
    h.jump(3600_000);
    stepped += 3600_000;
    await h.engine.tick();
    expect(firing()).toEqual([]);
    expect(h.engine.clockSteps).toBe(1);
    // And back 90 s: nothing either.
    h.jump(-90_000);
    stepped -= 90_000;
    await h.advance(1 * MIN, both);
    expect(firing()).toEqual([]);
    // A real silence after the steps is still found: 10.0.0.2 stops for 6 minutes.
    await h.advance(6 * MIN, (t) => h.engine.onBatch(hanoi, batch([ping(t, '10.0.0.1', 0)])));
    expect(firing()).toContain('10.0.0.2:firing');
    expect(firing()).not.toContain('10.0.0.1:firing');
  });

  it('the default rule pack: disk full after 5 minutes, certificate expiry in days', async () => {
    const h = start(base({ default_rules: true, rules: [], grouping: { group_wait: '0s' } }));
    const feed = (t: number) =>
      h.engine.onBatch(
        hanoi,
        batch([
          disk(t, '/var', 95.5),
          { name: 'x509_cert', time: t, tags: { source: 'https://dichvucong.tinh.gov.vn' }, fields: { expiry: 10 * 86_400 + 3 * 3600 } },
        ]),
      );
    await h.advance(4 * MIN, feed);
    expect(subjects('cntt@sotttt.gov.vn')).toEqual(['[FIRING:1] Cảnh báo: Chứng chỉ số sắp hết hạn — mc-portal-01 — Sở Thông tin và Truyền thông']);
    expect(smtp.mails[0]!.parsed.text).toContain('Chứng chỉ của https://dichvucong.tinh.gov.vn chỉ còn 10 ngày 3 giờ');
    await h.advance(2 * MIN, feed);
    expect(subjects('cntt@sotttt.gov.vn')).toContain('[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — mc-portal-01 — Sở Thông tin và Truyền thông');
    const mail = smtp.mails.filter(to('cntt@sotttt.gov.vn')).find((m) => m.parsed.subject!.includes('Ổ đĩa'))!;
    expect(mail.parsed.text).toContain('/var đã dùng 95,5 % (ngưỡng > 90 %)');
  });

  it('templates can be overridden per language, with HTML escaping of what agents sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-tpl-'));
    try {
      writeFileSync(join(dir, 'subject.txt'), '{{status_code}} | {{agency_id}} | {{title}}');
      writeFileSync(join(dir, 'body.html'), '<ul>{{#firing}}<li>{{summary}} ({{host}})</li>{{/firing}}</ul>');
      const h = start(
        base({
          rules: [{ ...PING_RULE, for: 0 }],
          grouping: { group_wait: '0s' },
          templates: { en: { subject: join(dir, 'subject.txt'), html: join(dir, 'body.html') } },
        }),
      );
      h.engine.onBatch(hanoi, batch([ping(T0, '<script>alert(1)</script>', 90)]));
      await h.engine.tick();
      const en = smtp.mails.find(to('soc@tinh.gov.vn'))!;
      expect(en.parsed.subject).toBe('FIRING:1 | so-tttt | Packet loss');
      expect(en.parsed.html).toContain('<li>90 % packet loss to &lt;script&gt;alert(1)&lt;/script&gt; (mc-portal-01)</li>');
      expect(en.parsed.text).toContain('FIRING (1)'); // text part: still the shipped template
      expect(smtp.mails.find(to('cntt@sotttt.gov.vn'))!.parsed.subject).toBe('[FIRING:1] Cảnh báo: Mất gói tin — mc-portal-01 — Sở Thông tin và Truyền thông');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('alerts of a rule removed from the config resolve at the next start, and say why', async () => {
    const h = start(base({ rules: [{ ...PING_RULE, for: 0 }], grouping: { group_wait: '0s' } }));
    h.engine.onBatch(hanoi, batch([ping(T0, '10.0.0.1', 90)]));
    await h.engine.tick();
    expect(subjects('soc@tinh.gov.vn')).toHaveLength(1);
    await h.engine.stop();
    h.engine = new AlertEngine(
      { ...h.cfg, rules: [] },
      { log: pino({ level: 'silent' }), dbFile: h.dbFile, clock: h.now, secrets: { smtpPassword: 'mật-khẩu-smtp' } },
    );
    await h.advance(5 * MIN); // the group's next look
    expect(subjects('soc@tinh.gov.vn').at(-1)).toBe('[RESOLVED] ping_loss — mc-portal-01 — Sở Thông tin và Truyền thông');
    expect(smtp.mails.filter(to('soc@tinh.gov.vn')).at(-1)!.parsed.text).toContain('rule removed from the config');
  });
});

// Event rules page, state rules repeat (issue 18): with the shipped rule pack and a real
// SMTP server, every new distinct security event of an open alert is mailed (critical at
// once, the others after group_wait, never at the 4 h repeat), a repeat of the same one
// is not, events seen late are still mailed and marked, and a mail names each event.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../../../test/helpers/smtp.ts';
import { batch, disk, event, hanoi, harness, HOUR, MIN, SEC, smtpSection, T0, type Harness } from './test-kit.ts';
import { eventKey } from './evaluate/event.ts';
import { LateData } from './late.ts';
import { pino } from 'pino';
import { Writable } from 'node:stream';

let smtp: TestSmtpServer;
let h: Harness | undefined;

beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(() => smtp.stop());
afterEach(async () => {
  await h?.stop();
  h = undefined;
  smtp.mails.length = 0;
});

function start(extra: Record<string, unknown> = {}): Harness {
  h = harness(
    {
      agencies: { 'so-tttt': 'Sở Thông tin và Truyền thông' },
      recipients: [
        { email: 'cntt@sotttt.gov.vn', agencies: ['so-tttt'], language: 'vi' },
        { email: 'soc@tinh.gov.vn', language: 'en' },
      ],
      smtp: smtpSection(smtp),
      ...extra,
    },
    { start: T0 },
  );
  return h;
}

const mailsTo = (addr: string) => smtp.mails.filter((m) => m.envelope.to.includes(addr));
const en = () => mailsTo('soc@tinh.gov.vn');

function success(at: number, ip: string, user: string) {
  return {
    ...event(at, 'brute_force_success', 'critical', `login for ${user} from ${ip} after 6 failed attempts`, {
      src_ip: ip,
      user,
      method: 'password',
      failures: 6,
    }),
    detector: 'auth_log',
  };
}

function fileChange(at: number, path: string) {
  return { ...event(at, 'file_modified', 'high', `${path} modified`, { path, change: 'modified' }), detector: 'file_integrity' };
}

describe('event rules: every new distinct event is notified', () => {
  it('a second brute_force_success from a new address for another account, while the first is open, is mailed at once', async () => {
    const h = start();
    h.engine.onBatch(hanoi, batch([], [success(T0, '198.51.100.21', 'admin')]));
    await h.engine.tick();
    expect(en().map((m) => m.parsed.subject)).toEqual(['[FIRING:1] Login succeeded after brute force — mc-portal-01 — Sở Thông tin và Truyền thông']);
    await h.advance(3 * MIN);
    // The alert of the rule is still open for the host; the new compromise is news.
    h.engine.onBatch(hanoi, batch([], [success(h.now(), '203.0.113.50', 'backup')]));
    await h.engine.tick();
    const mails = en();
    expect(mails).toHaveLength(2);
    expect(mails[1]!.parsed.text).toContain('login for backup from 203.0.113.50');
    expect(mails[1]!.parsed.text).toContain('Source IP: 203.0.113.50');
    expect(mails[1]!.parsed.text).toMatch(/\(new\): login for backup/);
    // The first one is still listed, as what the episode holds.
    expect(mails[1]!.parsed.text).toContain('Source IP: 198.51.100.21');
    expect(mailsTo('cntt@sotttt.gov.vn')).toHaveLength(2);
    expect(mailsTo('cntt@sotttt.gov.vn')[1]!.parsed.text).toContain(
      '(mới): Đăng nhập thành công vào backup từ 203.0.113.50 (password) sau 6 lần sai từ địa chỉ đó',
    );
  });

  it('the same event again (same address and account) is not news: no mail until repeat_interval', async () => {
    const h = start();
    h.engine.onBatch(hanoi, batch([], [success(T0, '198.51.100.21', 'admin')]));
    await h.engine.tick();
    await h.advance(MIN);
    h.engine.onBatch(hanoi, batch([], [{ ...success(h.now(), '198.51.100.21', 'admin'), message: 'again' }]));
    await h.advance(10 * MIN);
    expect(en()).toHaveLength(1);
  });

  it('an authorized_keys change while an /etc/passwd change keeps system_file_changed open is mailed after group_wait', async () => {
    const h = start();
    h.engine.onBatch(hanoi, batch([], [fileChange(T0, '/etc/passwd')]));
    await h.advance(40 * SEC);
    expect(en().map((m) => m.parsed.subject)).toEqual(['[FIRING:1] System file changed — mc-portal-01 — Sở Thông tin và Truyền thông']);
    await h.advance(MIN);
    h.engine.onBatch(hanoi, batch([], [fileChange(h.now(), '/root/.ssh/authorized_keys')]));
    // Batched within group_wait (30 s), well before group_interval (5 min) or repeat (4 h).
    await h.advance(20 * SEC);
    expect(en()).toHaveLength(1);
    await h.advance(20 * SEC);
    expect(en()).toHaveLength(2);
    const text = en()[1]!.parsed.text!;
    expect(text).toMatch(/\(new\): \/root\/\.ssh\/authorized_keys modified/);
    expect(text).toContain('/etc/passwd modified');
  });

  it('events arriving within group_wait go out in one mail, each with its evidence, bounded with "and N more"', async () => {
    const h = start();
    const paths = Array.from({ length: 14 }, (_, i) => `/etc/cron.d/job${i}`);
    h.engine.onBatch(hanoi, batch([], [fileChange(T0, '/etc/shadow'), fileChange(T0, '/etc/passwd'), fileChange(T0, '/etc/group')]));
    await h.advance(40 * SEC);
    expect(en()).toHaveLength(1);
    const first = en()[0]!.parsed.text!;
    for (const p of ['/etc/shadow', '/etc/passwd', '/etc/group']) expect(first).toContain(`Path: ${p}`);
    h.engine.onBatch(
      hanoi,
      batch(
        [],
        paths.map((p) => fileChange(h.now(), p)),
      ),
    );
    await h.advance(40 * SEC);
    expect(en()).toHaveLength(2);
    const text = en()[1]!.parsed.text!;
    // 17 distinct events; a mail lists 10 (the new ones first) and says how many more.
    expect(text).toContain('and 7 more');
    expect(text.match(/Path: \/etc\/cron\.d\/job/g)).toHaveLength(10);
    expect(mailsTo('cntt@sotttt.gov.vn')[1]!.parsed.text).toContain('và 7 sự kiện khác');
    expect(en()[1]!.parsed.html).toContain('and 7 more');
  });

  it('a new event of an alert held back by a silence is not mailed', async () => {
    const h = start();
    h.engine.onBatch(hanoi, batch([], [fileChange(T0, '/etc/passwd')]));
    await h.advance(40 * SEC);
    h.engine.store.addSilence({
      id: 's1',
      matchers: [{ name: 'host', op: '=', value: hanoi.host }],
      createdBy: 'an',
      comment: 'bảo trì',
      startsAt: h.now(),
      endsAt: h.now() + HOUR,
      createdAt: h.now(),
    });
    h.engine.onBatch(hanoi, batch([], [fileChange(h.now(), '/etc/sudoers')]));
    await h.advance(5 * MIN);
    expect(en()).toHaveLength(1);
  });
});

describe('late data', () => {
  it('an event seen after max_sample_age is still mailed, marked "detected late, happened at"; late samples are counted', async () => {
    const h = start({ rules: [{ name: 'disk_full', type: 'threshold', measurement: 'disk', field: 'used_percent', op: '>', value: 90, severity: 'high' }] });
    const happened = T0 - 7 * HOUR;
    h.engine.onBatch(hanoi, batch([disk(happened, '/', 99)], [success(happened, '198.51.100.21', 'admin')]));
    await h.engine.tick();
    expect(en()).toHaveLength(1);
    expect(en()[0]!.parsed.text).toContain('[detected late, happened at 2026-05-04 01:00:00 (GMT+7)]');
    expect(mailsTo('cntt@sotttt.gov.vn')[0]!.parsed.text).toContain('[phát hiện muộn, xảy ra lúc 01:00:00 ngày 04/05/2026 (GMT+7)]');
    // The old disk sample does not fire the state rule; it is counted and written.
    expect([...h.engine.tracker.alerts.values()].map((a) => a.rule)).toEqual(['brute_force_success']);
    expect(h.engine.late.counts).toEqual({ late_events: 1, late_samples_set_aside: 1 });
    expect(h.lines.filter((l) => l.startsWith('alert_engine,'))).toEqual([expect.stringMatching(/ late_events=1i,late_samples_set_aside=1i \d+$/)]);
    // The episode stays open from when it was seen, not resolved at once as "quiet".
    await h.advance(10 * MIN);
    expect([...h.engine.tracker.alerts.values()].map((a) => a.state)).toEqual(['firing']);
  });
});

describe('snmp_device_down (shipped rule)', () => {
  it('a device that stops answering SNMP for 2 minutes is mailed; one that answers again resolves', async () => {
    const h = start();
    const snmp = (at: number, code: number) => ({
      name: 'snmp',
      time: at,
      tags: { agent_host: '10.10.0.9' },
      fields: { result_code: code },
      int: ['result_code'],
    });
    await h.advance(MIN, (t) => h.engine.onBatch(hanoi, batch([snmp(t, 0)])));
    await h.advance(90 * SEC, (t) => h.engine.onBatch(hanoi, batch([snmp(t, 1)])));
    expect(en()).toHaveLength(0);
    await h.advance(80 * SEC, (t) => h.engine.onBatch(hanoi, batch([snmp(t, 1)])));
    expect(en().map((m) => m.parsed.subject)).toEqual(['[FIRING:1] Network device not answering SNMP — mc-portal-01 — Sở Thông tin và Truyền thông']);
    expect(en()[0]!.parsed.text).toContain('Device 10.10.0.9 (polled from mc-portal-01) does not answer SNMP');
    await h.advance(6 * MIN, (t) => h.engine.onBatch(hanoi, batch([snmp(t, 0)])));
    expect(en().at(-1)!.parsed.subject).toMatch(/^\[RESOLVED\]/);
  });
});

describe('late data is logged once per agent', () => {
  it('counts every late event and sample, logs the first of each kind per host', () => {
    const logged: { host: string; msg: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged.push(JSON.parse(chunk.toString()) as { host: string; msg: string });
        done();
      },
    });
    const late = new LateData(pino(sink), () => 900_000);
    late.event('web01', 1);
    late.event('web01', 1);
    late.samples('web01', 3);
    late.samples('web01', 0);
    late.event('mail01', 1);
    expect(late.counts).toEqual({ late_events: 3, late_samples_set_aside: 3 });
    expect(logged.map((l) => `${l.host}: ${l.msg.split(';')[0]}`)).toEqual([
      'web01: security events arrived later than max_sample_age',
      'web01: samples older than max_sample_age set aside for threshold rules (stored in InfluxDB, not evaluated',
      'mail01: security events arrived later than max_sample_age',
    ]);
    expect(late.line(1000)).toMatch(/^alert_engine,collector=\S+ late_events=3i,late_samples_set_aside=3i 1000$/);
    expect(late.line(2000)).toBeUndefined(); // unchanged: not written again
  });
});

describe('what makes an event distinct', () => {
  it('source, account, file, process and device make it new; counters and hashes do not', () => {
    const k = (ev: Record<string, string | number>, type = 'brute_force') => eventKey(event(T0, type, 'high', 'm', ev));
    expect(k({ src_ip: '198.51.100.1', total_failures: 5 })).toBe(k({ src_ip: '198.51.100.1', total_failures: 50, update: 'true' }));
    expect(k({ src_ip: '198.51.100.1' })).not.toBe(k({ src_ip: '198.51.100.2' }));
    expect(k({ src_ip: '198.51.100.1', user: 'a' })).not.toBe(k({ src_ip: '198.51.100.1', user: 'b' }));
    expect(k({ path: '/etc/passwd', new_sha256: 'aa' }, 'file_modified')).toBe(k({ path: '/etc/passwd', new_sha256: 'bb' }, 'file_modified'));
    expect(k({ exe: '/tmp/x', pid: 1 }, 'suspicious_process')).toBe(k({ exe: '/tmp/x', pid: 2 }, 'suspicious_process'));
    expect(k({ ip: '10.0.0.1', mac: '02:00:00:00:00:01' }, 'arp_spoofing')).not.toBe(k({ ip: '10.0.0.1', mac: '02:00:00:00:00:02' }, 'arp_spoofing'));
  });
});

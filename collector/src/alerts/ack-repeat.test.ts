// An acknowledgement stops the repeat mails of the alert it acknowledges (someone is on
// it), and only those: another alert of the same group still repeats, the resolution is
// still mailed, and a new distinct event of an acknowledged event rule's episode is still
// news (issue 18). The engine with an injected clock, mails as a real SMTP server got them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../../../test/helpers/smtp.ts';
import { batch, event, hanoi, harness, HOUR, MIN, ping, SEC, smtpSection, T0, type Harness } from './test-kit.ts';

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

const PING_RULE = {
  name: 'ping_loss',
  type: 'threshold',
  measurement: 'ping',
  field: 'percent_packet_loss',
  op: '>',
  value: 20,
  for: 0,
  group_by: ['host', 'url'],
  severity: 'high',
  title: { vi: 'Mất gói tin', en: 'Packet loss' },
  summary: { vi: 'Mất {{value}} gói tin tới {{url}}', en: '{{value}} packet loss to {{url}}' },
};

function start(extra: Record<string, unknown>): Harness {
  h = harness({
    agencies: { 'so-tttt': 'Sở Thông tin và Truyền thông' },
    recipients: [{ email: 'soc@tinh.gov.vn', language: 'en' }],
    smtp: smtpSection(smtp),
    grouping: { group_wait: '30s', group_interval: '5m', repeat_interval: '1h' },
    ...extra,
  });
  return h;
}

const texts = () => smtp.mails.map((m) => m.parsed.text ?? '');
const subjects = () => smtp.mails.map((m) => m.parsed.subject ?? '');

/** Wait for the mailer to hand what the dispatcher queued to the SMTP server. */
async function delivered(n: number): Promise<void> {
  for (let i = 0; i < 500 && smtp.mails.length < n; i++) await new Promise((r) => setTimeout(r, 10));
}

describe('an acknowledged alert', () => {
  it('sends no repeat mails; the group repeats what nobody acknowledged; the resolution is mailed', async () => {
    const h = start({ default_rules: false, rules: [PING_RULE] });
    const feed = (a: number, b: number) => (t: number) => h.engine.onBatch(hanoi, batch([ping(t, '10.0.0.1', a), ping(t, '10.0.0.2', b)]));
    await h.advance(MIN, feed(80, 80));
    await delivered(1);
    expect(subjects()).toEqual(['[FIRING:2] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông']);

    const [one, two] = h.engine.statusAlerts().sort((x, y) => x.id - y.id);
    const firstUrl = [...h.engine.tracker.alerts.values()].find((a) => a.id === one!.id)!.labels.url!;
    const otherUrl = firstUrl === '10.0.0.1' ? '10.0.0.2' : '10.0.0.1';
    h.engine.acknowledge(one!.id, 'Trần Thị Bình', 'đang gọi nhà mạng');

    // The repeat after repeat_interval names only the alert nobody acknowledged.
    await h.advance(HOUR + 5 * MIN, feed(80, 80));
    await delivered(2);
    expect(subjects()).toHaveLength(2);
    expect(subjects()[1]).toBe('[FIRING:1] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông');
    expect(texts()[1]).toContain(`packet loss to ${otherUrl}`);
    expect(texts()[1]).not.toContain(`packet loss to ${firstUrl}`);

    // A new alert in the group mails the group: the acknowledged one listed with who has it.
    await h.advance(6 * MIN, (t) => h.engine.onBatch(hanoi, batch([ping(t, '10.0.0.1', 80), ping(t, '10.0.0.2', 80), ping(t, '10.0.0.3', 80)])));
    await delivered(3);
    expect(subjects()[2]).toBe('[FIRING:3] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông');
    expect(texts()[2]).toMatch(/Acknowledged by: Trần Thị Bình, 2026-05-04 \d\d:\d\d:\d\d \(GMT\+7\)\n/);
    expect(texts()[2]!.match(/Acknowledged by:/g)).toHaveLength(1);
    const third = h.engine.statusAlerts().find((a) => a.id !== one!.id && a.id !== two!.id)!;
    h.engine.acknowledge(third.id, 'Trần Thị Bình', '');

    // All acknowledged: hours go by without a mail.
    h.engine.acknowledge(two!.id, 'Trần Thị Bình', '');
    const three = (a: number) => (t: number) => h.engine.onBatch(hanoi, batch([ping(t, '10.0.0.1', a), ping(t, '10.0.0.2', a), ping(t, '10.0.0.3', a)]));
    await h.advance(3 * HOUR, three(80));
    await new Promise((r) => setTimeout(r, 50));
    expect(subjects()).toHaveLength(3);

    // Recovery is still told.
    await h.advance(6 * MIN, three(0));
    await delivered(4);
    expect(subjects()).toHaveLength(4);
    expect(subjects()[3]).toBe('[RESOLVED] Packet loss — mc-portal-01 — Sở Thông tin và Truyền thông');
    expect(texts()[3]).toContain('RESOLVED (3)');
  });

  it('of an event rule: no repeat, but a new distinct event is still mailed, and so is the resolution', async () => {
    const h = start({});
    const success = (at: number, ip: string, user: string) => ({
      ...event(at, 'brute_force_success', 'critical', `login for ${user} from ${ip} after 6 failed attempts`, {
        src_ip: ip,
        user,
        method: 'password',
        failures: 6,
      }),
      detector: 'auth_log',
    });
    h.engine.onBatch(hanoi, batch([], [success(T0, '198.51.100.21', 'admin')]));
    await h.engine.tick();
    await delivered(1);
    expect(subjects()).toEqual(['[FIRING:1] Login succeeded after brute force — mc-portal-01 — Sở Thông tin và Truyền thông']);
    const [alert] = h.engine.statusAlerts();
    h.engine.acknowledge(alert!.id, 'Nguyễn Văn An', 'đã khoá tài khoản admin');

    // Past repeat_interval (1 h), within resolve_after (1 h after the last event): quiet.
    await h.advance(50 * MIN);
    h.engine.onBatch(hanoi, batch([], [{ ...success(h.now(), '198.51.100.21', 'admin'), message: 'the same again' }]));
    await h.advance(40 * MIN);
    await new Promise((r) => setTimeout(r, 50));
    expect(subjects()).toHaveLength(1);

    // Another account from another address: news, mailed at once (critical).
    h.engine.onBatch(hanoi, batch([], [success(h.now(), '203.0.113.50', 'backup')]));
    await h.advance(10 * SEC);
    await delivered(2);
    expect(subjects()).toHaveLength(2);
    expect(texts()[1]).toMatch(/\(new\): login for backup from 203\.0\.113\.50/);

    await h.advance(HOUR + 10 * MIN);
    await delivered(3);
    expect(subjects()).toHaveLength(3);
    expect(subjects()[2]).toMatch(/^\[RESOLVED\] Login succeeded after brute force — mc-portal-01/);
  });
});

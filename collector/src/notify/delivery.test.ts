// Mail delivery against a real SMTP server that goes down, refuses and comes back,
// and collector restarts mid-incident (a new engine on the same SQLite file).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSmtpServer, type TestSmtpServer } from '../../../test/helpers/smtp.ts';
import { batch, disk, event, hanoi, harness, HOUR, MIN, SEC, smtpSection, T0, type Harness } from '../alerts/test-kit.ts';
import { isPermanent } from './mailer.ts';

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
  smtp.setMode('accept');
});

function start(extra: Record<string, unknown> = {}): Harness {
  h = harness({
    recipients: [{ email: 'soc@tinh.gov.vn', language: 'vi' }],
    smtp: smtpSection(smtp, { retry: { min: '10s', max: '2m' } }),
    grouping: { group_wait: '30s', group_interval: '5m', repeat_interval: '4h' },
    ...extra,
  });
  return h;
}

const critical = (t: number) =>
  batch([], [event(t, 'brute_force_success', 'critical', 'root logged in from 203.0.113.7 after 900 failures', { src_ip: '203.0.113.7' })]);

describe('mail delivery', () => {
  it('SMTP down, collector restarted, SMTP up: the mail is delivered exactly once', async () => {
    let h = start();
    smtp.setMode('refuse'); // 421 at the greeting
    h.engine.onBatch(hanoi, critical(T0));
    await h.engine.tick();
    await h.advance(3 * MIN);
    expect(smtp.mails).toHaveLength(0);
    const queued = h.engine.store.mails('queued');
    expect(queued).toHaveLength(1);
    expect(queued[0]!.attempts).toBeGreaterThanOrEqual(3); // 10 s, 20 s, 40 s, 80 s (jittered, capped at 2 min)
    expect(queued[0]!.lastError).toContain('421');
    expect(smtp.failures).toBeGreaterThanOrEqual(3);

    await h.restart(); // the outbox is in SQLite: nothing lost
    h = h as Harness;
    await h.advance(2 * MIN);
    expect(smtp.mails).toHaveLength(0);
    smtp.setMode('accept');
    await h.advance(3 * MIN);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.parsed.subject).toBe('[FIRING:1] Cảnh báo: Đăng nhập thành công sau khi dò mật khẩu — mc-portal-01 — so-tttt');
    // The Date header says when the alert was queued, not when the relay came back.
    expect(smtp.mails[0]!.parsed.date?.getTime()).toBe(T0);
    await h.advance(30 * MIN);
    expect(smtp.mails).toHaveLength(1);
    expect(h.engine.store.mails('sent')).toHaveLength(1);
    expect(h.engine.store.mails('queued')).toHaveLength(0);
  });

  it('451 (try later) is retried; 550 (no such mailbox) is permanent, marked failed and not retried', async () => {
    const h = start({
      recipients: [
        { email: 'soc@tinh.gov.vn', language: 'vi' },
        { email: 'it@so-yte.gov.vn', language: 'en' },
      ],
    });
    smtp.setMode('tempfail');
    h.engine.onBatch(hanoi, critical(T0));
    await h.engine.tick();
    expect(h.engine.store.mails('queued').every((m) => m.attempts === 1 && m.lastError?.includes('451'))).toBe(true);
    smtp.setMode('reject');
    await h.advance(1 * MIN);
    expect(h.engine.store.mails('failed')).toHaveLength(2);
    expect(h.engine.store.mails('failed')[0]!.lastError).toContain('550');
    const failures = smtp.failures;
    smtp.setMode('accept');
    await h.advance(10 * MIN);
    expect(smtp.failures).toBe(failures);
    expect(smtp.mails).toHaveLength(0);
    expect(isPermanent(Object.assign(new Error('auth'), { code: 'EAUTH', responseCode: 535 }))).toBe(false);
    expect(isPermanent(Object.assign(new Error('refused'), { code: 'ECONNECTION' }))).toBe(false);
  });

  it('collector restart mid-incident: no resend, still firing, resolves later with one resolved mail', async () => {
    let h = start();
    const feed = (used: number) => (t: number) => h.engine.onBatch(hanoi, batch([disk(t, '/var', used)]));
    await h.advance(6 * MIN, feed(97));
    expect(smtp.mails.map((m) => m.parsed.subject)).toEqual(['[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — mc-portal-01 — so-tttt']);
    const firstFired = [...h.engine.tracker.alerts.values()][0]!;

    const engine = await h.restart();
    h = h as Harness;
    expect(engine.statusAlerts()).toMatchObject([{ rule: 'disk_full', host: 'mc-portal-01', since: firstFired.activeAt }]);
    await h.advance(30 * MIN, feed(97));
    expect(smtp.mails).toHaveLength(1); // nothing resent after the restart

    await h.restart();
    await h.advance(10 * MIN, feed(40));
    expect(smtp.mails.map((m) => m.parsed.subject)).toEqual([
      '[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — mc-portal-01 — so-tttt',
      '[RESOLVED] Đã khắc phục: Ổ đĩa sắp đầy — mc-portal-01 — so-tttt',
    ]);
    await h.advance(5 * HOUR, feed(40));
    expect(smtp.mails).toHaveLength(2);
  });

  it('agents connected before a restart must reconnect; those that do not are reported offline', async () => {
    let h = start({ recipients: [{ email: 'soc@tinh.gov.vn', language: 'en' }] });
    const other = { host: 'mc-portal-02', agency: 'so-tttt', site: 'dc' };
    h.engine.onAgentState(hanoi, true, T0);
    h.engine.onAgentState(other, true, T0);
    await h.advance(10 * SEC);
    await h.restart();
    h = h as Harness;
    h.engine.onAgentState(hanoi, true, h.now() + 5 * SEC); // reconnects; mc-portal-02 never does
    await h.advance(3 * MIN);
    expect(smtp.mails.map((m) => m.parsed.subject)).toEqual(['[FIRING:1] Agent offline — mc-portal-02 — so-tttt']);
    expect(smtp.mails[0]!.parsed.text).toContain('Host: mc-portal-02');
  });

  it('implicit TLS (port 465 style, security: tls) with AUTH', async () => {
    const server = await startSmtpServer({ implicitTls: true, auth: { user: 'canh', pass: 'pw' }, requireAuth: true });
    const dir = mkdtempSync(join(tmpdir(), 'canh-smtps-'));
    writeFileSync(join(dir, 'cert.pem'), server.certPem!);
    const port = server.port;
    try {
      const hh = harness(
        {
          recipients: [{ email: 'soc@tinh.gov.vn', language: 'en' }],
          smtp: {
            host: '127.0.0.1',
            port,
            security: 'tls',
            tls: { ca_file: join(dir, 'cert.pem') },
            auth: { user: 'canh', password: { env: 'PW' } },
            from: 'canh@tinh.gov.vn',
          },
        },
        { env: { PW: 'pw' } },
      );
      h = hh;
      hh.engine.onBatch(hanoi, critical(T0));
      await hh.engine.tick();
      expect(server.mails.map((m) => [m.parsed.subject, m.secure, m.user])).toEqual([
        ['[FIRING:1] Login succeeded after brute force — mc-portal-01 — so-tttt', true, 'canh'],
      ]);
    } finally {
      await h?.engine.stop(); // closes the pooled connection, so the server can close
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The end-to-end case, literally: a brute-force burst appended to the auth log
// of an agent host becomes an alert e-mail in a real SMTP server, through the real
// auth_log detector, the agent's spool and WebSocket, the collector's alert engine and
// nodemailer. Prints the time from the last log line to the mail being accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp.ts';

let smtp: TestSmtpServer;
let p: Pipeline;
const dir = mkdtempSync(join(tmpdir(), 'canh-bruteforce-'));
const log = join(dir, 'auth.log');

beforeAll(async () => {
  smtp = await startSmtpServer();
  writeFileSync(log, 'Nov 27 08:00:00 portal sshd[100]: Server listening on 0.0.0.0 port 22.\n');
  p = await startPipeline({
    collector: {
      alerting: {
        agencies: { 'ubnd-tinh': 'Ủy ban nhân dân tỉnh' },
        recipients: [{ email: 'it@ubnd.tinh.gov.vn', language: 'en' }],
        smtp: { host: smtp.host, port: smtp.port, security: 'none', from: 'Canh <canh@tinh.gov.vn>' },
        grouping: { group_wait: '1s', group_interval: '5s' },
        evaluation_interval: 200,
      },
    },
  });
  const h = await p.addAgent({
    name: 'portal-01',
    agency: 'ubnd-tinh',
    site: 'dc',
    detectors: [{ type: 'auth_log', path: log, timezone: 'Asia/Ho_Chi_Minh' }],
  });
  // The follower starts at the end of the file on its first run and records its
  // position; lines appended after that are new.
  const deadline = Date.now() + 30_000; // room for a loaded machine (was 10 s)
  const position = () => readdirSync(h.stateDir).some((f) => f.startsWith('tail-'));
  while (!position() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(position()).toBe(true);
}, 60_000);

afterAll(async () => {
  await p?.stop();
  await smtp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('brute force → e-mail', () => {
  it('a burst of failed SSH logins on an agent host is mailed to the agency', async () => {
    const stamp = new Intl.DateTimeFormat('en-US', {
      month: 'short',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
      timeZone: 'Asia/Ho_Chi_Minh',
    })
      .format(new Date())
      .replace(',', '')
      .replace(/^(\w{3}) 0?(\d+)/, (_m, mon: string, d: string) => `${mon} ${d.padStart(2, ' ')}`);
    const lines = Array.from(
      { length: 8 },
      (_, i) => `${stamp} portal sshd[${2000 + i}]: Failed password for root from 203.0.113.77 port ${40000 + i} ssh2\n`,
    ).join('');
    const t0 = Date.now();
    appendFileSync(log, lines);
    const mail = await smtp.waitForMail((m) => /Brute-force attack/.test(m.parsed.subject ?? ''), 30_000);
    console.log(`[brute force e2e] last log line → mail accepted: ${mail.receivedAt.getTime() - t0} ms`);
    expect(mail.envelope.to).toEqual(['it@ubnd.tinh.gov.vn']);
    expect(mail.parsed.subject).toContain('Ủy ban nhân dân tỉnh');
    expect(mail.parsed.text).toContain('portal-01');
    expect(mail.parsed.text).toContain('203.0.113.77');
    const rows = await p.waitFor(`SELECT "count", "src_ip" FROM security_event WHERE "type" = 'brute_force'`, (r) => r.length > 0);
    expect(rows[0]).toMatchObject({ src_ip: '203.0.113.77' });
  }, 45_000);
});

// End to end: a real agent's file_integrity detector sees a web page defaced, its batch
// crosses the WebSocket to the collector, the alert engine fires on the stream and the
// mail reaches a real SMTP server (STARTTLS) — then the agent stops and "agent offline"
// follows. Also: the `alert` measurement reaches InfluxDB for Grafana annotations.
// Prints the latency from the batch reaching the collector to the mail being accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, type AgentHandle, type Pipeline } from './helpers/pipeline.ts';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp.ts';

let smtp: TestSmtpServer;
let p: Pipeline;
let agent: AgentHandle;
const dir = mkdtempSync(join(tmpdir(), 'canh-alerting-e2e-'));
const www = join(dir, 'www');
const arrivals: { at: number; types: string[] }[] = [];

beforeAll(async () => {
  smtp = await startSmtpServer({ starttls: true, auth: { user: 'canh', pass: 'smtp-secret' }, requireAuth: true });
  writeFileSync(join(dir, 'ca.pem'), smtp.certPem!);
  mkdirSync(join(www, 'static'), { recursive: true });
  writeFileSync(join(www, 'static', 'index.html'), '<h1>Cổng thông tin điện tử tỉnh</h1>\n');
  process.env.CANH_TEST_SMTP_PASSWORD = 'smtp-secret';
  p = await startPipeline({
    collector: {
      alerting: {
        grafana_url: 'https://grafana.tinh.gov.vn',
        agencies: { 'so-tttt': 'Sở Thông tin và Truyền thông' },
        // Shorter than the shipped 2 minutes so the test need not wait.
        rules: [
          {
            name: 'agent_offline',
            type: 'absence',
            measurement: 'agent',
            for: '2s',
            severity: 'high',
            title: { vi: 'Mất kết nối với agent', en: 'Agent offline' },
          },
        ],
        recipients: [{ email: 'soc@tinh.gov.vn', language: 'vi' }],
        smtp: {
          host: smtp.host,
          port: smtp.port,
          security: 'starttls',
          tls: { ca_file: join(dir, 'ca.pem') },
          auth: { user: 'canh', password: { env: 'CANH_TEST_SMTP_PASSWORD' } },
          from: 'Canh <canh@tinh.gov.vn>',
        },
        // group_wait long enough that a critical mail sent at once is told apart from one
        // held for it on however loaded a machine (the offline mail below waits it out).
        grouping: { group_wait: '10s', group_interval: '5s' },
        evaluation_interval: 200,
      },
    },
    hooks: {
      onBatch: (_id, _agent, batch) => {
        if (batch.events.length) arrivals.push({ at: Date.now(), types: batch.events.map((e) => e.type) });
      },
    },
  });
  agent = await p.addAgent({
    name: 'mc-portal-01',
    agency: 'so-tttt',
    site: 'dc',
    detectors: [{ type: 'file_integrity', paths: [], web_roots: [www], static_paths: ['static'], debounce: '100ms', scan_interval: '2s' }],
  });
  // The first scan only records the baseline.
  const baseline = join(agent.stateDir, 'baseline-file_integrity.json');
  const deadline = Date.now() + 15_000;
  while (!existsSync(baseline) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(existsSync(baseline)).toBe(true);
}, 60_000);

afterAll(async () => {
  await p?.stop();
  await smtp?.stop();
  delete process.env.CANH_TEST_SMTP_PASSWORD;
  rmSync(dir, { recursive: true, force: true });
});

describe('alerting end to end', () => {
  it('a defaced static page on an agent host becomes a Vietnamese alert mail at once, not after group_wait', async () => {
    const changedAt = Date.now();
    writeFileSync(join(www, 'static', 'index.html'), '<h1>Hacked</h1>\n');
    const mail = await smtp.waitForMail((m) => (m.parsed.subject ?? '').includes('Nghi ngờ website bị thay đổi giao diện'), 20_000);
    const arrival = arrivals.find((a) => a.types.includes('possible_defacement'))!;
    expect(arrival).toBeDefined();
    const batchToMail = mail.receivedAt.getTime() - arrival.at;
    console.log(
      `[alerting e2e] file changed → batch at collector: ${arrival.at - changedAt} ms (detector debounce 100 ms); ` +
        `batch at collector → mail accepted by SMTP: ${batchToMail} ms; file changed → mail: ${mail.receivedAt.getTime() - changedAt} ms`,
    );
    // Critical: no group_wait. Sent before the 10 s group_wait could have ended (a relation,
    // not a speed goal: the time itself is printed above; it was a 3 s bound).
    expect(batchToMail).toBeLessThan(10_000);
    expect(mail.secure).toBe(true);
    expect(mail.parsed.subject).toBe('[FIRING:1] Cảnh báo: Nghi ngờ website bị thay đổi giao diện — mc-portal-01 — Sở Thông tin và Truyền thông');
    const text = mail.parsed.text!;
    expect(text).toContain('mức độ: nghiêm trọng');
    expect(text).toContain('Máy chủ: mc-portal-01');
    expect(text).toContain(`Đường dẫn: ${join(www, 'static', 'index.html')}`);
    expect(text).toContain('https://grafana.tinh.gov.vn/d/canh-security-vi?var-agency=so-tttt&var-host=mc-portal-01');
    expect(mail.parsed.html).toContain('Cơ quan');

    const rows = await p.waitFor(`SELECT "state", "summary" FROM "alert" WHERE "rule" = 'possible_defacement'`, (r) => r.length > 0);
    expect(rows[0]).toMatchObject({ state: 'firing' });
    const tagged = await p.query(
      `SELECT "state" FROM "alert" WHERE "rule" = 'possible_defacement' AND "agency" = 'so-tttt' AND "host" = 'mc-portal-01' AND "severity" = 'critical'`,
    );
    expect(tagged).toHaveLength(1);
  }, 30_000);

  it('the agent going away is an "agent offline" mail from the receiver\'s connection state', async () => {
    await agent.stop();
    // for (2 s) and group_wait (10 s), with room for a loaded machine.
    const mail = await smtp.waitForMail((m) => (m.parsed.subject ?? '').includes('Mất kết nối với agent'), 45_000);
    expect(mail.parsed.subject).toBe('[FIRING:1] Cảnh báo: Mất kết nối với agent — mc-portal-01 — Sở Thông tin và Truyền thông');
    expect(p.collector.alerts!.statusAlerts().map((a) => a.rule)).toContain('agent_offline');
  }, 60_000);
});

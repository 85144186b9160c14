// bench:alert — time from a brute-force burst appended to an agent host's auth log to
// the alert e-mail accepted by a local SMTP server: p50 and p99 over BENCH_ALERT_RUNS
// (default 50) runs; target p99 < 2 s. Real processes: influxd, the collector by its CLI
// (alerting with a critical event rule, so no group wait), canh-agent by its CLI with the
// auth_log detector at its shipped defaults, and an SMTP server (smtp-server) here.
// Baseline of the same run: the same mail path without the agent — nodemailer straight
// to the same SMTP server — so the ratio shows what detection and transport add.
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { startInfluxd } from '../test/helpers/influxd.ts';
import { startSmtpServer } from '../test/helpers/smtp.ts';
import { freePort } from '../test/helpers/ports.ts';
import { spawnManaged } from '../test/helpers/process.ts';
import { registerAgents, root, sleep, startCollector } from './lib/harness.ts';
import { envInt, finish, fmt } from './lib/proc.ts';

const RUNS = envInt('BENCH_ALERT_RUNS', 50);

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function syslogStamp(d: Date): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
    timeZone: 'Asia/Ho_Chi_Minh',
  }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('month')} ${get('day').padStart(2, ' ')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canh-bench-alert-'));
  const influx = await startInfluxd();
  const smtp = await startSmtpServer();
  const port = await freePort();
  const stateDir = join(dir, 'collector');
  const [agent] = registerAgents(stateDir, 1, 'portal');
  const collector = await startCollector(
    dir,
    {
      listen: { host: '127.0.0.1', port },
      state_dir: stateDir,
      log_level: 'warn',
      influx: { url: influx.url, database: 'canh' },
      alerting: {
        default_rules: false,
        rules: [
          {
            name: 'bench_brute_force',
            type: 'event',
            event_types: ['brute_force'],
            severity: 'critical',
            group_by: ['src_ip'],
            title: { vi: 'Tấn công dò mật khẩu', en: 'Brute-force attack' },
          },
        ],
        // One notification group per source address: each run is a new incident, mailed at once.
        grouping: { group_by: ['agency', 'rule', 'src_ip'] },
        recipients: [{ email: 'soc@tinh.gov.vn', language: 'en' }],
        smtp: { host: smtp.host, port: smtp.port, security: 'none', from: 'Canh <canh@tinh.gov.vn>' },
      },
    },
    { port },
  );
  const log = join(dir, 'auth.log');
  writeFileSync(log, '');
  writeFileSync(join(dir, 'token'), agent!.token);
  writeFileSync(
    join(dir, 'agent.yaml'),
    `collector: { url: "${collector.url}", token_file: ${join(dir, 'token')} }
agent: { state_dir: ${join(dir, 'agent')}, hostname: bench, log_level: warn }
inputs: []
detectors:
  - type: auth_log
    path: ${log}
`,
  );
  const agentProc = spawnManaged(process.execPath, [join(root, 'agent/src/cli.ts'), 'run', '--config', join(dir, 'agent.yaml')], { name: 'agent' });
  // Wait until the follower has recorded where the log ends (it starts there).
  const positioned = () => existsSync(join(dir, 'agent')) && readdirSync(join(dir, 'agent')).some((f) => f.startsWith('tail-'));
  for (let i = 0; i < 400 && !positioned(); i++) await sleep(50);
  if (!positioned()) throw new Error(`the agent did not start following the log:\n${agentProc.describe()}`);

  const latencies: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const ip = `203.0.${113 + Math.floor(run / 250)}.${(run % 250) + 1}`;
      const lines = Array.from(
        { length: 6 },
        (_, i) => `${syslogStamp(new Date())} portal sshd[${3000 + run * 10 + i}]: Failed password for root from ${ip} port ${50000 + i} ssh2\n`,
      ).join('');
      const t0 = Date.now();
      appendFileSync(log, lines);
      const mail = await smtp.waitForMail((m) => (m.parsed.text ?? '').includes(ip), 20_000);
      latencies.push(mail.receivedAt.getTime() - t0);
      await sleep(100);
    }
  } finally {
    await agentProc.stop();
    await collector.proc.stop();
  }

  // Baseline: the same SMTP server, a mail sent directly (no agent, no collector).
  const direct: number[] = [];
  const transport = createTransport({ host: smtp.host, port: smtp.port, secure: false, ignoreTLS: true, pool: true });
  for (let run = 0; run < RUNS; run++) {
    const t0 = Date.now();
    await transport.sendMail({ from: 'canh@tinh.gov.vn', to: 'soc@tinh.gov.vn', subject: `direct ${run}`, text: 'x' });
    const mail = await smtp.waitForMail((m) => m.parsed.subject === `direct ${run}`, 10_000);
    direct.push(mail.receivedAt.getTime() - t0);
  }
  transport.close();
  await smtp.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });

  const p50 = pct(latencies, 50);
  const p99 = pct(latencies, 99);
  finish(
    'bench:alert',
    [
      `runs ${RUNS}: 6 failed SSH logins from a new address appended to the auth log → alert mail accepted (shipped defaults: auth_log is told of appends by inotify, and polls every 1 s where it cannot be; events leave the agent at once)`,
      `burst → mail: p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms, max ${fmt(Math.max(...latencies))} ms`,
      `baseline (nodemailer straight to the same SMTP server): p50 ${fmt(pct(direct, 50))} ms, p99 ${fmt(pct(direct, 99))} ms`,
      `what detection and transport add at p50: ${fmt(p50 - pct(direct, 50))} ms`,
    ],
    [{ what: 'p99 burst → mail < 2000 ms', ok: p99 < 2000 }],
  );
}

main().catch((err: unknown) => {
  console.error(err);
  console.log('RESULT bench:alert: could not run');
  process.exitCode = 2;
});

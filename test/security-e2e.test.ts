// Security events are never lost, never muted (issue 18), end to end: a real agent with
// its detectors, the collector with the shipped rule pack, a real InfluxDB and a real SMTP
// server. Each step is a real action or log line; it must give exactly one stored point
// and exactly one mail announcing it (the mail marks it "new"), also while another alert
// of the same rule is open. Prints a table: event type, stored, mailed, latency.
// `npm run test:security-e2e` runs this file alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { encode, PROTOCOL_VERSION, type SecurityEvent } from '@canh/protocol';
import { startPipeline, type Pipeline, type Row } from './helpers/pipeline.ts';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from './helpers/smtp.ts';
import { freePort } from './helpers/ports.ts';
import { until } from '../agent/src/detectors/testing.ts';

const GROUP_WAIT_MS = 2000;
const TO = 'soc@tinh.gov.vn';

let smtp: TestSmtpServer;
let p: Pipeline;
let dir: string;
let stateDir: string;
const files = {} as Record<'log' | 'passwd' | 'group' | 'etc' | 'www' | 'sus', string>;
let backdoor = 0;
let listener: Server | undefined;
let child: ChildProcess | undefined;

beforeAll(async () => {
  smtp = await startSmtpServer();
  dir = mkdtempSync(join(tmpdir(), 'canh-security-e2e-'));
  files.log = join(dir, 'auth.log');
  files.passwd = join(dir, 'passwd');
  files.group = join(dir, 'group');
  files.etc = join(dir, 'etc');
  files.www = join(dir, 'www');
  files.sus = join(dir, 'sus');
  for (const d of [files.etc, join(files.etc, '.ssh'), join(files.www, 'static'), files.sus]) mkdirSync(d, { recursive: true });
  writeFileSync(files.log, '');
  writeFileSync(files.passwd, 'root:x:0:0:root:/root:/bin/bash\nan:x:1000:1000:An:/home/an:/bin/bash\n');
  writeFileSync(files.group, 'root:x:0:\nsudo:x:27:\nan:x:1000:\n');
  writeFileSync(join(files.etc, 'hosts.allow'), 'sshd: 10.0.0.0/8\n');
  writeFileSync(join(files.etc, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAAC3Nza an@laptop\n');
  writeFileSync(join(files.www, 'static', 'logo.svg'), '<svg/>\n');
  backdoor = await freePort('tcp');
  steps.find((s) => s.type === 'new_listening_port')!.marker = `:${backdoor} `;
  p = await startPipeline({
    collector: {
      alerting: {
        agencies: { 'so-tttt': 'Sở Thông tin và Truyền thông' },
        recipients: [{ email: TO, language: 'en' }],
        smtp: { host: smtp.host, port: smtp.port, security: 'none', from: 'Canh <canh@tinh.gov.vn>' },
        // group_interval and repeat are long: a new event must not wait for them.
        grouping: { group_wait: `${GROUP_WAIT_MS}ms`, group_interval: '5m', repeat_interval: '4h' },
        evaluation_interval: 200,
      },
    },
  });
  const agent = await p.addAgent({
    name: 'web01',
    agency: 'so-tttt',
    site: 'dc1',
    detectors: [
      {
        type: 'auth_log',
        path: files.log,
        poll_interval: '100ms',
        threshold: 3,
        privileged_users: ['operator'],
        // Never working hours: any privileged login is off hours, whatever the clock says.
        work_hours: { days: [] },
      },
      { type: 'accounts', passwd_file: files.passwd, group_file: files.group },
      { type: 'file_integrity', paths: [files.etc], web_roots: [files.www], static_paths: ['static'], debounce: '100ms' },
      { type: 'listening_ports', backdoor_ports: [backdoor], grace_intervals: 0, protocols: ['tcp', 'tcp6'] },
      { type: 'suspicious_process', dirs: [files.sus] },
    ],
  });
  stateDir = agent.stateDir;
  // Every baseline taken, and the log followed from its end, before anything happens.
  const ready = () =>
    ['accounts', 'file_integrity', 'listening_ports'].every((n) => existsSync(join(stateDir, `baseline-${n}.json`)));
  expect(await until(ready, 30_000)).toBe(true);
}, 90_000);

afterAll(async () => {
  listener?.close();
  child?.kill('SIGKILL');
  await p?.stop();
  await smtp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const iso = (t = Date.now()) => new Date(t).toISOString();
const authLine = (text: string, t?: number) => appendFileSync(files.log, `${iso(t)} web01 ${text}\n`);

interface Step {
  name: string;
  type: string;
  /** Rule title (English) the mail's subject carries. */
  title: string;
  critical?: boolean;
  act(): void | Promise<void>;
  /** Which stored point is this step's event. */
  point(r: Row): boolean;
  /** A text only this event's message holds. */
  marker: string;
}

/** Lines of a mail that announce an event as new. */
const announced = (m: ReceivedMail, s: Step) =>
  (m.parsed.subject ?? '').includes(s.title) && (m.parsed.text ?? '').split('\n').some((l) => l.includes('(new):') && l.includes(s.marker));

async function stored(s: Step): Promise<number> {
  return (await p.query(`SELECT * FROM security_event WHERE "type" = '${s.type}' AND "host" = 'web01'`)).filter(s.point).length;
}

const failures = (ip: string, user: string, n: number) => {
  for (let i = 0; i < n; i++) authLine(`sshd[${3000 + i}]: Failed password for ${user} from ${ip} port ${41000 + i} ssh2`);
};

const steps: Step[] = [
  {
    name: 'brute_force',
    type: 'brute_force',
    title: 'Brute-force attack',
    act: () => failures('198.51.100.21', 'admin', 3),
    point: (r) => r.src_ip === '198.51.100.21',
    marker: '198.51.100.21',
  },
  {
    name: 'brute_force_success',
    type: 'brute_force_success',
    title: 'Login succeeded after brute force',
    critical: true,
    act: () => authLine('sshd[3100]: Accepted password for admin from 198.51.100.21 port 41100 ssh2'),
    point: (r) => r.src_ip === '198.51.100.21',
    marker: 'as admin from 198.51.100.21',
  },
  {
    name: 'brute_force_success, rule open',
    type: 'brute_force_success',
    title: 'Login succeeded after brute force',
    critical: true,
    act: () => {
      failures('203.0.113.50', 'backup', 3);
      authLine('sshd[3200]: Accepted password for backup from 203.0.113.50 port 41200 ssh2');
    },
    point: (r) => r.src_ip === '203.0.113.50',
    marker: 'as backup from 203.0.113.50',
  },
  {
    name: 'off_hours_privileged_login',
    type: 'off_hours_privileged_login',
    title: 'Unusual use of administrator rights',
    act: () => authLine('sshd[3300]: Accepted publickey for operator from 192.0.2.10 port 41300 ssh2'),
    point: (r) => r.user === 'operator',
    marker: 'operator from 192.0.2.10',
  },
  {
    name: 'account_created (auth log)',
    type: 'account_created',
    title: 'Account or group changed',
    act: () => authLine('useradd[3400]: new user: name=eve, UID=1001, GID=1001, home=/home/eve, shell=/bin/bash'),
    point: (r) => r.user === 'eve',
    marker: '"eve" was created',
  },
  {
    name: 'sudo_not_allowed',
    type: 'sudo_not_allowed',
    title: 'Unusual use of administrator rights',
    act: () => authLine('sudo:      eve : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/eve ; USER=root ; COMMAND=/bin/bash'),
    point: (r) => r.user === 'eve',
    marker: '"eve" tried to run',
  },
  {
    name: 'group_changed (privileged)',
    type: 'group_changed',
    title: 'Account or group changed',
    act: () => authLine('gpasswd[3450]: user eve added by root to group sudo'),
    point: (r) => r.user === 'eve',
    marker: 'changed for "eve"',
  },
  {
    name: 'account_deleted',
    type: 'account_deleted',
    title: 'Account or group changed',
    act: () => authLine("userdel[3460]: delete user 'eve'"),
    point: (r) => r.user === 'eve',
    marker: '"eve" was deleted',
  },
  {
    name: 'uid0_account',
    type: 'uid0_account',
    title: 'New privileged account',
    critical: true,
    act: () => appendFileSync(files.passwd, 'toor:x:0:0::/root:/bin/sh\n'),
    point: (r) => r.user === 'toor',
    marker: '"toor"',
  },
  {
    name: 'privileged_group_member_added',
    type: 'privileged_group_member_added',
    title: 'New privileged account',
    act: () => writeFileSync(files.group, 'root:x:0:\nsudo:x:27:an\nan:x:1000:\n'),
    point: (r) => r.user === 'an' && r.group === 'sudo',
    marker: '"an" added',
  },
  {
    name: 'file_modified',
    type: 'file_modified',
    title: 'System file changed',
    act: () => writeFileSync(join(files.etc, 'hosts.allow'), 'sshd: ALL\n'),
    point: (r) => String(r.path).endsWith('hosts.allow'),
    marker: 'hosts.allow',
  },
  {
    name: 'file_modified, rule open',
    type: 'file_modified',
    title: 'System file changed',
    act: () => appendFileSync(join(files.etc, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAAC3Nzb attacker@evil\n'),
    point: (r) => String(r.path).endsWith('authorized_keys'),
    marker: 'authorized_keys',
  },
  {
    name: 'possible_defacement (static)',
    type: 'possible_defacement',
    title: 'Possible website defacement',
    critical: true,
    act: () => writeFileSync(join(files.www, 'static', 'logo.svg'), '<svg><text>hacked</text></svg>\n'),
    point: (r) => String(r.path).endsWith('logo.svg'),
    marker: 'logo.svg',
  },
  {
    name: 'new_listening_port (backdoor)',
    type: 'new_listening_port',
    title: 'New listening port',
    act: () =>
      new Promise<void>((resolve) => {
        listener = createServer((s) => s.destroy()).listen(backdoor, '0.0.0.0', () => resolve());
      }),
    point: (r) => Number(r.port) === backdoor,
    marker: 'set once the port is chosen',
  },
  {
    name: 'suspicious_process',
    type: 'suspicious_process',
    title: 'Suspicious process',
    act: () => {
      const exe = join(files.sus, 'kdevtmpfsi');
      copyFileSync('/bin/sleep', exe);
      child = spawn(exe, ['60'], { stdio: 'ignore' });
    },
    point: (r) => String(r.exe).includes('kdevtmpfsi'),
    marker: 'kdevtmpfsi',
  },
  {
    // An auth log line read 30 minutes after it happened (a backlog): stored, still mailed, marked late.
    name: 'account_created, 30 min late',
    type: 'account_created',
    title: 'Account or group changed',
    act: () => authLine('useradd[3500]: new user: name=mallory, UID=1002, GID=1002, home=/home/mallory, shell=/bin/bash', Date.now() - 30 * 60_000),
    point: (r) => r.user === 'mallory',
    marker: '"mallory" was created',
  },
];

interface Result {
  step: Step;
  stored: number;
  mailed: number;
  latencyMs: number | null;
}

describe('security events end to end: stored once, mailed once', () => {
  const results: Result[] = [];

  it('two different events in one second across batches are two points; a batch sent twice is stored once', async () => {
    const { token } = p.collector.registry.add({ name: 'raw01', agency: 'so-tttt', site: 'dc1' });
    const ws = new WebSocket(p.url, { headers: { authorization: `Bearer ${token}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => ws.send(encode({ type: 'hello', protocol: PROTOCOL_VERSION, agent_version: 'raw', hostname: 'raw01', os: 'test', spool_batches: 0, dropped_points: 0 })));
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });
    const acks: number[] = [];
    ws.on('message', (m) => acks.push((JSON.parse(String(m)) as { seq: number }).seq));
    // Whole-second times, as syslog gives them: the issue's observation, literally.
    const second = Math.floor(Date.now() / 1000) * 1000;
    const bf = (ip: string): SecurityEvent => ({
      time: second,
      detector: 'auth_log',
      type: 'brute_force',
      severity: 'high',
      mitre: 'T1110.001',
      message: `Brute-force attack: 5 failed logins from ${ip} within 10m for root`,
      evidence: { src_ip: ip, users: 'root', user_count: 1, total_failures: 5 },
      count: 5,
    });
    const send = (seq: number, events: SecurityEvent[]) => ws.send(encode({ type: 'batch', seq, points: [], events }));
    send(1, [bf('198.51.100.121')]);
    send(2, [bf('198.51.100.122')]);
    send(1, [bf('198.51.100.121')]); // the agent resends a batch whose ack it did not see
    expect(await until(() => acks.length === 3, 15_000)).toBe(true);
    const rows = await p.query(`SELECT * FROM security_event WHERE "host" = 'raw01'`);
    ws.close();
    expect(rows.map((r) => r.src_ip).sort()).toEqual(['198.51.100.121', '198.51.100.122']);
    for (const r of rows) expect(Math.floor(Number(r.time) / 1000) * 1000).toBe(second);
  });

  it('each real action or log line: exactly one stored point and one mail, also while an alert of the rule is open', async () => {
    for (const s of steps) {
      const before = smtp.mails.length;
      const t0 = Date.now();
      await s.act();
      const mail = await smtp.waitForMail((m) => announced(m, s), 30_000).catch(() => undefined);
      await p.waitFor(`SELECT * FROM security_event WHERE "type" = '${s.type}'`, (r) => r.filter(s.point).length > 0, 15_000).catch(() => []);
      results.push({ step: s, stored: 0, mailed: 0, latencyMs: mail ? mail.receivedAt.getTime() - t0 : null });
      if (!mail) console.log(`[security-e2e] ${s.name}: no mail; mails since the step: ${smtp.mails.slice(before).map((m) => `${m.parsed.subject}\n${m.parsed.text}`).join('\n---\n')}`);
    }
    // Anything sent twice would have arrived by now (a group's next look is 200 ms away).
    await new Promise((r) => setTimeout(r, GROUP_WAIT_MS + 1000));
    for (const r of results) {
      r.stored = await stored(r.step);
      r.mailed = smtp.mails.filter((m) => m.envelope.to.includes(TO) && announced(m, r.step)).length;
    }
    const rows = results.map((r) => {
      const bound = r.step.critical ? 5000 : GROUP_WAIT_MS + 5000;
      return `| ${r.step.name.padEnd(32)} | ${String(r.stored).padStart(6)} | ${String(r.mailed).padStart(6)} | ${(r.latencyMs === null ? '—' : `${r.latencyMs} ms`).padStart(9)} | ${r.latencyMs !== null && r.latencyMs <= bound ? 'yes' : 'no '} (${bound / 1000} s) |`;
    });
    console.log(
      ['', '| event type                       | stored | mailed |   latency | within bound |', '|---|---|---|---|---|', ...rows].join('\n'),
    );
    expect(results.map((r) => `${r.step.name}: ${r.stored}/${r.mailed}`)).toEqual(steps.map((s) => `${s.name}: 1/1`));
    // The backlog event says when it happened.
    const late = smtp.mails.find((m) => announced(m, steps.at(-1)!));
    expect(late?.parsed.text).toContain('detected late, happened at');
  }, 240_000);
});

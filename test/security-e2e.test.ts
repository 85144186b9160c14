// Security events are never lost, never muted (issue 18), end to end: real agents with
// their detectors, the collector with the shipped rule pack, a real InfluxDB and a real
// SMTP server. Each step is a real action or log line; it must give exactly one stored
// point and exactly one mail announcing it (the mail marks it "new"), also while another
// alert of the same rule is open. Prints a table: event type, stored, mailed, latency.
// `npm run test:security-e2e` runs this file alone.
//
// Six hosts in five tracks run at once (a track's steps run in order):
// - web01, an in-process agent: auth_log, accounts, file_integrity, listening_ports,
//   suspicious_process, each driven by a real log line, file change, socket or process.
// - dc01, an in-process agent with windows_eventlog: its OS source, wevtutil, is the one
//   stand-in (a script answering wevtutil's queries from an event file the test appends
//   Security-log events to); everything after it is the real detector and pipeline.
// - lan01, a real agent process whose lan_devices reads the neighbour table of a network
//   namespace the test builds (HOST_PROC=/proc/<a process in it>): a new host appears,
//   then the default gateway's MAC changes — real ARP in real kernels.
// - utc01 and hcm01, real agent processes with TZ=UTC and TZ=Asia/Ho_Chi_Minh, reading
//   zone-less syslog lines written by `date` in the same zone: each event must be stored
//   at the instant it happened and mailed.
// - late01, a real agent process under libfaketime: it runs at a wall clock 30 minutes
//   behind, stops, a writer under the same clock logs an attack and then four slow
//   failures over the next 28 minutes of that clock (the clock stepped forward between
//   them), and the agent starts again at the real time: a 30-minute outage as the agent
//   and the log see it. The collector runs at the real time throughout, so it sees what
//   it sees after a real outage — events dated 30 minutes back arriving now — while its
//   own uptime, liveness and offline alerts are not part of this test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { encode, PROTOCOL_VERSION, type SecurityEvent } from '@canh/protocol';
import { startPipeline, type Pipeline, type Row } from './helpers/pipeline.ts';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from './helpers/smtp.ts';
import { freePort } from './helpers/ports.ts';
import { realAgent, type RealAgent } from './helpers/real-agent.ts';
import { fakeClock, type FakeClock } from './helpers/faketime.ts';
import { until } from '../agent/src/detectors/testing.ts';

const GROUP_WAIT_MS = 2000;
const TO = 'soc@tinh.gov.vn';
const WIN_DATA = join(import.meta.dirname, '..', 'agent/src/detectors/windows_eventlog/testdata');

let smtp: TestSmtpServer;
let p: Pipeline;
let dir: string;
let stateDir: string;
const files = {} as Record<'log' | 'passwd' | 'group' | 'etc' | 'www' | 'sus' | 'winEvents' | 'utcLog' | 'hcmLog' | 'lateLog', string>;
let backdoor = 0;
let listener: Server | undefined;
let child: ChildProcess | undefined;
const real: RealAgent[] = [];
let sleeper: ChildProcess | undefined;
let lateClock: FakeClock;
let late: RealAgent;

// Network namespaces for lan01: "host" (where its detector looks), "gw" (the default
// gateway) and "pc" (a device that joins later).
const tag = `${process.pid % 100000}`;
const ns = { host: `canh-e2e-h-${tag}`, gw: `canh-e2e-g-${tag}`, pc: `canh-e2e-p-${tag}` };
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).toString();
const inHost = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns.host, ...args], { stdio: 'ignore', timeout: 10_000 });
let pcMac = '';

function buildNamespaces(): void {
  for (const n of Object.values(ns)) ip('netns', 'add', n);
  ip('link', 'add', 'hg', 'netns', ns.host, 'type', 'veth', 'peer', 'name', 'gh', 'netns', ns.gw);
  ip('link', 'add', 'hp', 'netns', ns.host, 'type', 'veth', 'peer', 'name', 'ph', 'netns', ns.pc);
  ip('-n', ns.gw, 'link', 'set', 'gh', 'address', '02:00:00:00:0a:01');
  ip('-n', ns.host, 'addr', 'add', '10.250.0.2/24', 'dev', 'hg');
  ip('-n', ns.gw, 'addr', 'add', '10.250.0.1/24', 'dev', 'gh');
  ip('-n', ns.host, 'addr', 'add', '10.251.0.2/24', 'dev', 'hp');
  ip('-n', ns.pc, 'addr', 'add', '10.251.0.3/24', 'dev', 'ph');
  for (const [n, dev] of [
    [ns.host, 'hg'],
    [ns.host, 'hp'],
    [ns.gw, 'gh'],
    [ns.pc, 'ph'],
  ] as const) {
    ip('-n', n, 'link', 'set', dev, 'up');
    ip('-n', n, 'link', 'set', 'lo', 'up');
  }
  ip('-n', ns.host, 'route', 'add', 'default', 'via', '10.250.0.1');
  pcMac = /link\/ether ([0-9a-f:]+)/.exec(ip('-n', ns.pc, 'link', 'show', 'ph'))![1]!;
  // The gateway is known before the baseline is taken.
  inHost('ping', '-c', '1', '-W', '2', '10.250.0.1');
}

/** Windows Security-log events from the detector's test data, by event id, in file order. */
const winTemplates = new Map<string, string[]>();
for (const f of ['rdp-brute-force.xml', 'account-changes.xml']) {
  for (const ev of readFileSync(join(WIN_DATA, f), 'utf8')
    .split('\r\n')
    .filter((l) => l.startsWith('<Event '))) {
    const id = /<EventID>(\d+)<\/EventID>/.exec(ev)![1]!;
    winTemplates.set(id, [...(winTemplates.get(id) ?? []), ev]);
  }
}
let winRecord = 5000;
/** Append Security-log events (as wevtutil prints them) dated now, with new record ids. */
function winEvents(...events: string[]): void {
  const now = new Date().toISOString().replace('Z', '0000Z');
  const text = events.map((e) => e.replace(/<EventRecordID>\d+</, `<EventRecordID>${++winRecord}<`).replace(/SystemTime="[^"]+"/, `SystemTime="${now}"`));
  appendFileSync(files.winEvents, `${text.join('\r\n')}\r\n`);
}
const win = (id: string, i = 0) => winTemplates.get(id)![i]!;

/**
 * The stand-in for wevtutil (Windows only; not on this machine): answers the two queries
 * the detector makes — the newest event, and events after a record id, oldest first, at
 * most /c:N — from the event file, in wevtutil's XML layout.
 */
function writeWevtutil(path: string, events: string): void {
  writeFileSync(
    path,
    `#!/usr/bin/env python3
import re, sys
text = open(${JSON.stringify(events)}, encoding='utf-8').read()
events = re.findall(r'<Event .*?</Event>', text, re.S)
rid = lambda e: int(re.search(r'<EventRecordID>(\\d+)<', e).group(1))
args = sys.argv[1:]
if args[:1] != ['qe']:
    sys.exit(87)
if '/rd:true' in args:
    out = events[-1:]
else:
    after = int(re.search(r'EventRecordID>(\\d+)', ' '.join(args)).group(1))
    count = int(next(a for a in args if a.startswith('/c:'))[3:])
    out = [e for e in events if rid(e) > after][:count]
sys.stdout.write('\\r\\n'.join(out))
`,
  );
  chmodSync(path, 0o755);
}

/** A syslog line's time as `date` prints it in a zone (and under a fake clock, if given). */
const syslogDate = (tz: string, clock?: FakeClock) =>
  execFileSync('date', ['+%b %e %H:%M:%S'], { env: { PATH: process.env.PATH, TZ: tz, ...clock?.env } })
    .toString()
    .trim();

const authDetector = (path: string) => ({
  type: 'auth_log',
  path,
  poll_interval: '100ms',
  threshold: 3,
  privileged_users: ['operator'],
  work_hours: { days: [] },
});

/** Wait until the agent's follower has saved its position in `log` (it then reads from there). */
const following = (a: { stateDir: string }, log: string) => () =>
  existsSync(a.stateDir) && readdirSync(a.stateDir).some((f) => f.endsWith('.json') && readFileSync(join(a.stateDir, f), 'utf8').includes(log));

beforeAll(async () => {
  smtp = await startSmtpServer();
  dir = mkdtempSync(join(tmpdir(), 'canh-security-e2e-'));
  files.log = join(dir, 'auth.log');
  files.passwd = join(dir, 'passwd');
  files.group = join(dir, 'group');
  files.etc = join(dir, 'etc');
  files.www = join(dir, 'www');
  files.sus = join(dir, 'sus');
  files.winEvents = join(dir, 'security-log.xml');
  files.utcLog = join(dir, 'utc-auth.log');
  files.hcmLog = join(dir, 'hcm-auth.log');
  files.lateLog = join(dir, 'late-auth.log');
  for (const d of [files.etc, join(files.etc, '.ssh'), join(files.www, 'static'), files.sus]) mkdirSync(d, { recursive: true });
  for (const f of [files.log, files.winEvents, files.utcLog, files.hcmLog, files.lateLog]) writeFileSync(f, '');
  writeFileSync(files.passwd, 'root:x:0:0:root:/root:/bin/bash\nan:x:1000:1000:An:/home/an:/bin/bash\n');
  writeFileSync(files.group, 'root:x:0:\nsudo:x:27:\nan:x:1000:\n');
  writeFileSync(join(files.etc, 'hosts.allow'), 'sshd: 10.0.0.0/8\n');
  writeFileSync(join(files.etc, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAAC3Nza an@laptop\n');
  writeFileSync(join(files.www, 'static', 'logo.svg'), '<svg/>\n');
  const wevtutil = join(dir, 'wevtutil');
  writeWevtutil(wevtutil, files.winEvents);
  backdoor = await freePort('tcp');
  linuxSteps.find((s) => s.type === 'new_listening_port')!.marker = `:${backdoor} `;
  buildNamespaces();
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

  // Real agent processes first: they take longest to start.
  sleeper = spawn('ip', ['netns', 'exec', ns.host, 'sleep', '600'], { stdio: 'ignore' });
  await until(() => existsSync(`/proc/${sleeper!.pid}/net/arp`) && readFileSync(`/proc/${sleeper!.pid}/net/arp`, 'utf8').includes('10.250.0.1'), 10_000);
  const lan = realAgent(p, dir, { name: 'lan01', detectors: [{ type: 'lan_devices', interval: '500ms' }], env: { HOST_PROC: `/proc/${sleeper.pid}` } });
  const utc = realAgent(p, dir, { name: 'utc01', detectors: [authDetector(files.utcLog)], env: { TZ: 'UTC' } });
  const hcm = realAgent(p, dir, { name: 'hcm01', detectors: [authDetector(files.hcmLog)], env: { TZ: 'Asia/Ho_Chi_Minh' } });
  lateClock = fakeClock(join(dir, 'late.faketime'));
  late = realAgent(p, dir, { name: 'late01', detectors: [authDetector(files.lateLog)], env: { TZ: 'Asia/Ho_Chi_Minh' } });
  real.push(lan, utc, hcm, late);
  // late01 runs 30 minutes in the past until its outage.
  lateClock.step(-30 * 60);
  for (const a of [lan, utc, hcm]) a.start();
  late.start(lateClock.env);

  const agent = await p.addAgent({
    name: 'web01',
    agency: 'so-tttt',
    site: 'dc1',
    detectors: [
      authDetector(files.log),
      { type: 'accounts', passwd_file: files.passwd, group_file: files.group },
      { type: 'file_integrity', paths: [files.etc], web_roots: [files.www], static_paths: ['static'], debounce: '100ms' },
      { type: 'listening_ports', backdoor_ports: [backdoor], grace_intervals: 0, protocols: ['tcp', 'tcp6'] },
      { type: 'suspicious_process', dirs: [files.sus] },
    ],
  });
  stateDir = agent.stateDir;
  const dc = await p.addAgent({
    name: 'dc01',
    agency: 'so-tttt',
    site: 'dc1',
    detectors: [{ type: 'windows_eventlog', interval: '500ms', wevtutil, threshold: 5, privileged_users: ['Administrator'], work_hours: { days: [] } }],
  });
  // Every baseline taken, each log followed from its end, before anything happens.
  const ready = () =>
    ['accounts', 'file_integrity', 'listening_ports'].every((n) => existsSync(join(stateDir, `baseline-${n}.json`))) &&
    existsSync(join(lan.stateDir, 'baseline-lan_devices.json')) &&
    existsSync(dc.stateDir) &&
    readdirSync(dc.stateDir).some((f) => f.includes('bookmark-windows_eventlog')) &&
    following(utc, files.utcLog)() &&
    following(hcm, files.hcmLog)() &&
    following(late, files.lateLog)();
  const ok = await until(ready, 90_000);
  if (!ok) console.log(real.map((a) => a.proc?.describe()).join('\n'));
  expect(ok).toBe(true);
  // The outage begins: late01 stops (its position in the log is saved).
  await late.stop();
}, 180_000);

afterAll(async () => {
  listener?.close();
  child?.kill('SIGKILL');
  for (const a of real) await a.stop().catch(() => {});
  sleeper?.kill('SIGKILL');
  await p?.stop();
  await smtp?.stop();
  for (const n of Object.values(ns)) {
    try {
      ip('netns', 'del', n);
    } catch {
      // not there
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const iso = (t = Date.now()) => new Date(t).toISOString();
const authLine = (text: string, t?: number) => appendFileSync(files.log, `${iso(t)} web01 ${text}\n`);

interface Step {
  name: string;
  type: string;
  /** Host whose point it is (web01 unless said). */
  host?: string;
  /** Rule title (English) the mail's subject carries. */
  title: string;
  critical?: boolean;
  /** Without one, the step's event comes from the track's previous act (latency from there). */
  act?(): void | Promise<void>;
  /** Which stored point is this step's event. */
  point(r: Row): boolean;
  /** A text only this event's message holds. */
  marker: string;
  /** Points and mails expected: 1, or 0 for what must not be raised. */
  expected?: 0 | 1;
  /** Its mail must say it was detected late. */
  late?: boolean;
  /** Latency counts from the end of the act (a restart: from the agent's reconnection). */
  clockAfterAct?: boolean;
}

/** Lines of a mail that announce an event as new. */
const announced = (m: ReceivedMail, s: Step) =>
  (m.parsed.subject ?? '').includes(s.title) && (m.parsed.text ?? '').split('\n').some((l) => l.includes('(new):') && l.includes(s.marker));

const typeQuery = (s: Step) => `SELECT * FROM security_event WHERE "type" = '${s.type}' AND "host" = '${s.host ?? 'web01'}'`;
async function stored(s: Step): Promise<number> {
  return (await p.query(typeQuery(s))).filter(s.point).length;
}

const failures = (ip: string, user: string, n: number) => {
  for (let i = 0; i < n; i++) authLine(`sshd[${3000 + i}]: Failed password for ${user} from ${ip} port ${41000 + i} ssh2`);
};

const linuxSteps: Step[] = [
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
];

const windowsSteps: Step[] = [
  {
    name: 'brute_force (windows 4625 ×6)',
    type: 'brute_force',
    host: 'dc01',
    title: 'Brute-force attack',
    act: () => winEvents(...winTemplates.get('4625')!.filter((e) => e.includes('192.0.2.50'))),
    point: (r) => r.src_ip === '192.0.2.50',
    marker: '192.0.2.50',
  },
  {
    name: 'brute_force_success (windows 4624)',
    type: 'brute_force_success',
    host: 'dc01',
    title: 'Login succeeded after brute force',
    critical: true,
    act: () => winEvents(winTemplates.get('4624')!.find((e) => e.includes('192.0.2.50') && e.includes('>10<'))!),
    point: (r) => r.src_ip === '192.0.2.50',
    marker: 'from 192.0.2.50',
  },
  {
    name: 'off_hours_privileged_login (win)',
    type: 'off_hours_privileged_login',
    host: 'dc01',
    title: 'Unusual use of administrator rights',
    act: () =>
      winEvents(
        winTemplates
          .get('4624')!
          .find((e) => e.includes('192.0.2.50') && e.includes('>10<'))!
          .replaceAll('192.0.2.50', '192.0.2.77'),
      ),
    point: (r) => r.src_ip === '192.0.2.77',
    marker: '192.0.2.77',
  },
  ...(
    [
      ['4740', 'account_locked', 'Account or group changed'],
      ['4720', 'account_created', 'Account or group changed'],
      ['4726', 'account_deleted', 'Account or group changed'],
      ['4719', 'audit_policy_changed', 'Audit log cleared or audit policy changed'],
      ['1102', 'log_cleared', 'Audit log cleared or audit policy changed', true],
      ['4946', 'firewall_rule_added', 'Host firewall changed'],
      ['4947', 'firewall_rule_modified', 'Host firewall changed'],
      ['4948', 'firewall_rule_deleted', 'Host firewall changed'],
      ['4949', 'firewall_reset', 'Host firewall changed'],
      ['4950', 'firewall_setting_changed', 'Host firewall changed'],
    ] as const
  ).map(([id, type, title, critical]): Step => ({
    name: `${type} (windows ${id})`,
    type,
    host: 'dc01',
    title,
    critical: critical === true,
    act: () => winEvents(win(id)),
    point: (r) => Number(r.event_id) === Number(id),
    marker: `(event ${id})`,
  })),
  {
    name: 'group_changed (win 4732, admins)',
    type: 'group_changed',
    host: 'dc01',
    title: 'Account or group changed',
    act: () => winEvents(win('4732')),
    point: (r) => Number(r.event_id) === 4732,
    marker: 'to group "Administrators"',
  },
  {
    name: 'group_changed (win 4756)',
    type: 'group_changed',
    host: 'dc01',
    title: 'Account or group changed',
    act: () => winEvents(win('4756')),
    point: (r) => Number(r.event_id) === 4756,
    marker: 'to group "Project & Team"',
  },
];

const lanSteps: Step[] = [
  {
    name: 'new_lan_device (netns)',
    type: 'new_lan_device',
    host: 'lan01',
    title: 'New device on the LAN',
    // A host appears on the LAN: the kernel learns its MAC when the host talks to it.
    act: () => {
      inHost('ping', '-c', '1', '-W', '2', '10.251.0.3');
    },
    point: (r) => r.ip === '10.251.0.3' && r.mac === pcMac,
    marker: 'LAN: 10.251.0.3 (',
  },
  {
    name: 'arp_spoofing (gateway, netns)',
    type: 'arp_spoofing',
    host: 'lan01',
    title: 'Possible ARP spoofing',
    critical: true,
    // The gateway's address answers from another MAC, as a man in the middle's would.
    act: () => {
      ip('-n', ns.gw, 'link', 'set', 'gh', 'address', '02:00:00:00:66:66');
      ip('-n', ns.host, 'neigh', 'flush', 'dev', 'hg');
      inHost('ping', '-c', '1', '-W', '2', '10.250.0.1');
    },
    point: (r) => r.ip === '10.250.0.1' && r.mac === '02:00:00:00:66:66',
    marker: 'now answers from 02:00:00:00:66:66',
  },
];

/** A zone-less syslog line in `log`, dated by `date` in zone `tz`; the true second it was written in. */
function zoneLine(log: string, host: string, tz: string, text: string): [number, number] {
  const before = Math.floor(Date.now() / 1000) * 1000;
  appendFileSync(log, `${syslogDate(tz)} ${host} ${text}\n`);
  return [before, Math.floor(Date.now() / 1000) * 1000];
}
const zoneStep = (host: string, tz: string, log: 'utcLog' | 'hcmLog', user: string): Step => {
  let when: [number, number] = [0, 0];
  return {
    name: `account_created (${host}, TZ=${tz})`,
    type: 'account_created',
    host,
    title: 'Account or group changed',
    act: () => {
      when = zoneLine(files[log], host, tz, `useradd[3600]: new user: name=${user}, UID=1003, GID=1003, home=/home/${user}, shell=/bin/bash`);
    },
    // Stored at the second it happened: read in another zone it would be hours away.
    point: (r) => r.user === user && Number(r.time) >= when[0] && Number(r.time) < when[1] + 1000,
    marker: `"${user}" was created`,
  };
};
const zoneSteps: Step[] = [zoneStep('utc01', 'UTC', 'utcLog', 'zoneutc'), zoneStep('hcm01', 'Asia/Ho_Chi_Minh', 'hcmLog', 'zonehcm')];

/** Lines late01's log receives during its outage, each dated by `date` under its clock. */
function duringOutage(): void {
  const line = (text: string) => appendFileSync(files.lateLog, `${syslogDate('Asia/Ho_Chi_Minh', lateClock)} late01 ${text}\n`);
  // 30 minutes ago: a brute force that succeeds, and an account created.
  for (let i = 0; i < 3; i++) line(`sshd[${4000 + i}]: Failed password for deploy from 198.51.100.62 port ${42000 + i} ssh2`);
  line('sshd[4010]: Accepted password for deploy from 198.51.100.62 port 42010 ssh2');
  line('useradd[4020]: new user: name=mallory, UID=1002, GID=1002, home=/home/mallory, shell=/bin/bash');
  // Then four failures from another address, seven minutes apart: never three within the
  // 10-minute window by when they happened, all four at once by when they are read.
  for (let i = 0; i < 4; i++) {
    lateClock.step(7 * 60);
    line(`sshd[${4100 + i}]: Failed password for root from 198.51.100.61 port ${43000 + i} ssh2`);
  }
}

const backlogSteps: Step[] = [
  {
    name: 'brute_force, after 30-min outage',
    type: 'brute_force',
    host: 'late01',
    title: 'Brute-force attack',
    late: true,
    act: async () => {
      duringOutage();
      // The outage ends: the agent starts again at the real time and reads the backlog.
      lateClock.step(-lateClock.offsetS);
      late.start(lateClock.env);
      const id = p.collector.registry.get('late01')!.id;
      expect(await until(() => p.collector.server.connectedIds().has(id), 60_000), 'late01 back').toBe(true);
    },
    clockAfterAct: true,
    point: (r) => r.src_ip === '198.51.100.62',
    marker: '198.51.100.62',
  },
  {
    name: 'brute_force_success, after outage',
    type: 'brute_force_success',
    host: 'late01',
    title: 'Login succeeded after brute force',
    critical: true,
    late: true,
    point: (r) => r.src_ip === '198.51.100.62',
    marker: 'as deploy from 198.51.100.62',
  },
  {
    name: 'account_created, after outage',
    type: 'account_created',
    host: 'late01',
    title: 'Account or group changed',
    late: true,
    point: (r) => r.user === 'mallory',
    marker: '"mallory" was created',
  },
  {
    name: '4 failures over 21 min (none)',
    type: 'brute_force',
    host: 'late01',
    title: 'Brute-force attack',
    expected: 0,
    point: (r) => r.src_ip === '198.51.100.61',
    marker: '198.51.100.61',
  },
];

/** Until a round of the collector's alert engine ran at `at` or later with nothing left to send. */
async function engineRoundPast(at: number): Promise<void> {
  const engine = p.collector.alerts!;
  const end = Date.now() + 60_000;
  for (;;) {
    const now = Date.now();
    await engine.tick();
    if (now >= at && engine.store.nextMailAt() === null) return;
    expect(now, 'the alert engine to deliver its mails').toBeLessThan(end);
    await new Promise((r) => setTimeout(r, 100));
  }
}

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
      ws.once('open', () =>
        ws.send(
          encode({ type: 'hello', protocol: PROTOCOL_VERSION, agent_version: 'raw', hostname: 'raw01', os: 'test', spool_batches: 0, dropped_points: 0 }),
        ),
      );
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

  it('each real action or log line: exactly one stored point and one mail, on every host, also while an alert of the rule is open', async () => {
    const tracks: [string, Step[]][] = [
      ['web01', linuxSteps],
      ['dc01', windowsSteps],
      ['lan01', lanSteps],
      ['zones', zoneSteps],
      ['late01', backlogSteps],
    ];
    const run = async (steps: Step[]) => {
      let t0 = Date.now();
      for (const s of steps) {
        if (s.act) {
          t0 = Date.now();
          await s.act();
          if (s.clockAfterAct) t0 = Date.now();
        }
        const result: Result = { step: s, stored: 0, mailed: 0, latencyMs: null };
        results.push(result);
        if (s.expected === 0) continue;
        const mail = await smtp.waitForMail((m) => announced(m, s), 30_000).catch(() => undefined);
        await p.waitFor(typeQuery(s), (r) => r.filter(s.point).length > 0, 15_000).catch(() => []);
        result.latencyMs = mail ? mail.receivedAt.getTime() - t0 : null;
        if (!mail) console.log(`[security-e2e] ${s.name}: no mail; mails: ${smtp.mails.map((m) => `${m.parsed.subject}\n${m.parsed.text}`).join('\n---\n')}`);
      }
    };
    await Promise.all(tracks.map(([, steps]) => run(steps)));
    // Not a quiet spell: a round of the engine's own (evaluation, grouping, delivery: tick()
    // awaits the mailer), run with its clock past group_wait after the last mail, when a
    // second announcement of anything it had seen was due, and nothing left in the outbox.
    await engineRoundPast(Math.max(...smtp.mails.map((m) => m.receivedAt.getTime())) + GROUP_WAIT_MS);
    for (const r of results) {
      r.stored = await stored(r.step);
      r.mailed = smtp.mails.filter((m) => m.envelope.to.includes(TO) && announced(m, r.step)).length;
    }
    const ordered = tracks.flatMap(([, steps]) => steps.map((s) => results.find((r) => r.step === s)!));
    const rows = ordered.map((r) => {
      const bound = r.step.critical ? 5000 : GROUP_WAIT_MS + 5000;
      const within = r.step.expected === 0 ? '—' : `${r.latencyMs !== null && r.latencyMs <= bound ? 'yes' : 'no '} (${bound / 1000} s)`;
      return `| ${(r.step.host ?? 'web01').padEnd(6)} | ${r.step.name.padEnd(36)} | ${String(r.stored).padStart(6)} | ${String(r.mailed).padStart(6)} | ${(r.latencyMs === null ? '—' : `${r.latencyMs} ms`).padStart(9)} | ${within} |`;
    });
    console.log(
      [
        '',
        'latency: from the action to the mail (late01: from its reconnection after the outage)',
        '| host   | event type                           | stored | mailed |   latency | within bound |',
        '|---|---|---|---|---|---|',
        ...rows,
      ].join('\n'),
    );
    expect(ordered.map((r) => `${r.step.host ?? 'web01'} ${r.step.name}: ${r.stored}/${r.mailed}`)).toEqual(
      tracks.flatMap(([, steps]) => steps.map((s) => `${s.host ?? 'web01'} ${s.name}: ${s.expected ?? 1}/${s.expected ?? 1}`)),
    );
    // A backlog's events say when they happened, and are stored at that time (30 minutes back).
    for (const s of backlogSteps.filter((x) => x.late)) {
      expect(smtp.mails.find((m) => announced(m, s))?.parsed.text, s.name).toContain('detected late, happened at');
      const [row] = (await p.query(typeQuery(s))).filter(s.point);
      expect(Date.now() - Number(row!.time), `${s.name}: stored at when it happened`).toBeGreaterThan(29 * 60_000);
    }
  }, 240_000);
});

// auth_log against real-world samples (testdata/third-party: Wazuh's sshd/pam rule tests as a
// classification oracle, Filebeat's expected output as per-line golden values, a real RHEL7
// brute force) and our own hostile samples in testdata/.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import authLog from './index.ts';
import { parseHeader } from './header.ts';
import { parseLine, type AuthRecord } from './parse.ts';
import { replayAuthLog } from './replay.ts';
import { makeAggregator } from '../auth/options.ts';
import { readmeExample } from '../testing.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'testdata', 'third-party');
const fixture = (name: string) => readFileSync(join(fixtures, name), 'utf8');
const cfg = (over: Record<string, unknown> = {}) => authLog.config.parse({ timezone: 'Asia/Ho_Chi_Minh', ...over });
const NOW = Date.UTC(2024, 11, 1);
const parse = (line: string, tz = 'Asia/Ho_Chi_Minh') => parseLine(line, { tz, now: NOW });

interface IniCase {
  name: string;
  rule: string;
  logs: { pass: boolean; line: string }[];
}

function readIni(text: string): IniCase[] {
  const cases: IniCase[] = [];
  let cur: IniCase | undefined;
  for (const raw of text.split('\n')) {
    const sec = /^\[(.*)\]$/.exec(raw);
    if (sec) cases.push((cur = { name: sec[1]!, rule: '', logs: [] }));
    const log = /^log \d+ (pass|fail) = (.*)$/.exec(raw);
    if (log && cur) cur.logs.push({ pass: log[1] === 'pass', line: log[2]! });
    const rule = /^rule = (\d+)$/.exec(raw);
    if (rule && cur) cur.rule = rule[1]!;
  }
  return cases;
}

// Wazuh rule id → what our record must say. Rules not listed here are not attacks we count:
// their samples are negative samples (they must not count as a failed login).
const ORACLE: Record<string, (r: AuthRecord | undefined) => boolean> = {
  '5710': (r) => !!r?.invalidUser && !!r.src,
  '5716': (r) => r?.kind === 'auth_failure' && r.counts,
  '5760': (r) => r?.kind === 'auth_failure' || r?.kind === 'pam_failure',
  '5758': (r) => r?.kind === 'too_many_failures' && !!r.src,
  '5718': (r) => r?.kind === 'user_not_allowed' && r.counts && r.user === 'root',
  '5719': (r) => r?.kind === 'user_not_allowed' && r.counts,
  '5763': (r) => r?.kind === 'auth_failure' && r.counts,
  '5712': (r) => r?.kind === 'invalid_user' && r.counts,
  '5706': (r) => r?.kind === 'probe' && !!r.src,
  '5701': (r) => r?.kind === 'probe' && !!r.src,
  '5753': (r) => r?.kind === 'probe' && !!r.src,
  '5722': (r) => r?.kind === 'disconnect' && !r.counts,
  '5761': (r) => r?.kind === 'disconnect' && !r.counts,
  '5762': (r) => r?.kind === 'disconnect' && !r.counts,
  '5503': (r) => r?.kind === 'su_failure' && r.user === 'osaudit' && r.detail === 'dcid',
  '5504': (r) => r?.kind === 'pam_unknown_user',
  '5501': (r) => r?.kind === 'session_opened' && r.user === 'news',
  '5502': (r) => r?.kind === 'session_closed' && r.user === 'news',
  '2502': (r) => r?.kind === 'pam_failure' && r.src === '10.0.3.1' && !r.counts,
};

describe('Wazuh rule tests as oracle', () => {
  for (const file of ['wazuh-sshd.ini', 'wazuh-pam.ini']) {
    for (const c of readIni(fixture(file))) {
      it(`${file} [${c.name}] rule ${c.rule}`, () => {
        expect(c.logs.length).toBeGreaterThan(0);
        for (const { pass, line } of c.logs) {
          const r = parse(line);
          const oracle = ORACLE[c.rule];
          if (pass && oracle) expect(oracle(r), `${line}\n→ ${JSON.stringify(r)}`).toBe(true);
          else expect(r?.counts ?? false, `must not count as a failed login: ${line}`).toBe(false);
        }
      });
    }
  }

  it('the 8-line brute-force cases make one brute_force event, counting all 8', () => {
    for (const c of readIni(fixture('wazuh-sshd.ini')).filter((x) => x.rule === '5763' || x.rule === '5712')) {
      const r = replayAuthLog(c.logs.map((l) => l.line).join('\n'), cfg(), NOW);
      const bf = r.events.filter((e) => e.type === 'brute_force');
      expect(bf.filter((e) => !e.evidence.update)).toHaveLength(1);
      expect(bf[0]!.count).toBe(5);
      expect(bf.reduce((s, e) => s + e.count, 0)).toBe(8);
      expect(bf[0]!.severity).toBe('high');
      expect(bf[0]!.mitre).toBe('T1110.001');
    }
  });
});

describe('Filebeat expected output as golden values', () => {
  for (const [log, expected] of [
    ['beats-test.log', 'beats-test.log-expected.json'],
    ['beats-secure-rhel7.log', 'beats-secure-rhel7.log-expected.json'],
  ] as const) {
    it(log, () => {
      const text = fixture(log);
      const docs = JSON.parse(fixture(expected)) as Record<string, unknown>[];
      let checked = 0;
      for (const d of docs) {
        const offset = d['log.offset'] as number;
        const line = text.slice(offset, text.indexOf('\n', offset));
        const r = parseLine(line, { tz: 'UTC', now: NOW });
        expect(r?.pid ?? d['process.pid']).toBe(d['process.pid']);
        if (d['event.outcome'] === 'success') expect(r?.kind).toBe('login_success');
        if (d['event.outcome'] === 'failure') expect(r?.counts).toBe(true);
        if (d['event.outcome']) {
          expect(r?.src).toBe(d['source.ip']);
          expect(r?.user).toBe(d['user.name']);
          if (d['source.port']) expect(r?.port).toBe(d['source.port']);
          if (d['system.auth.ssh.method']) expect(r?.method).toBe(d['system.auth.ssh.method']);
          checked++;
        }
        if (d['system.auth.sudo.user']) {
          expect(r?.user).toBe(d['user.name']);
          expect(r?.target).toBe(d['system.auth.sudo.user']);
          expect(r?.kind).toBe(d['system.auth.sudo.error'] ? 'sudo_not_allowed' : 'sudo_command');
          checked++;
        }
        if (d['process.name'] === 'useradd') expect([r?.kind, r?.user]).toEqual(['account_created', d['user.name']]);
        if (d['process.name'] === 'groupadd') expect([r?.kind, r?.target]).toEqual(['group_created', d['group.name']]);
        if (d['system.auth.ssh.dropped_ip']) expect([r?.kind, r?.src]).toEqual(['probe', d['source.ip']]);
      }
      expect(checked).toBeGreaterThan(5);
    });
  }
});

describe('beats-secure-rhel7.log brute force', () => {
  it('one brute_force per attacking address, counts equal to its failed logins, at most one update per window', () => {
    const text = fixture('beats-secure-rhel7.log');
    // Independent count: plain regex over the raw file.
    const perIp = new Map<string, number>();
    for (const m of text.matchAll(/Failed password for \S+ from (\S+) port \d+/g)) perIp.set(m[1]!, (perIp.get(m[1]!) ?? 0) + 1);
    expect([...perIp.values()].reduce((a, b) => a + b, 0)).toBe(352);
    const c = cfg();
    const r = replayAuthLog(text, c, Date.UTC(2017, 5, 1));
    const bf = r.events.filter((e) => e.type === 'brute_force');
    expect(new Set(bf.map((e) => e.evidence.src_ip))).toEqual(new Set(perIp.keys()));
    for (const [ip, n] of perIp) {
      const mine = bf.filter((e) => e.evidence.src_ip === ip);
      expect(mine.filter((e) => !e.evidence.update)).toHaveLength(1);
      expect(mine.reduce((s, e) => s + e.count, 0)).toBe(n);
      // Updates while the attack goes on are a window apart; the last one, sent when the source
      // falls quiet, carries the time of the last failure it reports (event time), so may be closer.
      for (let i = 1; i < mine.length - 1; i++) expect(mine[i]!.time - mine[i - 1]!.time).toBeGreaterThanOrEqual(c.window);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.time).toBeGreaterThan(mine[i - 1]!.time);
      expect(mine.length).toBeLessThanOrEqual(4);
      expect(mine[0]!.evidence.users).toBe('root');
    }
    // The three publickey logins come from addresses that never failed: no compromise.
    expect(r.events.filter((e) => e.type === 'brute_force_success')).toEqual([]);
  });
});

describe('sshd connections of two hosts in one log', () => {
  it('the same pid on another host is another connection: its "Failed" line does not take the first host\'s held PAM failure', () => {
    const text = [
      'Dec  1 10:00:00 web1 sshd[100]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root',
      'Dec  1 10:00:01 db1 sshd[100]: Failed password for root from 198.51.100.7 port 6000 ssh2',
      'Dec  1 10:00:02 web1 sshd[100]: Connection closed by authenticating user root 203.0.113.9 port 5000 [preauth]',
    ].join('\n');
    const r = replayAuthLog(text, cfg({ threshold: 1 }), NOW);
    const bf = r.events.filter((e) => e.type === 'brute_force').map((e) => e.evidence.src_ip);
    // web1's PAM failure had no "Failed" line of its own: it counts when its connection ends.
    expect(new Set(bf)).toEqual(new Set(['203.0.113.9', '198.51.100.7']));
    // One host, the same lines: the "Failed" line is the PAM failure's companion, one failure.
    const one = replayAuthLog(text.replaceAll('db1', 'web1'), cfg({ threshold: 1 }), NOW);
    expect(new Set(one.events.filter((e) => e.type === 'brute_force').map((e) => e.evidence.src_ip))).toEqual(new Set(['198.51.100.7']));
  });
});

describe('timestamps', () => {
  it('beats-timestamp.log: ISO 8601 with microseconds, without zone and with +01:30', () => {
    const [a, b] = fixture('beats-timestamp.log').trim().split('\n');
    expect(parseHeader(a!, { tz: 'Asia/Ho_Chi_Minh', now: NOW })!.time).toBe(Date.UTC(2019, 5, 14, 3, 40, 20, 912));
    expect(parseHeader(a!, { tz: 'UTC', now: NOW })!.time).toBe(Date.UTC(2019, 5, 14, 10, 40, 20, 912));
    expect(parseHeader(b!, { tz: 'UTC', now: NOW })!.time).toBe(Date.UTC(2019, 5, 14, 11, 31, 15, 412));
    expect(parseHeader(b!, { tz: 'UTC', now: NOW })!.program).toBe('pam');
  });

  it('syslog: year inferred (a December line read in January is last year), zone from config', () => {
    const jan = Date.UTC(2025, 0, 2, 3);
    expect(parseHeader('Dec 31 23:59:58 h sshd[1]: x', { tz: 'Asia/Ho_Chi_Minh', now: jan })!.time).toBe(Date.UTC(2024, 11, 31, 16, 59, 58));
    expect(parseHeader('Jan  2 09:00:00 h sshd[1]: x', { tz: 'Asia/Ho_Chi_Minh', now: jan })!.time).toBe(Date.UTC(2025, 0, 2, 2));
    expect(parseHeader('Nov 27 20:15:53 h sshd[1]: x', { tz: 'UTC', now: jan })!.time).toBe(Date.UTC(2024, 10, 27, 20, 15, 53));
  });

  it('ISO with -0700 and two spaces before the host (Wazuh form)', () => {
    expect(parse('2020-03-24 08:38:42.344447-0700  localhost sshd[2519]: Failed password for user from 172.18.1.100 port 43042 ssh2')!.time).toBe(
      Date.UTC(2020, 2, 24, 15, 38, 42, 344),
    );
  });
});

const own = readFileSync(join(here, 'testdata', 'hostile.log'), 'utf8')
  .trim()
  .split('\n');

describe('hostile and edge samples (testdata/hostile.log)', () => {
  it('the source address is the real one at the end, never one injected in the user name', () => {
    for (const line of own.filter((l) => l.includes('injected'))) {
      const r = parse(line);
      expect(r, line).toBeDefined();
      expect(r!.src, line).toBe('203.0.113.9');
    }
  });

  it('IPv6 and IPv4-mapped addresses', () => {
    expect(parse('Nov 27 20:15:53 h sshd[9]: Failed password for root from 2001:db8::7 port 4242 ssh2')!.src).toBe('2001:db8::7');
    expect(parse('Nov 27 20:15:53 h sshd[9]: Invalid user admin from ::ffff:198.51.100.4 port 4242')!.src).toBe('198.51.100.4');
    expect(parse('Nov 27 20:15:53 h sshd[9]: Failed password for root from 999.1.1.1 port 1 ssh2')).toBeUndefined();
    expect(parse(own.find((l) => l.includes('ROOT LOGIN REFUSED'))!)).toMatchObject({ kind: 'root_refused', src: '198.51.100.2', counts: true });
  });

  it('"message repeated N times" stands for N failures', () => {
    const r = parse('Nov 27 20:15:53 h sshd[9]: message repeated 7 times: [ Failed password for root from 198.51.100.7 port 22 ssh2]')!;
    expect([r.kind, r.repeat, r.src]).toEqual(['auth_failure', 7, '198.51.100.7']);
    const ev = replayAuthLog(
      'Nov 27 20:15:53 h sshd[9]: message repeated 7 times: [ Failed password for root from 198.51.100.7 port 22 ssh2]',
      cfg(),
      NOW,
    ).events;
    expect(ev.filter((e) => e.type === 'brute_force').reduce((s, e) => s + e.count, 0)).toBe(7);
  });

  it('garbage never throws and never matches', () => {
    const junk = [
      '',
      'x',
      '\u0000\u0001\u0002',
      'Nov 99 99:99:99 h sshd[1]: Failed password for root from 1.2.3.4 port 1 ssh2',
      `Nov 27 20:15:53 h sshd[1]: Failed password for ${'a'.repeat(100_000)}`,
      'Nov 27 20:15:53 h sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2 trailing',
    ];
    for (const j of junk) expect(() => parse(j)).not.toThrow();
    expect(junk.map((j) => parse(j)?.counts ?? false)).toEqual(junk.map(() => false));
  });

  it('every line of hostile.log is recognised as the kind written in it', () => {
    for (const line of own.filter((l) => /kind=\w+/.test(l))) {
      // The expected kind is written inside the sample itself (in a user name or command).
      const want = /kind=(\w+)/.exec(line)![1];
      expect(parse(line)?.kind, line).toBe(want);
    }
  });
});

describe('aggregation', () => {
  const base = 'Nov 27 20:15:';
  const fail = (s: number, ip: string, user = 'root') =>
    `${base}${String(s).padStart(2, '0')} h sshd[${100 + s}]: Failed password for ${user} from ${ip} port 22 ssh2`;

  it('a success after the threshold is brute_force_success (critical)', () => {
    const lines = [1, 2, 3, 4, 5].map((s) => fail(s, '198.51.100.1'));
    lines.push(`${base}30 h sshd[200]: Accepted password for root from 198.51.100.1 port 22 ssh2`);
    const ev = replayAuthLog(lines.join('\n'), cfg(), NOW).events;
    const s = ev.find((e) => e.type === 'brute_force_success')!;
    expect(s).toMatchObject({ severity: 'critical', mitre: 'T1078', evidence: { src_ip: '198.51.100.1', user: 'root', method: 'password', failures: 5 } });
  });

  it('4 failures then success is not an attack (below threshold)', () => {
    const lines = [1, 2, 3, 4].map((s) => fail(s, '198.51.100.1', 'alice'));
    lines.push(`${base}30 h sshd[200]: Accepted password for alice from 198.51.100.1 port 22 ssh2`);
    expect(replayAuthLog(lines.join('\n'), cfg(), NOW).events).toEqual([]);
  });

  it('many users from one source is password spraying (T1110.003)', () => {
    const lines = ['a', 'b', 'c', 'd', 'e'].map((u, i) => fail(i, '198.51.100.2', u));
    const ev = replayAuthLog(lines.join('\n'), cfg(), NOW).events;
    expect(ev[0]).toMatchObject({ type: 'brute_force', mitre: 'T1110.003', evidence: { user_count: 5 } });
  });

  it('a user offering several keys before the right one is not an attack', () => {
    const lines = [1, 2, 3, 4, 5, 6].map((s) => `${base}0${s} h sshd[300]: Failed publickey for alice from 198.51.100.3 port 5000 ssh2: RSA SHA256:k${s}`);
    lines.splice(3, 0, `${base}03 h sshd[300]: Postponed publickey for alice from 198.51.100.3 port 5000 ssh2 [preauth]`);
    lines.push(`${base}07 h sshd[300]: Accepted publickey for alice from 198.51.100.3 port 5000 ssh2: RSA SHA256:good`);
    expect(replayAuthLog(lines.join('\n'), cfg(), NOW).events).toEqual([]);
    // The same failures without the success do count, once the grace time has passed.
    const ev = replayAuthLog(lines.slice(0, -1).join('\n'), cfg(), NOW).events;
    expect(ev.filter((e) => e.type === 'brute_force').reduce((s, e) => s + e.count, 0)).toBe(6);
  });

  it('"Invalid user" and its "Failed password for invalid user" count once', () => {
    const lines: string[] = [];
    for (let i = 0; i < 4; i++) {
      lines.push(`${base}1${i} h sshd[${400 + i}]: Invalid user u${i} from 198.51.100.4 port ${6000 + i}`);
      lines.push(`${base}1${i} h sshd[${400 + i}]: Failed password for invalid user u${i} from 198.51.100.4 port ${6000 + i} ssh2`);
    }
    expect(replayAuthLog(lines.join('\n'), cfg(), NOW).events).toEqual([]);
    expect(replayAuthLog(lines.join('\n'), cfg({ threshold: 4 }), NOW).events[0]).toMatchObject({ type: 'brute_force', count: 4 });
  });

  it('a long attack gives one event and at most one update per window, with the clock injected', () => {
    let now = 0;
    const agg = makeAggregator(cfg({ window: '10m' }), () => now);
    const out = [];
    for (let i = 0; i < 600; i++) {
      now = i * 2000; // one failure every 2 s for 20 minutes
      out.push(...agg.observe({ kind: 'auth_failure', program: 'sshd', src: '198.51.100.5', user: 'root', counts: true, repeat: 1, time: now }));
    }
    now += 600_001;
    out.push(...agg.tick());
    expect(out.length).toBeLessThanOrEqual(4);
    expect(out.reduce((s, e) => s + e.count, 0)).toBe(600);
  });

  it('privileged login outside working hours (Asia/Ho_Chi_Minh), not inside', () => {
    // 2024-11-30 is a Saturday; 2024-11-27 a Wednesday.
    const sat = '2024-11-30T10:00:00+07:00 h sshd[1]: Accepted publickey for root from 10.0.0.5 port 5 ssh2: ED25519 SHA256:x';
    const wedNight = '2024-11-27T22:10:00+07:00 h sshd[1]: Accepted password for root from 10.0.0.5 port 5 ssh2';
    const wedDay = '2024-11-27T09:10:00+07:00 h sshd[1]: Accepted password for root from 10.0.0.5 port 5 ssh2';
    const wedNightUser = '2024-11-27T22:10:00+07:00 h sshd[1]: Accepted password for bob from 10.0.0.5 port 5 ssh2';
    const types = (l: string, over = {}) => replayAuthLog(l, cfg(over), NOW).events.map((e) => `${e.type}/${e.severity}`);
    expect(types(sat)).toEqual(['off_hours_privileged_login/medium']);
    expect(types(wedNight)).toEqual(['off_hours_privileged_login/medium']);
    expect(types(wedDay)).toEqual([]);
    expect(types(wedNightUser)).toEqual([]);
    expect(types(wedNightUser, { privileged_users: ['bob'] })).toEqual(['off_hours_privileged_login/medium']);
    expect(types(wedDay, { work_hours: { start: '10:00', end: '17:30' } })).toEqual(['off_hours_privileged_login/medium']);
  });

  it('account, group and sudo events', () => {
    const text = fixture('beats-test.log');
    const ev = replayAuthLog(text, cfg(), NOW).events;
    expect(ev.map((e) => `${e.type}/${e.severity}/${e.mitre ?? '-'}`).sort()).toEqual([
      'account_created/medium/T1136.001',
      'group_created/low/-',
      'sudo_not_allowed/medium/T1548.003',
    ]);
    const more = replayAuthLog(
      [
        "Nov 27 10:00:00 h usermod[5]: add 'mallory' to group 'sudo'",
        "Nov 27 10:00:00 h usermod[5]: add 'mallory' to shadow group 'sudo'",
        "Nov 27 10:00:01 h userdel[6]: delete user 'mallory'",
        'Nov 27 10:00:02 h passwd[7]: pam_unix(passwd:chauthtok): password changed for bob',
        'Nov 27 10:00:03 h sudo: bob : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash',
      ].join('\n'),
      cfg(),
      NOW,
    ).events;
    expect(more.map((e) => `${e.type}/${e.severity}`)).toEqual(['group_changed/high', 'account_deleted/medium', 'password_changed/low', 'sudo_failure/low']);
  });
});

it('README example parses with the detector schema', () => {
  expect(readmeExample(here, authLog)).toBeTruthy();
});

// The parser's fast ways (header.ts's one-pass header, rules chosen by a message's first character)
// against the plain way (withReferencePath: the general header parser, every rule tried in
// turn): the same verdict for every line of every fixture, for lines shaped to come near a
// rule without being it, and for bench:detect's generated log; and the same events when that
// log goes through the whole pipeline both ways. The fixtures are the ground truth
// (lines.test.ts); this proves the fast way reads every line as the plain way does.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withReferencePath, MODES, type ParseOptions } from './fields.ts';
import { classify, parseVerdict } from './parse.ts';
import { leadingChars } from './rules.ts';
import { replayAuthLog } from './replay.ts';
// bench:detect's own log is what the fast path was made for: the test reads the same lines.
// eslint-disable-next-line canh/no-cross-package -- a test of the agent reusing the bench's generator (no runtime dependency)
import { generate } from '../../../../bench/lib/authlog-gen.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const NOW = Date.UTC(2024, 11, 1);

function fixtureLines(): string[] {
  const out: string[] = [];
  for (const sub of ['lines', 'third-party', '.']) {
    for (const f of readdirSync(join(dir, sub))) {
      if (!/\.(log|txt)$/.test(f)) continue;
      for (const l of readFileSync(join(dir, sub, f), 'utf8').split('\n')) if (l && !l.startsWith('#')) out.push(l);
    }
  }
  return out;
}

/** Lines whose message starts as a rule's does (or nearly), in each header form the fast way takes. */
const NEAR = [
  'Failed',
  'failed password for root from 192.0.2.1 port 22 ssh2',
  'Accepted password for root from 192.0.2.1 port 22 ssh2',
  'accepted password for root from 192.0.2.1 port 22 ssh2',
  'invalid user x from 192.0.2.1',
  'Illegal user x from 192.0.2.1 port 22',
  'User x from 192.0.2.1 not allowed because listed in DenyUsers',
  'User x not allowed because account is locked',
  'User not known to the underlying authentication module for x from 192.0.2.1',
  'unknown user for x from 192.0.2.1',
  'authentication failure for x from 192.0.2.1',
  'Authentication error for x from 192.0.2.1',
  'Connection closed by 192.0.2.1 port 22 [preauth]',
  'Connection closed by 192.0.2.1',
  'Connection from 192.0.2.1 port 22 on 10.0.0.1 port 22',
  'Disconnecting: Too many authentication failures for root',
  'Disconnecting invalid user x 192.0.2.1 port 22: Change of username or service not allowed: (x,ssh-connection) -> (y,ssh-connection)',
  'Disconnected from 192.0.2.1 port 22',
  'Did not receive identification string from 192.0.2.1',
  'Received disconnect from 192.0.2.1 port 22:3: com.jcraft.jsch.JSchException: Auth fail',
  'Read from socket failed: Connection reset by peer',
  'ROOT LOGIN REFUSED FROM 192.0.2.1',
  'refused connect from host.example (192.0.2.1)',
  'Unable to negotiate with 192.0.2.1 port 22: no matching key exchange method found',
  'no matching cipher found: client x server y',
  'kex_exchange_identification: Connection closed by remote host',
  'banner exchange: Connection from 192.0.2.1 port 22: invalid format',
  'Bad protocol version identification x from 192.0.2.1',
  'maximum authentication attempts exceeded for root from 192.0.2.1 port 22 ssh2',
  'Postponed keyboard-interactive for root from 192.0.2.1 port 22 ssh2',
  'SSH: Server;Ltype: Authname;Remote: 192.0.2.1-22;Name: root',
  'error: PAM: authentication error for x from 192.0.2.1',
  'fatal: Read from socket failed: Connection reset by peer [preauth]',
  'PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root',
  ' Failed password for root from 192.0.2.1 port 22 ssh2',
  '',
  '\u00e9Failed password for root from 192.0.2.1 port 22 ssh2',
  // PAM's key=value tail in its usual order (one pattern) and near it (the general way).
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root',
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser=rhost=6.6.6.6 rhost=192.0.2.1  user=root',
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser=x rhost=192.0.2.1  user=x rhost=6.6.6.6',
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser=a b rhost=192.0.2.1  user=a b',
  'pam_unix(sshd:auth): authentication failure; logname=a=b uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root',
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=xruser=y ruser= rhost=192.0.2.1  user=root',
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1 extra',
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=  user=root',
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=  ',
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser=root rhost=192.0.2.1  user=root',
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1\tuser=root\u00a0',
  'pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=admin rhost=192.0.2.1',
  '(pam_unix) authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1 user=root',
  'PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root',
  // " [preauth]" where it is taken off and where it is not.
  'Connection closed by 192.0.2.1 port 22 [preauth] [preauth]',
  'Connection closed by 192.0.2.1 port 22 [preauth]  ',
  'Connection closed by 192.0.2.1 port 22 [preauth] x',
  'Connection closed by authenticating user root 192.0.2.1 port 22 [preauth]\u00a0',
  'Disconnected from invalid user x 192.0.2.1 port 22 [preauth]',
  'Connection reset by 192.0.2.1 port 22 [preauth]',
  'message repeated 2 times: [ Failed password for root from 192.0.2.1 port 22 ssh2]',
  'message repeated 2 times: [ pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root]',
  // The PAM failure in one pattern, and near it.
  'pam_unix(su:auth): authentication failure; logname=bob uid=1000 euid=0 tty=pts/0 ruser=bob rhost=  user=root',
  'pam_unix(sshd:auth): authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root',
  'pam_unix(sshd:auth):  authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root',
  'pam_unix(sshd:auth) authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root',
  'pam_unix(sshd): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root',
  'pam_unix(sshd:auth)): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root',
  'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=not_an_address!  user=root',
  'pam_sss(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=u rhost=192.0.2.1  user=u',
];
// Messages as a journal entry may hand them on (no header pattern in the way): line
// terminators inside, where the plain way's "(.*)$" stops.
const TERMINATED = ['\r', '\n', '\u2028', '\u2029'].flatMap((t) => [
  `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root${t}`,
  `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1${t} user=root`,
  `Connection closed by 192.0.2.1 port 22 [preauth]${t}`,
  `Connection closed by 192.0.2.1 port 22 [preauth] ${t} `,
]);
const PROGRAMS = ['sshd', 'sshd-session', 'useradd', 'groupadd', 'usermod', 'passwd', 'su', 'sudo', 'vsftpd', 'dovecot'];

function nearLines(): string[] {
  const out: string[] = [];
  for (const p of PROGRAMS) {
    for (const m of NEAR) out.push(`Jan 10 08:00:00 srv ${p}[42]: ${m}`, `<38>Jan 10 08:00:00 srv ${p}[42]: ${m}`, `2024-01-10T08:00:00Z srv ${p}[42]: ${m}`);
    for (const m of [
      'new user: name=x, UID=1001, GID=1001, home=/home/x, shell=/bin/sh',
      "delete user 'x'",
      "add 'x' to group 'sudo'",
      'user x added by root to group sudo',
    ])
      out.push(`Jan 10 08:00:00 srv ${p}[42]: ${m}`);
  }
  return out;
}

describe('auth_log fast path against the plain way', () => {
  it('reads every fixture line, every near-miss and the generated log as the plain way does, in every mode', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'canh-fast-path-'));
    let generated: string[];
    try {
      generate(join(tmp, 'auth.log'), 10_000);
      generated = readFileSync(join(tmp, 'auth.log'), 'utf8').split('\n').slice(0, -1);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const lines = [...fixtureLines(), ...nearLines(), ...generated];
    let recognised = 0;
    const differing: string[] = [];
    for (const mode of MODES) {
      const o: ParseOptions = { tz: 'Asia/Ho_Chi_Minh', now: NOW, mode };
      for (const l of lines) {
        const fast = parseVerdict(l, o);
        const plain = withReferencePath(() => parseVerdict(l, o));
        // One expect per line costs more than the parsing: differences are collected, then shown.
        if (JSON.stringify(fast) !== JSON.stringify(plain)) differing.push(l);
        if (fast.record) recognised++;
      }
    }
    expect(differing).toEqual([]);
    // Both ways recognise most of these lines: the comparison is not between two empty answers.
    expect(recognised).toBeGreaterThan(lines.length * 2);
  }, 120_000);

  it('classifies every near-miss message as the plain way does, with line terminators inside too', () => {
    const differing: string[] = [];
    for (const mode of MODES)
      for (const p of PROGRAMS)
        for (const m of [...NEAR, ...TERMINATED]) {
          const fast = classify(p, m, undefined, mode);
          const plain = withReferencePath(() => classify(p, m, undefined, mode));
          if (JSON.stringify(fast) !== JSON.stringify(plain)) differing.push(`${p}: ${JSON.stringify(m)}`);
        }
    expect(differing).toEqual([]);
    // The failures in one pattern are recognised (not two empty answers compared).
    expect(
      classify(
        'sshd',
        NEAR.find((m) => m.startsWith('pam_sss'))!,
      ),
    ).toMatchObject({ kind: 'pam_failure', src: '192.0.2.1', counts: true });
  });

  it('gives the same records and events for the generated log through the whole pipeline', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'canh-fast-path-'));
    let text: string;
    try {
      generate(join(tmp, 'auth.log'), 20_000);
      text = readFileSync(join(tmp, 'auth.log'), 'utf8');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const cfg = {
      threshold: 5,
      window: 600_000,
      spray_users: 3,
      key_grace: 30_000,
      privileged_users: ['root'],
      privileged_groups: ['sudo'],
      work_hours: { start: '07:30', end: '17:30', days: [1, 2, 3, 4, 5] },
      timezone: 'UTC',
      max_sources: 10_000,
    };
    const fast = replayAuthLog(text, cfg, NOW);
    const plain = withReferencePath(() => replayAuthLog(text, cfg, NOW));
    expect(fast.events.filter((e) => e.type === 'brute_force').length).toBeGreaterThan(100);
    expect(fast.records).toEqual(plain.records);
    expect(fast.events).toEqual(plain.events);
  }, 120_000);

  it('reads the characters a message must start with from a rule, or none when it cannot be sure', () => {
    expect(leadingChars(/^Failed (\S+)/)).toBe('F');
    expect(leadingChars(/^(?:Invalid|Illegal|invalid|illegal) user/)).toBe('IIii');
    expect(leadingChars(/^(?:[aA]uthentication failure|User not known|unknown user) for/)).toBe('aAUu');
    expect(leadingChars(/^(Connection closed by|Disconnected from) (\S+)$/)).toBe('CD');
    expect(leadingChars(/^(a|(b|c)d)e/)).toBe('abc');
    // Not sure: every message tries the rule.
    for (const re of [/^a|b/, /^(?:a|b)?c/, /^a?b/, /^a*b/, /^a{0,2}b/, /^\[x/, /^[^"]x/, /^[a-z]x/, /^(a|[^\]x]|c)/, /^(?=a)a/, /Failed/, /^failed/i, /^.x/])
      expect(leadingChars(re), re.source).toBeUndefined();
  });
});

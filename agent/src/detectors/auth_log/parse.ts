// Pure parsing of auth log lines (auth.log, /var/log/secure, journal messages) into records:
// what happened (kind), to whom, from where, when. No I/O and no state: aggregate.ts turns
// records into events. Source addresses are always taken from the fixed position sshd
// writes them at the END of the message, so a user name such as "x from 6.6.6.6" that an
// attacker sends cannot choose the address that gets counted (greedy user captures below).
import { isIP } from 'node:net';
import { zonedToUtc, wallClock } from '@canh/core';

export const KINDS = [
  'auth_failure',
  'invalid_user',
  'user_not_allowed',
  'root_refused',
  'too_many_failures',
  'pam_failure',
  'pam_unknown_user',
  'login_success',
  'postponed',
  'probe',
  'disconnect',
  'sudo_failure',
  'sudo_not_allowed',
  'sudo_command',
  'su_failure',
  'session_opened',
  'session_closed',
  'account_created',
  'account_deleted',
  'account_changed',
  'password_changed',
  'group_created',
  'group_deleted',
  'group_changed',
] as const;
export type AuthKind = (typeof KINDS)[number];

export interface AuthRecord {
  kind: AuthKind;
  program: string;
  pid?: number;
  host?: string;
  /** ms since epoch; absent when the line had no timestamp we understand. */
  time?: number;
  user?: string;
  /** Source address (IPv4, IPv6, or a host name when sshd has UseDNS on). */
  src?: string;
  port?: number;
  method?: string;
  invalidUser?: boolean;
  /** One failed authentication attempt from `src` (feeds brute-force counting). */
  counts: boolean;
  /** "message repeated N times": this record stands for N lines. */
  repeat: number;
  /** Group, target user of su/sudo, PAM service, reason... depending on kind. */
  target?: string;
  detail?: string;
}

export interface ParseOptions {
  /** Zone of timestamps written without one (syslog). */
  tz: string;
  /** Now, to infer the year of syslog timestamps. */
  now: number;
}

const MONTHS: Record<string, number> = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 };
const MAX_LINE = 16 * 1024;
const MAX_USER = 256;

const SYSLOG_RE = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))? +(\S+) +(.*)$/;
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})? +(\S+) +(.*)$/;
// program[pid]: message   |   su(pam_unix)[123]: message   |   sudo: message
const TAG_RE = /^([A-Za-z0-9_.\/-]+)(?:\(([^)\s]{1,64})\))?(?:\[(\d{1,10})\])?: ?(.*)$/;
const REPEAT_RE = /^message repeated (\d{1,9}) times: \[ ?(.*?) ?\]$/;

function syslogTime(mon: string, day: number, h: number, mi: number, s: number, frac: string | undefined, opts: ParseOptions): number | undefined {
  const month = MONTHS[mon];
  if (!month || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  // Syslog has no year: take this year's, or last year's when that would lie in the future
  // (a December line read in January). A day of slack covers clock skew between hosts.
  const year = wallClock(opts.now, opts.tz).year;
  let t = zonedToUtc(year, month, day, h, mi, s, ms, opts.tz);
  if (t > opts.now + 86_400_000) t = zonedToUtc(year - 1, month, day, h, mi, s, ms, opts.tz);
  return t;
}

function isoTime(m: RegExpExecArray, opts: ParseOptions): number | undefined {
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || s! > 60) return undefined;
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const zone = m[8];
  if (!zone) return zonedToUtc(y!, mo!, d!, h!, mi!, s!, ms, opts.tz);
  const base = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms);
  if (zone === 'Z') return base;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const off = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  return base - sign * off;
}

export interface Header {
  time?: number;
  host?: string;
  program: string;
  pid?: number;
  pamModule?: string;
  message: string;
}

/** Split a syslog-style line into time, host, program, pid and message. */
export function parseHeader(line: string, opts: ParseOptions): Header | undefined {
  let time: number | undefined;
  let host: string;
  let rest: string;
  let m = SYSLOG_RE.exec(line);
  if (m) {
    time = syslogTime(m[1]!, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), m[6], opts);
    host = m[7]!;
    rest = m[8]!;
  } else if ((m = ISO_RE.exec(line))) {
    time = isoTime(m, opts);
    host = m[9]!;
    rest = m[10]!;
  } else return undefined;
  // An impossible date (month 13, 25:61) is garbage, not a line to guess about.
  if (time === undefined) return undefined;
  const t = TAG_RE.exec(rest);
  if (!t) return undefined;
  const program = t[1]!.slice(t[1]!.lastIndexOf('/') + 1);
  let message = t[4]!;
  // Solaris: "[ID 800047 auth.notice] Failed none for root ..."
  message = message.replace(/^\[ID \d+ [\w.]+\] /, '');
  return { time, host, program, pid: t[3] ? Number(t[3]) : undefined, pamModule: t[2], message };
}

/** Normalise a source address; undefined when it is not an address or host name. */
export function normAddr(s: string): string | undefined {
  let a = s.replace(/^\[(.*)\]$/, '$1');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped) a = mapped[1]!;
  if (isIP(a)) return a.toLowerCase();
  if (a.length <= 253 && /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(a) && /[A-Za-z]/.test(a)) {
    return a.toLowerCase();
  }
  return undefined;
}

type Fields = Omit<AuthRecord, 'program' | 'pid' | 'host' | 'time' | 'repeat'>;
type Rule = [RegExp, (m: RegExpExecArray) => Fields | undefined];

const user = (s: string | undefined) => (s === undefined ? undefined : s.length > MAX_USER ? s.slice(0, MAX_USER) : s);
const port = (s: string | undefined) => (s ? Number(s) : undefined);
const KEY_METHODS = new Set(['publickey', 'hostbased']);

function withSrc(f: Fields, addr: string | undefined): Fields | undefined {
  if (addr === undefined) return f;
  const src = normAddr(addr);
  return src ? { ...f, src } : undefined;
}

// sshd. Patterns end in `$` and user names are greedy `(.*)`, so the LAST " from <addr>" wins.
const SSHD: Rule[] = [
  [
    /^Failed (\S+) for (invalid user |illegal user )?(.*) from (\S+)(?: port (\d+))?(?: ssh\d?)?(: .*)?$/,
    (m) =>
      m[6] && !KEY_METHODS.has(m[1]!)
        ? undefined
        : withSrc({ kind: 'auth_failure', method: m[1], user: user(m[3]), invalidUser: !!m[2], port: port(m[5]), counts: true }, m[4]),
  ],
  [
    /^Accepted (\S+) for (.*) from (\S+) port (\d+)(?: ssh\d?)?(: .*)?$/,
    (m) => withSrc({ kind: 'login_success', method: m[1], user: user(m[2]), port: port(m[4]), counts: false }, m[3]),
  ],
  [
    /^Postponed (\S+) for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh\d?)?$/,
    (m) => withSrc({ kind: 'postponed', method: m[1], user: user(m[3]), invalidUser: !!m[2], port: port(m[5]), counts: false }, m[4]),
  ],
  [
    /^(?:Invalid|Illegal) user (.*) from (\S+)(?: port (\d+))?$/,
    (m) => withSrc({ kind: 'invalid_user', user: user(m[1]), invalidUser: true, port: port(m[3]), counts: true }, m[2]),
  ],
  [
    /^User (.*) from (\S+) not allowed because ((?:not )?listed in (?:Allow|Deny)(?:Users|Groups)|none of user's groups are listed in AllowGroups|a group is listed in DenyGroups|not in any group|shell .* (?:not executable|does not exist)|account is locked)$/,
    (m) => withSrc({ kind: 'user_not_allowed', user: user(m[1]), detail: m[3], counts: true }, m[2]),
  ],
  [/^ROOT LOGIN REFUSED FROM (\S+)(?: port (\d+))?$/, (m) => withSrc({ kind: 'root_refused', user: 'root', port: port(m[2]), counts: true }, m[1])],
  [
    /^(?:error: )?maximum authentication attempts exceeded for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh\d?)?$/,
    (m) => withSrc({ kind: 'too_many_failures', user: user(m[2]), invalidUser: !!m[1], port: port(m[4]), counts: false }, m[3]),
  ],
  [
    /^Disconnecting(?: (invalid user|authenticating user) (.*) (\S+) port (\d+))?: Too many authentication failures(?: for (invalid user )?(.*))?$/,
    (m) =>
      withSrc(
        { kind: 'too_many_failures', user: user(m[2] ?? m[6]), invalidUser: m[1] === 'invalid user' || !!m[5], port: port(m[4]), counts: false },
        m[3],
      ),
  ],
  [
    /^(?:error: )?PAM: (?:authentication error|unknown user|User not known to the underlying authentication module) for (illegal user |invalid user )?(.*) from (\S+)(?: via \S+)?$/,
    (m) => withSrc({ kind: 'pam_failure', target: 'sshd', user: user(m[2]), invalidUser: !!m[1], counts: false }, m[3]),
  ],
  [
    /^(?:Disconnected from|Disconnecting|Connection closed by|Connection reset by|Received disconnect from) (invalid user |authenticating user |user )?(?:(.*) )?(\S+) port (\d+)(?::\d+:.*| \[preauth\]|)$/,
    (m) => withSrc({ kind: 'disconnect', user: user(m[2]), invalidUser: m[1] === 'invalid user ', port: port(m[4]), counts: false }, m[3]),
  ],
  [
    /^Received disconnect from (\S+?)(?: port (\d+))?: ?\d+:.*$/,
    (m) => withSrc({ kind: 'disconnect', port: port(m[2]), counts: false }, m[1]),
  ],
  [
    /^(?:Did not receive identification string from (\S+)(?: port (\d+))?|Bad protocol version identification .* from (\S+)(?: port (\d+))?|(?:fatal: )?Unable to negotiate with (\S+?)(?: port (\d+))?: .*)$/,
    (m) => withSrc({ kind: 'probe', port: port(m[2] ?? m[4] ?? m[6]), counts: false }, m[1] ?? m[3] ?? m[5]),
  ],
];

// PAM modules, whatever program logs them ("pam_unix(sshd:auth): ..." or "su(pam_unix)[1]: ...").
const PAM_KV_RE = /(\w+)=(\S*)/g;
function pamKv(s: string): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const m of s.matchAll(PAM_KV_RE)) kv[m[1]!] = m[2]!;
  return kv;
}

function classifyPam(service: string, rest: string): Fields | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^(?:(\d+) more )?authentication failures?; (.*)$/.exec(rest))) {
    const kv = pamKv(m[2]!);
    const su = /^su(-l)?$/.test(service);
    // For sshd the "Failed password" line of the same attempt is what counts; PAM's line is its
    // companion. Other remote services (vsftpd, login over telnet, dovecot) count by rhost.
    const remote = !!kv.rhost && service !== 'sshd' && !su && !m[1];
    const f: Fields = {
      kind: su ? 'su_failure' : 'pam_failure',
      user: user(kv.user || undefined),
      target: service,
      detail: kv.ruser || kv.logname || undefined,
      counts: remote,
    };
    return kv.rhost ? withSrc(f, kv.rhost) ?? { ...f, counts: false } : f;
  }
  if ((m = /^check pass; user unknown$/.exec(rest))) return { kind: 'pam_unknown_user', target: service, invalidUser: true, counts: false };
  if ((m = /^session opened for user (\S+?)(?:\(uid=\d+\))? by (.*)$/.exec(rest))) return { kind: 'session_opened', user: user(m[1]), target: service, detail: m[2], counts: false };
  if ((m = /^session closed for user (\S+)$/.exec(rest))) return { kind: 'session_closed', user: user(m[1]), target: service, counts: false };
  if ((m = /^password changed for (\S+)$/.exec(rest))) return { kind: 'password_changed', user: user(m[1]), target: service, counts: false };
  return undefined;
}

const SUDO_RE = /^\s*(\S+) : (?:(\d+) incorrect password attempts?|(user NOT in sudoers|user NOT authorized on host|command not allowed|a password is required)) ; TTY=(\S*) ; PWD=.*? ; USER=(\S+) ;(?: .*?;)? COMMAND=(.*)$/;
const SUDO_OK_RE = /^\s*(\S+) : TTY=(\S*) ; PWD=.*? ; USER=(\S+) ;(?: .*?;)? COMMAND=(.*)$/;

const ACCOUNT: Rule[] = [
  [/^new user: name=([^,]+), UID=(\d+), GID=(\d+)(?:, home=([^,]*))?(?:, shell=([^,]*))?/, (m) => ({ kind: 'account_created', user: user(m[1]), detail: `uid=${m[2]} gid=${m[3]}${m[5] ? ` shell=${m[5]}` : ''}`, counts: false })],
  [/^new group: name=([^,]+), GID=(\d+)$/, (m) => ({ kind: 'group_created', target: m[1], detail: `gid=${m[2]}`, counts: false })],
  [/^delete user '([^']+)'$/, (m) => ({ kind: 'account_deleted', user: user(m[1]), counts: false })],
  [/^(?:group '([^']+)' removed|removed group '([^']+)' owned by '[^']*')$/, (m) => ({ kind: 'group_deleted', target: m[1] ?? m[2], counts: false })],
  [/^add '([^']+)' to group '([^']+)'$/, (m) => ({ kind: 'group_changed', user: user(m[1]), target: m[2], detail: 'added', counts: false })],
  [/^delete '([^']+)' from group '([^']+)'$/, (m) => ({ kind: 'group_changed', user: user(m[1]), target: m[2], detail: 'removed', counts: false })],
  [/^user (\S+) added by (\S+) to group (\S+)$/, (m) => ({ kind: 'group_changed', user: user(m[1]), target: m[3], detail: `added by ${m[2]}`, counts: false })],
  [/^user (\S+) removed by (\S+) from group (\S+)$/, (m) => ({ kind: 'group_changed', user: user(m[1]), target: m[3], detail: `removed by ${m[2]}`, counts: false })],
  [/^(?:change user '([^']+)' (.*)|(lock|unlock) user '([^']+)' password|change user name '([^']+)' to '([^']+)')$/, (m) => ({ kind: 'account_changed', user: user(m[1] ?? m[4] ?? m[5]), detail: m[2] ?? (m[3] ? `${m[3]} password` : `renamed to ${m[6]}`), counts: false })],
  [/^password for '([^']+)' changed by '([^']+)'$/, (m) => ({ kind: 'password_changed', user: user(m[1]), detail: `by ${m[2]}`, counts: false })],
];
const ACCOUNT_PROGRAMS = new Set(['useradd', 'userdel', 'usermod', 'groupadd', 'groupdel', 'groupmod', 'gpasswd', 'passwd', 'chpasswd', 'adduser', 'deluser', 'chage', 'newusers']);

function run(rules: Rule[], msg: string): Fields | undefined {
  for (const [re, f] of rules) {
    const m = re.exec(msg);
    if (m) return f(m);
  }
  return undefined;
}

/** Classify one message of `program` (the part after "program[pid]: "). */
export function classify(program: string, message: string, pamModule?: string): Fields | undefined {
  const msg = message.replace(/ \[preauth\]$/, '').trimEnd();
  const pam = /^(pam_\w+)\(([\w-]+)(?::\w+)?\): (.*)$/.exec(msg);
  if (pam) return pam[1] === 'pam_unix' || pam[1] === 'pam_sss' || pam[1] === 'pam_ldap' ? classifyPam(pam[2]!, pam[3]!) : undefined;
  if (pamModule) return classifyPam(program, msg);
  if (program === 'sshd' || program === 'sshd-session') {
    const f = run(SSHD, msg);
    if (f) return f;
    const m = /^PAM (\d+) more authentication failures?; (.*)$/.exec(msg);
    if (m) return classifyPam('sshd', `${m[1]} more authentication failures; ${m[2]}`);
    return undefined;
  }
  if (program === 'sudo') {
    let m = SUDO_RE.exec(msg);
    if (m) {
      const n = m[2] ? Number(m[2]) : undefined;
      return { kind: n ? 'sudo_failure' : 'sudo_not_allowed', user: user(m[1]), target: m[5], detail: `${m[3] ?? `${n} incorrect password attempts`}; command=${m[6]}`, counts: false };
    }
    m = SUDO_OK_RE.exec(msg);
    if (m) return { kind: 'sudo_command', user: user(m[1]), target: m[3], detail: `command=${m[4]}`, counts: false };
    return undefined;
  }
  if (program === 'su') {
    const m = /^(?:FAILED SU \(to (\S+)\) (\S+) on (\S+)|FAILED su for (\S+) by (\S+))$/.exec(msg);
    // util-linux su logs this next to pam_unix's line for the same attempt: recognised, not counted twice.
    if (m) return { kind: 'su_failure', user: user(m[1] ?? m[4]), detail: m[2] ?? m[5], target: 'su-summary', counts: false };
    return undefined;
  }
  if (ACCOUNT_PROGRAMS.has(program)) return run(ACCOUNT, msg);
  return undefined;
}

/** Parse one log line; undefined when it is not an auth event we know. Never throws. */
export function parseLine(line: string, opts: ParseOptions): AuthRecord | undefined {
  if (line.length > MAX_LINE) return undefined;
  const h = parseHeader(line.replace(/\r$/, ''), opts);
  if (!h) return undefined;
  return recordFrom(h);
}

/** Build a record from an already split header (also used for journal entries). */
export function recordFrom(h: Header): AuthRecord | undefined {
  let message = h.message;
  let repeat = 1;
  const r = REPEAT_RE.exec(message);
  if (r) {
    repeat = Math.min(Number(r[1]), 1_000_000);
    message = r[2]!;
  }
  const f = classify(h.program, message, h.pamModule);
  if (!f) return undefined;
  return { ...f, program: h.program, pid: h.pid, host: h.host, time: h.time, repeat };
}

// Pure parsing of auth log lines (auth.log, /var/log/secure, journal messages) into records:
// what happened (kind), to whom, from where, when. No I/O and no state: aggregate.ts turns
// records into events. Source addresses are always taken from the fixed position sshd
// writes them at the END of the message, so a user name such as "x from 6.6.6.6" that an
// attacker sends cannot choose the address that gets counted (greedy user captures below).
import { zonedToUtc, wallClock } from '@canh/core/time-zone';
import { bounded } from '../group-findings.ts';
import { normAddr, type AuthRecord } from '../auth/record.ts';

export { KINDS, normAddr, type AuthKind, type AuthRecord } from '../auth/record.ts';

/** fail2ban's modes: probes and negotiation failures count in ddos, pre-auth disconnects in aggressive too. */
export const MODES = ['normal', 'ddos', 'aggressive'] as const;
export type Mode = (typeof MODES)[number];

export interface ParseOptions {
  /** Zone of timestamps written without one (syslog). */
  tz: string;
  /** Now, to infer the year of syslog timestamps. */
  now: number;
  /** Which lines count as attempts beyond plain authentication failures (default normal). */
  mode?: Mode;
}

const MONTHS: Record<string, number> = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 };
const MAX_LINE = 16 * 1024;
const MAX_USER = 256;

// RFC 3164 (BSD syslog): optional <PRI>, "Nov 23 21:50:37", then the host name unless the
// next word is already the tag (some syslogds and fail2ban's samples write none).
const SYSLOG_RE = /^(?:<\d{1,3}>)?([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?: (\d{4}))? +(.*)$/;
// ISO 8601 (rsyslog's high-precision format, journalctl -o short-iso, Wazuh's samples).
const ISO_RE = /^(?:<\d{1,3}>)?(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})? +(.*)$/;
// RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD]... MSG (NILVALUE "-" anywhere).
const RFC5424_RE = /^(?:<\d{1,3}>)?1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)(?: \uFEFF?(.*))?$/;
// program[pid]: message | su(pam_unix)[123]: message | sudo: message | [sshd]: | [sshd] message
const TAG_RE = /^([A-Za-z0-9_.\/-]+)(?:\(([^)\s]{1,64})\))?(?:\[(\d{1,10})\])?: ?(.*)$/;
const BRACKET_TAG_RE = /^[[(]([A-Za-z][A-Za-z0-9_.\/-]*)(?:\[(\d{1,10})\])?[\])]:? (.*)$/;
// BSD syslogd -v: "<auth.info> sshd[1]: ..."
const FACILITY_RE = /^<[a-z0-9]+\.[a-z]+> /;
// Logs that daemons write themselves: exim's mainlog, vsftpd's vsftpd.log (ctime dates).
const EXIM_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?( [+-]\d{4})? (?:\[(\d{1,10})\] )?(?:\w{6}-\w{6,11}-\w{2,4} )?(.*)$/;
const CTIME_RE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) \[pid (\d{1,10})\] (.*)$/;
const REPEAT_RE = /^message repeated (\d{1,9}) times: \[ ?(.*?) ?\]$/;

// Zone arithmetic through Intl costs microseconds per call, and every line needs it: the
// zone's offset is kept per hour of local time, the current year per minute of `now`.
const offsets = new Map<string, number>();
let yearMemo = { tz: '', minute: NaN, year: 0 };

let lastHour = { tz: '', y: 0, mo: 0, d: 0, h: -1, off: 0 };

function zoned(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, tz: string): number {
  const l = lastHour;
  if (l.h === h && l.d === d && l.mo === mo && l.y === y && l.tz === tz) return Date.UTC(y, mo - 1, d, h, mi, s, ms) + l.off;
  const key = `${tz}|${y}|${mo}|${d}|${h}`;
  let off = offsets.get(key);
  if (off === undefined) {
    off = zonedToUtc(y, mo, d, h, 0, 0, 0, tz) - Date.UTC(y, mo - 1, d, h);
    if (offsets.size >= 4096) offsets.clear();
    offsets.set(key, off);
  }
  lastHour = { tz, y, mo, d, h, off };
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) + off;
}

function currentYear(now: number, tz: string): number {
  const minute = Math.floor(now / 60_000);
  if (yearMemo.tz !== tz || yearMemo.minute !== minute) yearMemo = { tz, minute, year: wallClock(now, tz).year };
  return yearMemo.year;
}

function syslogTime(
  mon: string,
  day: number,
  h: number,
  mi: number,
  s: number,
  frac: string | undefined,
  opts: ParseOptions,
  year?: number,
): number | undefined {
  const month = MONTHS[mon];
  if (!month || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  if (year !== undefined) return zoned(year, month, day, h, mi, s, ms, opts.tz);
  // Syslog has no year: take this year's, or last year's when that would lie in the future
  // (a December line read in January). A day of slack covers clock skew between hosts.
  const y = currentYear(opts.now, opts.tz);
  let t = zoned(y, month, day, h, mi, s, ms, opts.tz);
  if (t > opts.now + 86_400_000) t = zoned(y - 1, month, day, h, mi, s, ms, opts.tz);
  return t;
}

/** Fields 1-6: date and time, 7: fraction, 8: zone (absent: `opts.tz`). */
function isoTime(m: RegExpExecArray | readonly (string | undefined)[], opts: ParseOptions): number | undefined {
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || s! > 60) return undefined;
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const zone = m[8]?.trim();
  if (!zone) return zoned(y!, mo!, d!, h!, mi!, s!, ms, opts.tz);
  const base = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms);
  if (zone === 'Z') return base;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const off = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  return base - sign * off;
}

const ISO_TS_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export interface Header {
  time?: number;
  host?: string;
  program: string;
  pid?: number;
  pamModule?: string;
  message: string;
  /** Which header form the line had (what `detect` shows). */
  form?: 'rfc3164' | 'rfc3164-nohost' | 'iso' | 'rfc5424' | 'exim' | 'vsftpd' | 'journal';
}

/** "sshd[1]: msg" after the time (and host): program, pid, PAM module, message. */
function splitTag(rest: string): Omit<Header, 'time' | 'host'> | undefined {
  rest = rest.replace(FACILITY_RE, '');
  const t = TAG_RE.exec(rest);
  if (t) {
    let message = t[4]!;
    // Solaris: "[ID 800047 auth.notice] Failed none for root ..."
    message = message.replace(/^\[ID \d+ [\w.]+\] /, '');
    return { program: t[1]!.slice(t[1]!.lastIndexOf('/') + 1), pid: t[3] ? Number(t[3]) : undefined, pamModule: t[2], message };
  }
  const b = BRACKET_TAG_RE.exec(rest);
  if (b) return { program: b[1]!.slice(b[1]!.lastIndexOf('/') + 1), pid: b[2] ? Number(b[2]) : undefined, message: b[3]! };
  return undefined;
}

/** After the time: "host tag: msg" or, when the first word is already a tag, "tag: msg". */
function hostAndTag(rest: string): { host?: string; tag: Omit<Header, 'time' | 'host'> } | undefined {
  const first = /^(\S+) +(.*)$/.exec(rest);
  if (first && !/[:\]]$/.test(first[1]!)) {
    const tag = splitTag(first[2]!);
    if (tag) return { host: first[1], tag };
  }
  const tag = splitTag(rest);
  return tag ? { tag } : undefined;
}

// The form nearly every line of a Linux auth log has, in one pass: "Mmm dd hh:mm:ss host
// prog[pid]: msg" with single spaces, no <PRI>, fraction, year, (pam) tag or BSD facility.
// Its groups are those SYSLOG_RE, hostAndTag and TAG_RE take for such a line (the same
// character classes in the same order), so its result is theirs; anything else (and a host
// that hostAndTag would not take as one) goes the general way. header.test.ts compares both
// ways on every line of the fixtures and on crafted near-misses.
const FAST_RE = /^([A-Z][a-z]{2}) ( \d|\d\d) (\d\d):(\d\d):(\d\d) (\S+) ([A-Za-z0-9_.\/-]+)(?:\[(\d{1,10})\])?: ?(.*)$/;
// FAST_RE after its 15-character time and its space, for a line whose time is the one
// FAST_RE read last (sticky: matched at lastIndex 16 only). Same groups, same classes.
const FAST_TAIL_RE = /(\S+) ([A-Za-z0-9_.\/-]+)(?:\[(\d{1,10})\])?: ?(.*)$/y;
// The lines of one second share their time: the last stamp FAST_RE read (15 characters), the
// zone and year it was read in, and this year's time for it (undefined: an impossible date);
// whether that lies more than a day ahead of `now` is looked at for each line. Keyed by the
// year, not by `now` itself: the live detector's `now` changes every millisecond.
let stampMemo = { stamp: '', tz: '', year: NaN, time: 0 as number | undefined };

/** The time of FAST_RE's 15-character stamp at the start of `line` (syslogTime's answer). */
function stampTime(line: string, opts: ParseOptions): number | undefined {
  const sm = stampMemo;
  const year = currentYear(opts.now, opts.tz);
  if (sm.stamp === '' || sm.tz !== opts.tz || sm.year !== year || !line.startsWith(sm.stamp)) {
    const month = MONTHS[line.slice(0, 3)];
    const day = Number(line.slice(4, 6));
    const h = Number(line.slice(7, 9));
    const mi = Number(line.slice(10, 12));
    const sec = Number(line.slice(13, 15));
    // This year's time, or undefined for an impossible date (syslogTime's checks).
    const valid = month && day >= 1 && day <= 31 && h <= 23 && mi <= 59 && sec <= 60;
    stampMemo = { stamp: line.slice(0, 15), tz: opts.tz, year, time: valid ? zoned(year, month, day, h, mi, sec, 0, opts.tz) : undefined };
  }
  const t = stampMemo.time;
  // More than a day ahead: last year's (syslogTime's rule, looked at again for each line's `now`).
  if (t === undefined || t <= opts.now + 86_400_000) return t;
  return syslogTime(
    line.slice(0, 3),
    Number(line.slice(4, 6)),
    Number(line.slice(7, 9)),
    Number(line.slice(10, 12)),
    Number(line.slice(13, 15)),
    undefined,
    opts,
  );
}

/** FAST_RE's host, program, pid and message (the groups from `g`); the time from its stamp. */
function fastMatch(line: string): { m: RegExpExecArray; g: number } | null {
  const sm = stampMemo;
  // The stamp FAST_RE read last (so FAST_RE's time part matches) and its space: the rest alone.
  if (sm.stamp !== '' && line.charCodeAt(15) === 32 && line.startsWith(sm.stamp)) {
    FAST_TAIL_RE.lastIndex = 16;
    const m = FAST_TAIL_RE.exec(line);
    return m && { m, g: 1 };
  }
  const m = FAST_RE.exec(line);
  return m && { m, g: 6 };
}

function fastHeader(line: string, opts: ParseOptions): Header | undefined | null {
  const f = fastMatch(line);
  if (!f) return null;
  const m = f.m;
  const host = m[f.g]!;
  const last = host.charCodeAt(host.length - 1);
  // A first word ending in ":" or "]" is a tag (no host); four digits are SYSLOG_RE's year.
  if (last === 58 || last === 93 || (host.length === 4 && /^\d{4}$/.test(host))) return null;
  let message = m[f.g + 3]!;
  if (message.startsWith('[ID ')) message = message.replace(/^\[ID \d+ [\w.]+\] /, '');
  const time = stampTime(line, opts);
  if (time === undefined) return undefined;
  const prog = m[f.g + 1]!;
  // indexOf first: lastIndexOf is a runtime call, and most programs have no "/".
  const slash = prog.indexOf('/') < 0 ? -1 : prog.lastIndexOf('/');
  const pid = m[f.g + 2];
  return {
    time,
    host,
    program: slash < 0 ? prog : prog.slice(slash + 1),
    pid: pid ? Number(pid) : undefined,
    pamModule: undefined,
    message,
    form: 'rfc3164',
  };
}

/** Split a syslog-style line into time, host, program, pid and message. */
export function parseHeader(line: string, opts: ParseOptions): Header | undefined {
  if (reference) return parseHeaderGeneral(line, opts);
  const fast = fastHeader(line, opts);
  if (fast !== null) return fast;
  return parseHeaderGeneral(line, opts);
}

/** parseHeader without the fast path (what the fast path is tested against). */
export function parseHeaderGeneral(line: string, opts: ParseOptions): Header | undefined {
  let m = SYSLOG_RE.exec(line);
  if (m) {
    const time = syslogTime(m[1]!, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), m[6], opts, m[7] ? Number(m[7]) : undefined);
    // An impossible date (month 13, 25:61) is garbage, not a line to guess about.
    if (time === undefined) return undefined;
    const ht = hostAndTag(m[8]!);
    return ht && { time, host: ht.host, ...ht.tag, form: ht.host === undefined ? 'rfc3164-nohost' : 'rfc3164' };
  }
  if ((m = RFC5424_RE.exec(line))) {
    const ts = m[1] === '-' ? undefined : ISO_TS_RE.exec(m[1]!);
    const time = ts ? isoTime(ts, opts) : undefined;
    if (m[1] !== '-' && time === undefined) return undefined;
    const app = m[3] === '-' ? undefined : m[3]!;
    if (!app) return undefined;
    const pid = /^\d{1,10}$/.test(m[4]!) ? Number(m[4]) : undefined;
    const pam = /^([A-Za-z0-9_.\/-]+)\(([^)\s]{1,64})\)$/.exec(app);
    const program = (pam ? pam[1]! : app).replace(/^.*\//, '');
    return { time, host: m[2] === '-' ? undefined : m[2], program, pid, pamModule: pam?.[2], message: m[7] ?? '', form: 'rfc5424' };
  }
  if ((m = ISO_RE.exec(line))) {
    const time = isoTime(m, opts);
    if (time === undefined) return undefined;
    const ht = hostAndTag(m[9]!);
    if (ht) return { time, host: ht.host, ...ht.tag, form: 'iso' };
  }
  if ((m = EXIM_RE.exec(line))) {
    const time = isoTime([m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]], opts);
    if (time === undefined) return undefined;
    return { time, program: 'exim', pid: m[9] ? Number(m[9]) : undefined, message: m[10]!, form: 'exim' };
  }
  if ((m = CTIME_RE.exec(line))) {
    const time = syslogTime(m[1]!, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), undefined, opts, Number(m[6]));
    if (time === undefined) return undefined;
    return { time, program: 'vsftpd', pid: Number(m[7]), message: m[8]!, form: 'vsftpd' };
  }
  return undefined;
}

type Level = 'ddos' | 'aggressive';
type Fields = Omit<AuthRecord, 'program' | 'pid' | 'host' | 'time' | 'repeat'> & { level?: Level };
type Rule = [RegExp, (m: RegExpExecArray) => Fields | undefined];

const user = (s: string | undefined) => (s === undefined ? undefined : s.length > MAX_USER ? s.slice(0, MAX_USER) : s);
const port = (s: string | undefined) => (s ? Number(s) : undefined);
const KEY_METHODS = new Set(['publickey', 'hostbased']);

// Fields objects are made fresh for each line by the rules: completed in place (a copy per
// line and per step costs allocations on every line of a busy log).
function withSrc(f: Fields, addr: string | undefined): Fields | undefined {
  if (addr === undefined) return f;
  const src = normAddr(addr);
  if (!src) return undefined;
  f.src = src;
  return f;
}

/** What a program or PAM service name stands for: ssh, mail, ftp, or the name itself. */
export function serviceOf(name: string): string {
  // A pure function of a name that comes back on every PAM line: the answers are kept (bounded).
  let s = serviceMemo.get(name);
  if (s === undefined) {
    s = serviceOfUncached(name);
    if (serviceMemo.size >= 256) serviceMemo.clear();
    serviceMemo.set(name, s);
  }
  return s;
}
const serviceMemo = new Map<string, string>();

function serviceOfUncached(name: string): string {
  const n = name.toLowerCase();
  if (/^sshd?(?:-session)?$/.test(n)) return 'ssh';
  if (
    /^(?:dovecot|dovecot-auth|auth|imap|imap-login|imaps|pop|pop3|pop3-login|pop3s|smtp|smtpd|smtps|submission|sieve|managesieve|exim\d?|postfix|sendmail|mail)$/.test(
      n,
    )
  )
    return 'mail';
  if (/^(?:vsftpd|proftpd|pure-ftpd|ftp|ftpd|wu-ftpd|gssftp)$/.test(n)) return 'ftp';
  return /^[a-z0-9_.-]{1,32}$/.test(n) ? n : 'other';
}

// sshd "Failed <method> for [invalid user ]<user> from <addr> port <port> ssh2[: <info>]".
// The user is the attacker's text and may hold " from 6.6.6.6 port 1 ssh2"; <info> follows
// only key methods (a key type and fingerprint, never with " from "). So: a user without
// spaces ends at the first " from " (then any info may follow, as fail2ban reads it);
// otherwise the LAST " from <addr>" whose tail is a plain info wins.
const FAILED_SIMPLE = /^Failed (\S+) for (invalid user |illegal user )?(\S+) from (\S+)(?: port (\d+))?(?: on \S+(?: port \d+)?)?(?: ssh\d*)?(?:: (.*))?$/;
const FAILED_GREEDY =
  /^Failed (\S+) for (invalid user |illegal user )?(.*) from (\S+)(?: port (\d+))?(?: on \S+(?: port \d+)?)?(?: ssh\d*)?(: (?:(?! from ).)*)?$/;

function failed(msg: string): Fields | undefined {
  let m = FAILED_SIMPLE.exec(msg);
  if (m && m[6] !== undefined && !KEY_METHODS.has(m[1]!) && !m[6].startsWith('ruser')) m = null;
  if (!m) {
    m = FAILED_GREEDY.exec(msg);
    if (m && m[6] !== undefined && !KEY_METHODS.has(m[1]!)) return undefined;
  }
  if (!m) return undefined;
  return withSrc({ kind: 'auth_failure', method: m[1], user: user(m[3]), invalidUser: !!m[2], port: port(m[5]), counts: true, service: 'ssh' }, m[4]);
}

const ssh = (f: Fields): Fields => {
  f.service = 'ssh';
  return f;
};
// The user is the client's text: greedy, so the LAST "<addr> port <n>" is the address.
const DISCONNECT_RE =
  /^(Connection closed by|Connection reset by|Disconnected from|Disconnecting) (?:(invalid user |authenticating user |user )(.*) )?(\S+) port (\d+)(?: on \S+(?: port \d+)?)?$/;
const DISCONNECT_NOPORT_RE = /^(Connection closed by|Connection reset by|Disconnected from) (\S+)$/;

// sshd, after "error: ", "fatal: ", "PAM: " and " [preauth]" are taken off. User names are
// greedy `(.*)` before an address at a fixed place, so the LAST " from <addr>" wins.
const SSHD: Rule[] = [
  [/^Failed /, (m) => failed(m.input)],
  [
    /^Accepted (\S+) for (.*) from (\S+) port (\d+)(?: ssh\d*)?(: .*)?$/,
    (m) => withSrc(ssh({ kind: 'login_success', method: m[1], user: user(m[2]), port: port(m[4]), counts: false }), m[3]),
  ],
  [
    /^Postponed (\S+) for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh\d*)?$/,
    (m) => withSrc(ssh({ kind: 'postponed', method: m[1], user: user(m[3]), invalidUser: !!m[2], port: port(m[5]), counts: false }), m[4]),
  ],
  [
    /^(?:Invalid|Illegal|invalid|illegal) user (.*) from (\S+?)(?: port (\d+))?(?: on \S+(?: port \d+)?)?$/,
    (m) => withSrc(ssh({ kind: 'invalid_user', user: user(m[1]), invalidUser: true, port: port(m[3]), counts: true }), m[2]),
  ],
  [
    /^User (.*) from (\S+) not allowed because ((?:not )?listed in (?:Allow|Deny)(?:Users|Groups)|none of user's groups are listed in AllowGroups|a group is listed in DenyGroups|not in any group|shell .* (?:not executable|does not exist)|account is locked)$/,
    (m) => withSrc(ssh({ kind: 'user_not_allowed', user: user(m[1]), detail: m[3], counts: true }), m[2]),
  ],
  // No address on the line: session.ts takes it from an earlier or later line of the same pid.
  [
    /^User (\S+) not allowed because (account is locked|shell .* (?:not executable|does not exist))$/,
    (m) => ssh({ kind: 'user_not_allowed', user: user(m[1]), detail: m[2], counts: true }),
  ],
  [
    /^ROOT LOGIN REFUSED(?: .*)? FROM (\S+?)(?: port (\d+))?$/,
    (m) => withSrc(ssh({ kind: 'root_refused', user: 'root', port: port(m[2]), counts: true }), m[1]),
  ],
  [
    /^maximum authentication attempts exceeded for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh\d*)?$/,
    (m) => withSrc(ssh({ kind: 'too_many_failures', user: user(m[2]), invalidUser: !!m[1], port: port(m[4]), counts: false }), m[3]),
  ],
  [
    /^Disconnecting(?: (invalid user|authenticating user) (.*) (\S+) port (\d+))?: Too many authentication failures(?: for (invalid user )?(.*))?$/,
    (m) =>
      withSrc(
        ssh({
          kind: 'too_many_failures',
          user: user(m[2] ?? m[6]),
          invalidUser: m[1] === 'invalid user' || !!m[5],
          port: port(m[4]),
          counts: false,
          ends: true,
        }),
        m[3],
      ),
  ],
  [
    /^Disconnecting (?:from )?(invalid|authenticating) user (\S+) (\S+) port (\d+): Change of username or service not allowed: .*$/,
    (m) => withSrc(ssh({ kind: 'user_change', user: user(m[2]), invalidUser: m[1] === 'invalid', port: port(m[4]), counts: true, ends: true }), m[3]),
  ],
  // macOS/BSD and OpenSSH with UsePAM: the PAM verdict, often without a "Failed" line.
  [
    /^(?:[aA]uthentication (?:failure|error|failed)|User not known to the underlying authentication module|unknown user) for (illegal user |invalid user )?(.*) from (\S+?)(?: via \S+)?(?: port \d+)?$/,
    (m) => withSrc(ssh({ kind: 'pam_failure', target: 'sshd', user: user(m[2]), invalidUser: !!m[1], counts: false, deferred: true }), m[3]),
  ],
  [/^refused connect from (\S+) \((\S+)\)$/, (m) => withSrc(ssh({ kind: 'refused_connect', detail: bounded(m[1]!, 100), counts: true, ends: true }), m[2])],
  [
    /^Received disconnect from (\S+?)(?: port (\d+))?: ?(\d+): (.*)$/,
    (m) => {
      const code = m[3];
      const f: Fields = { kind: 'disconnect', port: port(m[2]), counts: false, ends: true, service: 'ssh' };
      // 3 = SSH_DISCONNECT_KEY_EXCHANGE... as jsch sends it after a refused password: "Auth fail".
      if (code === '3' && /: Auth fail$/.test(m[4]!)) return withSrc({ ...f, kind: 'auth_failure', method: 'client-reported', counts: true }, m[1]);
      if (code === '14' && /^No(?: supported)? authentication methods available$/.test(m[4]!))
        return withSrc({ ...f, kind: 'probe', level: 'aggressive' }, m[1]);
      return withSrc(f, m[1]);
    },
  ],
  [
    DISCONNECT_RE,
    (m) =>
      withSrc(
        ssh({ kind: 'disconnect', user: m[2] ? user(m[3]) : undefined, invalidUser: m[2] === 'invalid user ', port: port(m[5]), counts: false, ends: true }),
        m[4],
      ),
  ],
  [DISCONNECT_NOPORT_RE, (m) => withSrc(ssh({ kind: 'disconnect', counts: false, ends: true }), m[2])],
  [
    /^Did not receive identification string from (\S+?)(?: port (\d+))?$/,
    (m) => withSrc(ssh({ kind: 'probe', port: port(m[2]), counts: false, ends: true, level: 'ddos' }), m[1]),
  ],
  [
    /^Bad protocol version identification .* from (\S+?)(?: port (\d+))?$/,
    (m) => withSrc(ssh({ kind: 'probe', port: port(m[2]), counts: false, ends: true, level: 'ddos' }), m[1]),
  ],
  [
    /^banner exchange: Connection from (\S+?)(?: port (\d+))?: invalid format$/,
    (m) => withSrc(ssh({ kind: 'probe', port: port(m[2]), counts: false, ends: true, level: 'ddos' }), m[1]),
  ],
  [
    /^kex_exchange_identification: (?:read: )?(?:[Cc]lient sent invalid protocol identifier|[Cc]onnection (?:closed by remote host|reset by peer))/,
    () => ssh({ kind: 'probe', counts: false, ends: true, level: 'ddos' }),
  ],
  [/^Read from socket failed: Connection reset by peer$/, () => ssh({ kind: 'probe', counts: false, ends: true, level: 'ddos' })],
  [
    /^Unable to negotiate with (\S+?)(?: port (\d+))?: no matching .* found/,
    (m) => withSrc(ssh({ kind: 'probe', port: port(m[2]), counts: false, ends: true, level: 'aggressive' }), m[1]),
  ],
  [/^(?:Unable to negotiate a \w+|no matching (?:\w+ ){0,2}\w+ found:)/, () => ssh({ kind: 'probe', counts: false, ends: true, level: 'aggressive' })],
  [/^Connection from (\S+?)(?: port (\d+))?(?: on \S+(?: port \d+)?)?$/, (m) => withSrc(ssh({ kind: 'connection', port: port(m[2]), counts: false }), m[1])],
  [/^SSH: Server;Ltype: (?:Authname|Version|Kex);Remote: (\S+?)-\d+;/, (m) => withSrc(ssh({ kind: 'connection', counts: false }), m[1])],
];

/** A connection closed before authentication (fail2ban mdre-ddos-other): counted from ddos mode on. */
function preauthLevel(f: Fields): Fields {
  if (f.kind === 'disconnect' && f.src) f.level = 'ddos';
  return f;
}

const PAM_COMMON_RE = /^logname=([^\s=]*) uid=\d* euid=\d* tty=[^\s=]* ruser=((?:(?!rhost=)\S)*) rhost=(\S*)(?:\s+user=(\S*))?\s*$/;
// PAM: "authentication failure; logname=L uid=N euid=N tty=T ruser=R rhost=H  user=U".
// ruser (dovecot puts the login name there) and user are the client's text and may hold
// " rhost=6.6.6.6". So: the first " rhost=" after "ruser=" whose tail is only "  user=...",
// preferring, when ruser is given, the split where ruser and user are the same text.
export function pamFields(s: string): { rhost?: string; ruser?: string; user?: string; logname?: string } {
  if (!reference) {
    // Linux-PAM's own order with no space inside any value (nearly every line): one pattern.
    // No value before ruser holds "=", ruser holds no "rhost=", user no space: so the first
    // "ruser=" is its key, the only " rhost=" after it is the one the general way splits at,
    // and no other split exists; the answer is the general way's (fast-path.test.ts).
    const m = PAM_COMMON_RE.exec(s);
    if (m) return { logname: m[1] || undefined, rhost: m[3] || undefined, ruser: m[2] || undefined, user: m[4] || undefined };
  }
  const logname = /(?:^|\s)logname=(\S*)/.exec(s)?.[1] || undefined;
  const r = s.indexOf('ruser=');
  if (r < 0) {
    const rhost = /(?:^|\s)rhost=(\S*)/.exec(s)?.[1];
    const u = /\s+user=(.*)$/.exec(s)?.[1];
    return { logname, rhost: rhost || undefined, user: u?.trimEnd() || undefined };
  }
  const rest = s.slice(r + 'ruser='.length);
  let first: { ruser: string; rhost: string; user?: string } | undefined;
  let from = 0;
  for (let guard = 0; guard < 64; guard++) {
    const j = rest.startsWith('rhost=', from) && from === 0 ? 0 : rest.indexOf(' rhost=', from);
    if (j < 0) break;
    const at = rest.startsWith('rhost=', j) ? j : j + 1;
    const ruser = rest.slice(0, j);
    const after = rest.slice(at + 'rhost='.length);
    const hm = /^(\S*)(.*)$/s.exec(after)!;
    const tail = hm[2]!;
    const um = /^\s+user=(.*)$/s.exec(tail);
    if (/^\s*$/.test(tail) || um) {
      const c = { ruser, rhost: hm[1]!, user: um?.[1]!.trimEnd() };
      if (c.ruser && c.ruser === c.user) return { logname, rhost: c.rhost || undefined, ruser: c.ruser, user: c.user || undefined };
      first ??= c;
    }
    from = at + 1;
  }
  if (!first) return { logname };
  return { logname, rhost: first.rhost || undefined, ruser: first.ruser || undefined, user: first.user || undefined };
}

/** A PAM "authentication failure" (`more`: "N more authentication failures") with its fields. */
function pamFailure(service: string, more: boolean, kv: { rhost?: string; ruser?: string; user?: string; logname?: string }): Fields {
  const su = service === 'su' || service === 'su-l';
  const sshd = service === 'sshd' || service === 'sshd-session';
  const who = kv.user ?? kv.ruser;
  const f: Fields = {
    kind: su ? 'su_failure' : 'pam_failure',
    user: user(who),
    target: service,
    detail: su ? kv.ruser || kv.logname || undefined : undefined,
    service: serviceOf(service),
    counts: false,
  };
  // "N more" summarises lines already seen. For sshd the "Failed ..." line of the same
  // attempt is what counts; when there is none (pam_ldap, several PAM methods) session.ts
  // counts this one. Other remote services (vsftpd, dovecot, telnet login) count by rhost.
  const g = kv.rhost ? withSrc(f, kv.rhost) : undefined;
  if (!g) return f;
  if (more || su) return g;
  if (sshd) g.deferred = true;
  else g.counts = true;
  return g;
}

function classifyPam(service: string, rest: string): Fields | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^(?:(\d+) more )?authentication failures?; (.*)$/.exec(rest))) return pamFailure(service, !!m[1], pamFields(m[2]!));
  if (/^check pass; user unknown$/.test(rest)) return { kind: 'pam_unknown_user', target: service, invalidUser: true, counts: false };
  if ((m = /^session opened for user (\S+?)(?:\(uid=\d+\))? by (.*)$/.exec(rest)))
    return { kind: 'session_opened', user: user(m[1]), target: service, detail: m[2], counts: false };
  if ((m = /^session closed for user (\S+)$/.exec(rest))) return { kind: 'session_closed', user: user(m[1]), target: service, counts: false };
  if ((m = /^password changed for (\S+)$/.exec(rest))) return { kind: 'password_changed', user: user(m[1]), target: service, counts: false };
  return undefined;
}

const mail = (f: Omit<Fields, 'service' | 'counts'>, addr: string): Fields | undefined => withSrc({ ...f, service: 'mail', counts: true }, addr);
const ftp = (f: Omit<Fields, 'service' | 'counts'>, addr: string): Fields | undefined => withSrc({ ...f, service: 'ftp', counts: true }, addr);

/** dovecot: "auth: pam(u,1.2.3.4,<s>): ...", "imap-login: Aborted login (auth failed, 3 attempts ...): user=<u>, method=PLAIN, rip=..." */
function dovecot(msg: string): Fields | undefined {
  msg = msg.replace(/^(?:dovecot: )?(?:auth|auth-worker)(?:\(\d+\))?: (?:Info: )?(?:conn \S+ \([^)]*\): auth(?:-worker)?<\d+>: )?/, '');
  const pam = /^(pam_[a-z0-9_]+)\((?:[\w-]+)(?::\w+)?\): (.*)$/.exec(msg);
  if (pam) return classifyPam('dovecot', pam[2]!);
  // The user may hold commas: the address is the last item before an optional <session>.
  let m =
    /^([a-z][a-z-]{2,14})\((.*),([^,()<>\s]+)(?:,<[^>]*>)?\): (?:pam_authenticate\(\) failed: (?:User not known to the underlying authentication module|Authentication failure|Permission denied)|[Uu]nknown user|[Ii]nvalid credentials|[Pp]assword mismatch)/.exec(
      msg,
    );
  if (m) return mail({ kind: 'auth_failure', method: m[1], user: user(m[2]) }, m[3]!);
  m =
    /^(?:(?:imap|pop3|managesieve|submission|lmtp)-login: (?:Info: )?)?(?:Aborted login|Disconnected|Login aborted|Remote closed connection|Client has quit the connection)[^(]* \((?:auth failed, (\d+) attempts?(?: in \d+ secs)?|tried to use (?:disabled|disallowed) \S+ auth)\)(?: \(\w+\))?: (.*)$/.exec(
      msg,
    );
  if (!m) return undefined;
  // user=<...> comes first and is the client's text; everything after the last rip= is the server's.
  const tail = m[2]!;
  const rips = [...tail.matchAll(/(?:^|, )rip=([^,\s]+)(?=,|$)/g)];
  const rip = rips.at(-1)?.[1];
  if (!rip) return undefined;
  const u = /^user=<(.*)>, (?:method=\S+, )?rip=/s.exec(tail.slice(0, rips.at(-1)!.index! + rips.at(-1)![0].length));
  return mail({ kind: 'auth_failure', method: /(?:^|, )method=(\S+?),/.exec(tail)?.[1], user: user(u?.[1]) }, rip);
}

const MAIL_FTP: Record<string, (msg: string) => Fields | undefined> = {
  // postfix/smtpd: "warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"
  smtpd(msg) {
    const m = /^warning: [^\s[]*\[([^\]\s]+)\](?::(\d+))?: SASL ([\w-]+) authentication failed(?::(.*))?$/.exec(msg);
    if (!m) return undefined;
    // The server's own trouble, not the client's guess.
    if (/^ ?(?:Connection lost to authentication server|Invalid authentication mechanism)/.test(m[4] ?? '')) return undefined;
    return mail({ kind: 'auth_failure', method: m[3], port: port(m[2]), user: user(/sasl_username=(.*)$/.exec(m[4] ?? '')?.[1]) }, m[1]!);
  },
  // exim: "login authenticator failed for host (helo) [192.0.2.1]:3128 I=[...]:25: 535 Incorrect authentication data (set_id=u)".
  // exim refuses a HELO with spaces, so the first [address] after it is the client's.
  exim(msg) {
    const m =
      /^(?:\S+ )?(\S+) authenticator failed for (?:[^[( ]* )?(?:\(\S*\) )?\[([^\]\s]+)\](?::(\d+))?(?: I=\[\S+\](?::\d+)?)?: 535 Incorrect authentication data(?: \(set_id=(.*)\)|: \d+ Time\(s\))?\s*$/.exec(
        msg,
      );
    return m ? mail({ kind: 'auth_failure', method: m[1], port: port(m[3]), user: user(m[4]) }, m[2]!) : undefined;
  },
  // vsftpd's own log and syslog: "[pid 3475] [user] FAIL LOGIN: Client "192.0.2.1"" (user greedy: the last Client wins).
  vsftpd(msg) {
    msg = msg.replace(/^\[pid \d+\] /, '');
    let m = /^\[(.*)\] FAIL LOGIN: Client "([^"\s]+)"(?:,.*)?$/.exec(msg);
    if (m) return ftp({ kind: 'auth_failure', user: user(m[1]) }, m[2]!);
    m = /^\[(.*)\] OK LOGIN: Client "([^"\s]+)"(?:,.*)?$/.exec(msg);
    if (m) return withSrc({ kind: 'login_success', user: user(m[1]), service: 'ftp', counts: false }, m[2]);
    return undefined;
  },
  // proftpd: "srv (rhost[192.0.2.1]) - USER u (Login failed): Incorrect password"
  proftpd(msg) {
    const m = /^\S+ \(\S*?\[([^\]\s]+)\]\)[: -]+ (.*)$/.exec(msg);
    if (!m) return undefined;
    const c = m[2]!;
    let r =
      /^USER (.*): (no such user found from \S+ \[\S+\] to \S+|Incorrect password|User not authorized for login|Password expired|Account disabled|Invalid shell: '\S+'|User in \S+|Limit (?:access|configuration) denies login|Not a UserAlias|Maximum login length exceeded)\.?\s*$/i.exec(
        c,
      );
    if (r) return ftp({ kind: 'auth_failure', user: user(r[1]!.replace(/ \(Login failed\)$/, '')), detail: r[2]!.replace(/ from .*/, '') }, m[1]!);
    if ((r = /^SECURITY VIOLATION: (.*) login attempted\.?$/.exec(c)))
      return ftp({ kind: 'auth_failure', user: user(r[1]), detail: 'security violation' }, m[1]!);
    if (/^Maximum login attempts \(\d+\) exceeded/.test(c)) return withSrc({ kind: 'too_many_failures', service: 'ftp', counts: false }, m[1]);
    return undefined;
  },
  // pure-ftpd: "(?@192.0.2.1) [WARNING] Authentication failed for user [u]"
  'pure-ftpd'(msg) {
    const m = /^\(([^()\s]*)@([^@()\s]+)\) \[WARNING\] Authentication failed for user \[(.*)\]\s*$/.exec(msg);
    return m ? ftp({ kind: 'auth_failure', user: user(m[3]) }, m[2]!) : undefined;
  },
};
MAIL_FTP.exim4 = MAIL_FTP.exim!;
for (const p of ['dovecot', 'auth', 'dovecot-auth', 'imap-login', 'pop3-login', 'submission-login', 'managesieve-login']) MAIL_FTP[p] = dovecot;

/** Programs whose lines this detector reads; others are not counted as unrecognised. */
export const WATCHED_PROGRAMS = new Set(['sshd', 'sshd-session', 'sudo', 'su', 'login', ...Object.keys(MAIL_FTP)]);
const SUDO_RE =
  /^\s*(\S+) : (?:(\d+) incorrect password attempts?|(user NOT in sudoers|user NOT authorized on host|command not allowed|a password is required)) ; TTY=(\S*) ; PWD=.*? ; USER=(\S+) ;(?: .*?;)? COMMAND=(.*)$/;
const SUDO_OK_RE = /^\s*(\S+) : TTY=(\S*) ; PWD=.*? ; USER=(\S+) ;(?: .*?;)? COMMAND=(.*)$/;

const ACCOUNT: Rule[] = [
  [
    /^new user: name=([^,]+), UID=(\d+), GID=(\d+)(?:, home=([^,]*))?(?:, shell=([^,]*))?/,
    (m) => ({ kind: 'account_created', user: user(m[1]), detail: `uid=${m[2]} gid=${m[3]}${m[5] ? ` shell=${m[5]}` : ''}`, counts: false }),
  ],
  [/^new group: name=([^,]+), GID=(\d+)$/, (m) => ({ kind: 'group_created', target: m[1], detail: `gid=${m[2]}`, counts: false })],
  [/^delete user '([^']+)'$/, (m) => ({ kind: 'account_deleted', user: user(m[1]), counts: false })],
  [/^(?:group '([^']+)' removed|removed group '([^']+)' owned by '[^']*')$/, (m) => ({ kind: 'group_deleted', target: m[1] ?? m[2], counts: false })],
  [/^add '([^']+)' to group '([^']+)'$/, (m) => ({ kind: 'group_changed', user: user(m[1]), target: m[2], detail: 'added', counts: false })],
  [/^delete '([^']+)' from group '([^']+)'$/, (m) => ({ kind: 'group_changed', user: user(m[1]), target: m[2], detail: 'removed', counts: false })],
  [/^user (\S+) added by (\S+) to group (\S+)$/, (m) => ({ kind: 'group_changed', user: user(m[1]), target: m[3], detail: `added by ${m[2]}`, counts: false })],
  [
    /^user (\S+) removed by (\S+) from group (\S+)$/,
    (m) => ({ kind: 'group_changed', user: user(m[1]), target: m[3], detail: `removed by ${m[2]}`, counts: false }),
  ],
  [
    /^(?:change user '([^']+)' (.*)|(lock|unlock) user '([^']+)' password|change user name '([^']+)' to '([^']+)')$/,
    (m) => ({ kind: 'account_changed', user: user(m[1] ?? m[4] ?? m[5]), detail: m[2] ?? (m[3] ? `${m[3]} password` : `renamed to ${m[6]}`), counts: false }),
  ],
  [/^password for '([^']+)' changed by '([^']+)'$/, (m) => ({ kind: 'password_changed', user: user(m[1]), detail: `by ${m[2]}`, counts: false })],
];
const ACCOUNT_PROGRAMS = new Set([
  'useradd',
  'userdel',
  'usermod',
  'groupadd',
  'groupdel',
  'groupmod',
  'gpasswd',
  'passwd',
  'chpasswd',
  'adduser',
  'deluser',
  'chage',
  'newusers',
]);

function run(rules: readonly Rule[], msg: string): Fields | undefined {
  // Indexed, not `for (const [re, f] of rules)`: under the agent's interpreter-only Node
  // options each iteration and each destructuring goes through the iterator protocol.
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    const m = r[0].exec(msg);
    if (m) return r[1](m);
  }
  return undefined;
}

/**
 * The characters a message matched by `^…` must start with, read from the pattern's source:
 * a literal, a class of literals ([aA]) or a group of such alternatives. Undefined when the
 * pattern starts otherwise (the rule is then tried for every message).
 */
export function leadingChars(re: RegExp): string | undefined {
  const src = re.source;
  if (re.flags.includes('i') || !src.startsWith('^')) return undefined;
  // "^a|b" is "^a" or "b" anywhere.
  const whole = alternatives(src, 1);
  if (!whole || whole.bars.length || whole.end !== src.length) return undefined;
  return leadAt(src, 1)?.chars;
}

const QUANTIFIER = new Set(['?', '*', '{']);

/** The top-level "|" of the group whose content starts at `from`, and where it ends (its ")" or the end of the source). */
function alternatives(src: string, from: number): { bars: number[]; end: number } | undefined {
  const bars: number[] = [];
  let depth = 0;
  for (let k = from; k < src.length; k++) {
    const ch = src[k];
    if (ch === '\\') k++;
    else if (ch === '[') {
      k++;
      if (src[k] === '^') k++;
      while (k < src.length && src[k] !== ']') k += src[k] === '\\' ? 2 : 1;
      if (k >= src.length) return undefined;
    } else if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) return { bars, end: k };
      depth--;
    } else if (ch === '|' && depth === 0) bars.push(k);
  }
  return depth === 0 ? { bars, end: src.length } : undefined;
}

function leadAt(src: string, i: number): { chars: string; end: number } | undefined {
  const c = src[i];
  let chars: string;
  let end: number;
  if (c === '(') {
    let j = i + 1;
    if (src.startsWith('?:', j)) j += 2;
    else if (src[j] === '?') return undefined;
    const g = alternatives(src, j);
    if (!g || src[g.end] !== ')') return undefined;
    chars = '';
    for (const start of [j, ...g.bars.map((b) => b + 1)]) {
      const a = leadAt(src, start);
      if (!a) return undefined;
      chars += a.chars;
    }
    end = g.end + 1;
  } else if (c === '[') {
    end = src.indexOf(']', i + 1);
    chars = src.slice(i + 1, end);
    if (end < 0 || !/^[A-Za-z0-9]+$/.test(chars)) return undefined;
    end++;
  } else if (c !== undefined && /[A-Za-z0-9 _:;,=<>'"%@!&#~`]/.test(c)) {
    chars = c;
    end = i + 1;
  } else return undefined;
  return QUANTIFIER.has(src[end]!) ? undefined : { chars, end };
}

/** Rules by the first character of a message: each list keeps the rules' order (the first match wins). */
class RuleIndex {
  private readonly byChar = new Map<number, Rule[]>();
  private readonly any: Rule[] = [];
  readonly rules: readonly Rule[];

  constructor(rules: readonly Rule[]) {
    this.rules = rules;
    const leads = rules.map(([re]) => leadingChars(re));
    for (const l of leads) for (const ch of l ?? '') this.byChar.set(ch.charCodeAt(0), []);
    rules.forEach((r, k) => {
      const l = leads[k];
      if (l === undefined) {
        this.any.push(r);
        for (const list of this.byChar.values()) list.push(r);
      } else for (const ch of new Set(l)) this.byChar.get(ch.charCodeAt(0))!.push(r);
    });
  }

  run(msg: string): Fields | undefined {
    return run(this.byChar.get(msg.charCodeAt(0)) ?? this.any, msg);
  }
}
const SSHD_INDEX = new RuleIndex(SSHD);
const ACCOUNT_INDEX = new RuleIndex(ACCOUNT);

// The plain way (every rule in turn, the general header parser): what the fast ways are tested against.
let reference = false;

/** Runs `f` with the fast paths off (header by the general parser, rules tried one by one): for tests that compare both. */
export function withReferencePath<T>(f: () => T): T {
  const was = reference;
  reference = true;
  try {
    return f();
  } finally {
    reference = was;
  }
}

/** Classify one message of `program` (the part after "program[pid]: "). */
export function classify(program: string, message: string, pamModule?: string, mode: Mode = 'normal'): Fields | undefined {
  const f = classifyMessage(program, message, pamModule);
  if (!f?.level) return f;
  // Probes, negotiation failures and pre-auth disconnects count only in the modes that ask for
  // them (the rules make a fresh fields object for each line: completed in place).
  f.counts = f.level === 'ddos' ? mode !== 'normal' : mode === 'aggressive';
  return f;
}

const PAM_TAG_RE = /^\(?(pam_[a-z0-9_]+)(?:\(([\w-]+)(?::\w+)?\))?\)?:? (.*)$/;
// "pam_unix(sshd:auth): authentication failure; " and PAM_COMMON_RE after it.
const PAM_FAILURE_RE =
  /^pam_[a-z0-9_]+\(([\w-]+)(?::\w+)?\): authentication failure; logname=([^\s=]*) uid=\d* euid=\d* tty=[^\s=]* ruser=((?:(?!rhost=)\S)*) rhost=(\S*)(?:\s+user=(\S*))?\s*$/;
const LINE_TERMINATOR_RE = /[\n\r\u2028\u2029]/;

function classifyMessage(program: string, message: string, pamModule?: string): Fields | undefined {
  // " [preauth]" and only white space after it: the last one is the only one that can be (the
  // plain way looks for the pattern from the start).
  // (The fast way: the message without its trailing white space ends with it. trimEnd takes
  // off what \s matches; String.prototype.lastIndexOf is a call into the runtime in V8.)
  let at: number;
  let preauth: boolean;
  if (reference) {
    at = message.search(/ \[preauth\]\s*$/);
    preauth = at >= 0 && (at + 10 === message.length || /^\s*$/.test(message.slice(at + 10)));
  } else {
    const c = message.charCodeAt(message.length - 1);
    const trimmed = c === 93 ? message : message.trimEnd();
    preauth = trimmed.endsWith(' [preauth]');
    at = trimmed.length - 10;
  }
  let msg = (preauth ? message.slice(0, at) : message).trimEnd();
  // Linux-PAM: "pam_unix(sshd:auth): ...", "pam_sss(dovecot:auth): ...", old "(pam_unix) ..." and "pam_unix: ...".
  const c = msg.charCodeAt(0);
  if (c === 112 && !reference) {
    // The common Linux-PAM failure in one pattern instead of three (PAM_TAG_RE, classifyPam's,
    // pamFields' PAM_COMMON_RE): its groups are theirs for such a message, which holds no line
    // terminator (their "(.*)$" stops at one; this one's \s would not). fast-path.test.ts.
    const f = PAM_FAILURE_RE.exec(msg);
    if (f && !LINE_TERMINATOR_RE.test(msg))
      return pamFailure(f[1]!, false, { logname: f[2] || undefined, rhost: f[4] || undefined, ruser: f[3] || undefined, user: f[5] || undefined });
  }
  const pam = reference || c === 112 || c === 40 ? PAM_TAG_RE.exec(msg) : null;
  if (pam && (pam[2] || /^\(?pam_[a-z0-9_]+\)? |^pam_[a-z0-9_]+: /.test(msg))) return classifyPam(pam[2] ?? program, pam[3]!);
  if (pamModule) return classifyPam(program, msg);
  if (program === 'sshd' || program === 'sshd-session') {
    const c0 = msg.charCodeAt(0);
    // Only "error: ", "fatal: " and "PAM: " are taken off (e, f, P: the regex runs only then).
    if (c0 === 101 || c0 === 102 || c0 === 80) msg = msg.replace(/^(?:(?:error|fatal): )?(?:PAM: )?/, '');
    const f = reference ? run(SSHD, msg) : SSHD_INDEX.run(msg);
    if (f)
      return preauth && (msg.startsWith('Connection closed by ') || msg.startsWith('Connection reset by ') || msg.startsWith('Disconnected from '))
        ? preauthLevel(f)
        : f;
    const m = /^PAM (\d+) more authentication failures?; (.*)$/.exec(msg);
    if (m) return classifyPam('sshd', `${m[1]} more authentication failures; ${m[2]}`);
    return undefined;
  }
  const mf = MAIL_FTP[program];
  if (mf) return mf(msg);
  if (program === 'sudo') {
    let m = SUDO_RE.exec(msg);
    if (m) {
      const n = m[2] ? Number(m[2]) : undefined;
      return {
        kind: n ? 'sudo_failure' : 'sudo_not_allowed',
        user: user(m[1]),
        target: m[5],
        detail: `${m[3] ?? `${n} incorrect password attempts`}; command=${m[6]}`,
        counts: false,
      };
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
  if (ACCOUNT_PROGRAMS.has(program)) return reference ? run(ACCOUNT, msg) : ACCOUNT_INDEX.run(msg);
  return undefined;
}

export interface Verdict {
  header?: Header;
  record?: AuthRecord;
  /** A line of a program this detector reads that it did not recognise. */
  unparsed: boolean;
}

/** Parse one log line, saying also whether it was a line of a watched program left unrecognised. Never throws. */
export function parseVerdict(line: string, opts: ParseOptions): Verdict {
  const header = lineHeader(line, opts);
  if (!header) return { unparsed: false };
  const record = recordFrom(header, opts.mode);
  return { header, record, unparsed: !record && isWatched(header) };
}

/** A log line's header (parseVerdict's first step; the pipeline takes the steps itself, without a Verdict per line). */
export function lineHeader(line: string, opts: ParseOptions): Header | undefined {
  if (line.length > MAX_LINE) return undefined;
  return parseHeader(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line, opts);
}

/** Lines of these programs that say nothing we know are counted as unparsed; sshd's many informational lines are not. */
export function isWatched(h: Header): boolean {
  if (!WATCHED_PROGRAMS.has(h.program) && !h.pamModule) return false;
  // A mail server logs many refusals that are not logins (relay denied, RBL): only its authentication lines.
  if (h.program === 'smtpd' || h.program === 'exim' || h.program === 'exim4') return /authentication failed|authenticator failed/i.test(h.message);
  return /fail|invalid|illegal|refused|denied|not allowed|mismatch|unknown user/i.test(h.message);
}

/** Parse one log line; undefined when it is not an auth event we know. Never throws. */
export function parseLine(line: string, opts: ParseOptions): AuthRecord | undefined {
  return parseVerdict(line, opts).record;
}

/** Build a record from an already split header (also used for journal entries). */
export function recordFrom(h: Header, mode: Mode = 'normal'): AuthRecord | undefined {
  let message = h.message;
  let repeat = 1;
  const r = reference || message.charCodeAt(0) === 109 ? REPEAT_RE.exec(message) : null;
  if (r) {
    repeat = Math.min(Number(r[1]), 1_000_000);
    message = r[2]!;
  }
  const f = classify(h.program, message, h.pamModule, mode);
  if (!f) return undefined;
  // Every record has the same fields in the same order (one hidden class): the rules' field
  // objects differ in shape, and code reading records of many shapes (sessions, aggregator,
  // detect's output) runs several times slower than on one.
  return {
    kind: f.kind,
    program: h.program,
    pid: h.pid,
    host: h.host,
    time: h.time,
    user: f.user,
    src: f.src,
    port: f.port,
    method: f.method,
    invalidUser: f.invalidUser,
    counts: f.counts,
    service: f.service === undefined && (f.counts || f.kind === 'login_success') ? serviceOf(h.program) : f.service,
    deferred: f.deferred,
    ends: f.ends,
    level: f.level,
    repeat,
    target: f.target,
    detail: f.detail,
  };
}

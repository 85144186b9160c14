// The header of an auth log line: time, host, program, pid, PAM module and message. Forms:
// RFC 3164 (BSD syslog, with or without <PRI> and host, bracket tags, BSD facility, Solaris
// [ID n fac]), ISO 8601 (rsyslog high precision, journalctl -o short-iso), RFC 5424, and the
// logs daemons write themselves (exim's mainlog, vsftpd's own log). The common Linux form goes
// one pass (fastHeader); header.test.ts holds it to the general way. Journal entries get their
// header from their fields (journal.ts).
import { zonedToUtc, wallClock } from '@canh/core/time-zone';
import { reference, type ParseOptions } from './fields.ts';

const MONTHS: Record<string, number> = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 };

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

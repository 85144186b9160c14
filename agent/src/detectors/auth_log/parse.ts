// Pure parsing of auth log lines (auth.log, /var/log/secure, journal messages) into records:
// what happened (kind), to whom, from where, when. No I/O and no state: aggregate.ts turns
// records into events. Source addresses are always taken from the fixed position sshd
// writes them at the END of the message, so a user name such as "x from 6.6.6.6" that an
// attacker sends cannot choose the address that gets counted (greedy user captures).
// This module is the dispatch: a line's header (header.ts), then its message to the family
// of forms its program or PAM tag picks: sshd.ts, pam.ts, mail-ftp.ts, local.ts (sudo, su
// and account tools); what they share is in fields.ts, the rule index in rules.ts.
import type { AuthRecord } from '../auth/record.ts';
import { reference, serviceOf, user, type Fields, type Mode, type ParseOptions } from './fields.ts';
import { parseHeader, type Header } from './header.ts';
import { ACCOUNT, ACCOUNT_INDEX, ACCOUNT_PROGRAMS, SUDO_OK_RE, SUDO_RE } from './local.ts';
import { MAIL_FTP } from './mail-ftp.ts';
import { classifyPam, LINE_TERMINATOR_RE, PAM_FAILURE_RE, PAM_TAG_RE, pamFailure } from './pam.ts';
import { run } from './rules.ts';
import { preauthLevel, SSHD, SSHD_INDEX } from './sshd.ts';

export { KINDS, normAddr, type AuthKind, type AuthRecord } from '../auth/record.ts';

const MAX_LINE = 16 * 1024;
const REPEAT_RE = /^message repeated (\d{1,9}) times: \[ ?(.*?) ?\]$/;

/** Programs whose lines this detector reads; others are not counted as unrecognised. */
export const WATCHED_PROGRAMS = new Set(['sshd', 'sshd-session', 'sudo', 'su', 'login', ...Object.keys(MAIL_FTP)]);

/** Classify one message of `program` (the part after "program[pid]: "). */
export function classify(program: string, message: string, pamModule?: string, mode: Mode = 'normal'): Fields | undefined {
  const f = classifyMessage(program, message, pamModule);
  if (!f?.level) return f;
  // Probes, negotiation failures and pre-auth disconnects count only in the modes that ask for
  // them (the rules make a fresh fields object for each line: completed in place).
  f.counts = f.level === 'ddos' ? mode !== 'normal' : mode === 'aggressive';
  return f;
}

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

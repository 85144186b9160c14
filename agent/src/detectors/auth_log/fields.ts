// What the line-form modules of the auth_log parser share: the parse options and modes, the
// fields a rule makes for a message (completed in place: withSrc), the bounded user and port
// readers, the memoised service name, and the switch to the plain way (withReferencePath)
// that the fast ways (header.ts, rules.ts, pam.ts, parse.ts) are tested against.
import { normAddr, type AuthRecord } from '../auth/record.ts';

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

const MAX_USER = 256;

export type Level = 'ddos' | 'aggressive';
export type Fields = Omit<AuthRecord, 'program' | 'pid' | 'host' | 'time' | 'repeat'> & { level?: Level };

export const user = (s: string | undefined) => (s === undefined ? undefined : s.length > MAX_USER ? s.slice(0, MAX_USER) : s);
export const port = (s: string | undefined) => (s ? Number(s) : undefined);

// Fields objects are made fresh for each line by the rules: completed in place (a copy per
// line and per step costs allocations on every line of a busy log).
export function withSrc(f: Fields, addr: string | undefined): Fields | undefined {
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

// The plain way (every rule in turn, the general header parser): what the fast ways are tested against.
// Read by the other modules (a live binding); set only here.
export let reference = false;

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

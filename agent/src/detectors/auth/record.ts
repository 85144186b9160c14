// What auth_log and windows_eventlog both produce: a record of one authentication
// happening (kind, who, from where, when), and the address normaliser both use, so that
// the same attacker is one address whichever log saw it.
import { isIP } from 'node:net';

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
  'connection',
  'refused_connect',
  'user_change',
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
  /** What was attacked: ssh, mail, ftp, or the PAM service name. */
  service?: string;
  /**
   * An sshd PAM failure: it counts only when no `Failed` line of the same attempt (same
   * sshd pid) accounts for it; session.ts decides.
   */
  deferred?: boolean;
  /** The line ends an sshd connection (session.ts commits or forgets what it holds). */
  ends?: boolean;
  /** Counted only in this mode and above (probes, negotiation failures, pre-auth disconnects). */
  level?: 'ddos' | 'aggressive';
  /** "message repeated N times": this record stands for N lines. */
  repeat: number;
  /** Group, target user of su/sudo, PAM service, reason... depending on kind. */
  target?: string;
  detail?: string;
}

/** Normalise a source address; undefined when it is not an address or host name. */
export function normAddr(s: string): string | undefined {
  // An attacker's address comes back line after line: the answer (a pure function of the text) is kept.
  const known = addrMemo.get(s);
  if (known !== undefined) return known || undefined;
  const a = normAddrUncached(s);
  if (s.length <= 64) {
    if (addrMemo.size >= 4096) addrMemo.clear();
    addrMemo.set(s, a ?? '');
  }
  return a;
}
const addrMemo = new Map<string, string>();

function normAddrUncached(s: string): string | undefined {
  let a = s.replace(/^\[(.*)\]$/, '$1');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped) a = mapped[1]!;
  if (isIP(a)) return a.toLowerCase();
  if (a.length <= 253 && /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(a) && /[A-Za-z]/.test(a)) {
    return a.toLowerCase();
  }
  return undefined;
}

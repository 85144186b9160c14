// The mail and FTP servers' line forms, by program: postfix's smtpd (SASL), dovecot, exim,
// vsftpd, proftpd and pure-ftpd, as fail2ban's postfix (auth), dovecot, exim, vsftpd, proftpd
// and pure-ftpd filters read them. The client's address is taken where the client's text
// cannot choose it.
import { port, user, withSrc, type Fields } from './fields.ts';
import { classifyPam } from './pam.ts';

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

export const MAIL_FTP: Record<string, (msg: string) => Fields | undefined> = {
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

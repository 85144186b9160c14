// Linux-PAM's line forms (any pam_* module's "authentication failure; logname=… rhost=…
// user=…", "N more", "check pass; user unknown", sessions, password changes), as fail2ban's
// pam-generic filter and Wazuh's PAM decoder read them. The rhost is chosen so that the
// client's text (ruser, user) cannot choose it.
import { reference, serviceOf, user, withSrc, type Fields } from './fields.ts';

export const PAM_TAG_RE = /^\(?(pam_[a-z0-9_]+)(?:\(([\w-]+)(?::\w+)?\))?\)?:? (.*)$/;
// "pam_unix(sshd:auth): authentication failure; " and PAM_COMMON_RE after it.
export const PAM_FAILURE_RE =
  /^pam_[a-z0-9_]+\(([\w-]+)(?::\w+)?\): authentication failure; logname=([^\s=]*) uid=\d* euid=\d* tty=[^\s=]* ruser=((?:(?!rhost=)\S)*) rhost=(\S*)(?:\s+user=(\S*))?\s*$/;
export const LINE_TERMINATOR_RE = /[\n\r\u2028\u2029]/;

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
export function pamFailure(service: string, more: boolean, kv: { rhost?: string; ruser?: string; user?: string; logname?: string }): Fields {
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

export function classifyPam(service: string, rest: string): Fields | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^(?:(\d+) more )?authentication failures?; (.*)$/.exec(rest))) return pamFailure(service, !!m[1], pamFields(m[2]!));
  if (/^check pass; user unknown$/.test(rest)) return { kind: 'pam_unknown_user', target: service, invalidUser: true, counts: false };
  if ((m = /^session opened for user (\S+?)(?:\(uid=\d+\))? by (.*)$/.exec(rest)))
    return { kind: 'session_opened', user: user(m[1]), target: service, detail: m[2], counts: false };
  if ((m = /^session closed for user (\S+)$/.exec(rest))) return { kind: 'session_closed', user: user(m[1]), target: service, counts: false };
  if ((m = /^password changed for (\S+)$/.exec(rest))) return { kind: 'password_changed', user: user(m[1]), target: service, counts: false };
  return undefined;
}

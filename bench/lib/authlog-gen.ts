// The generated auth log of bench:detect and bench:detect-rss: sshd (PAM line + "Failed
// password", invalid users, pre-auth closes, accepted logins), postfix SASL, dovecot and
// vsftpd (PAM) lines with cron noise; about 60 % failures from many addresses: attackers in
// bursts of 6-12 attempts (198.18.0.0/15, the benchmarking range), legitimate users with at
// most one failure before their login (10.0.0.0/8). Deterministic: two runs read the same log.
import { closeSync, openSync, writeSync } from 'node:fs';

// Deterministic generator (xorshift32) so two runs read the same log.
let seed = 0x2545f491;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x1_0000_0000;
};
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

interface Burst {
  ip: string;
  service: 'ssh' | 'postfix' | 'dovecot' | 'vsftpd';
  left: number;
  user: string;
}

/** Writes `lines` lines to `path` in blocks (memory does not grow with the size); returns the attacking addresses. */
export function generate(path: string, lines: number): { attackers: Set<string> } {
  const USERS = ['root', 'admin', 'test', 'oracle', 'ubuntu', 'user', 'postgres', 'info', 'support', 'git'];
  let out: string[] = [];
  const fd = openSync(path, 'w');
  let written = 0;
  const flush = () => {
    const n = Math.min(out.length, lines - written);
    if (n > 0) writeSync(fd, `${out.slice(0, n).join('\n')}\n`);
    written += n;
    out = [];
  };
  const attackers = new Set<string>();
  let t = Date.UTC(new Date().getUTCFullYear(), 0, 10, 8);
  let pid = 10_000;
  let nextAttacker = 0;
  let nextBenign = 0;
  const newBurst = (): Burst => {
    const n = nextAttacker++;
    const ip = `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`;
    attackers.add(ip);
    return { ip, service: pick(['ssh', 'ssh', 'ssh', 'postfix', 'dovecot', 'vsftpd'] as const), left: 6 + Math.floor(rnd() * 7), user: pick(USERS) };
  };
  const active: Burst[] = Array.from({ length: 40 }, newBurst);
  while (written < lines) {
    if (out.length >= 100_000) flush();
    if (written >= lines) break;
    t += 10;
    const ts = stamp(t);
    const r = rnd();
    if (r < 0.6) {
      const i = Math.floor(rnd() * active.length);
      const b = active[i]!;
      const p = pid++;
      if (b.service === 'ssh') {
        if (rnd() < 0.3) {
          out.push(`${ts} srv sshd[${p}]: Invalid user ${b.user}x from ${b.ip} port ${30000 + (p % 30000)}`);
          out.push(`${ts} srv sshd[${p}]: Failed password for invalid user ${b.user}x from ${b.ip} port ${30000 + (p % 30000)} ssh2`);
        } else {
          out.push(`${ts} srv sshd[${p}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${b.ip}  user=${b.user}`);
          out.push(`${ts} srv sshd[${p}]: Failed password for ${b.user} from ${b.ip} port ${30000 + (p % 30000)} ssh2`);
        }
        out.push(`${ts} srv sshd[${p}]: Connection closed by authenticating user ${b.user} ${b.ip} port ${30000 + (p % 30000)} [preauth]`);
      } else if (b.service === 'postfix') {
        out.push(`${ts} srv postfix/smtpd[${p}]: warning: unknown[${b.ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6`);
      } else if (b.service === 'dovecot') {
        out.push(
          `${ts} srv dovecot: imap-login: Aborted login (auth failed, 1 attempts in 2 secs): user=<${b.user}>, method=PLAIN, rip=${b.ip}, lip=192.0.2.1, TLS, session=<x${p}>`,
        );
      } else {
        out.push(`${ts} srv vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=${b.user} rhost=${b.ip}`);
      }
      if (--b.left === 0) active[i] = newBurst();
    } else if (r < 0.75) {
      // A legitimate user: at most one failure, then a login.
      const n = nextBenign++;
      const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
      const p = pid++;
      const u = pick(USERS);
      if (rnd() < 0.3) out.push(`${ts} srv sshd[${p}]: Failed password for ${u} from ${ip} port 50000 ssh2`);
      out.push(`${ts} srv sshd[${p}]: Accepted password for ${u} from ${ip} port 50000 ssh2`);
      out.push(`${ts} srv sshd[${p}]: pam_unix(sshd:session): session opened for user ${u}(uid=1000) by (uid=0)`);
    } else {
      out.push(`${ts} srv CRON[${pid++}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)`);
    }
  }
  flush();
  closeSync(fd);
  return { attackers };
}

// The log bench:detect-live appends: bench:detect's generator (bench/lib/authlog-gen.ts),
// its lines stamped with the time they are appended (a live follower reads log times
// against its clock: fail2ban treats a line more than 60 s off as written now, Canh
// dates failures by the line), in UTC.
// Every attack burst in it is whole: the generator keeps 40 bursts going at once, so any
// cut leaves some with fewer than 5 attempts, which each tool then counts by its own
// rules. After the first `lines` lines, only the lines of bursts already started follow,
// until each has ended. Last come the end markers: one burst of 6 failures per service
// from a TEST-NET-3 address each (203.0.113.1-4); a follower that has reported all four
// has read the whole log.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from './authlog-gen.ts';

export type Service = 'ssh' | 'postfix' | 'dovecot' | 'vsftpd';

/** What the log holds for one source address. */
export interface AddressInfo {
  ip: string;
  services: Set<Service>;
  /** Failed attempts: sshd `Failed password` lines (one per connection), other services' failure lines. */
  attempts: number;
  /** sshd `Invalid user` lines (each with its `Failed password for invalid user`). */
  invalidUser: number;
  /** sshd connections whose pre-auth close names another user than the one that failed. */
  userChange: number;
  lines: string[];
}

export interface LiveLog {
  /** Each line without its time stamp (it starts with " host prog[pid]: "). */
  bodies: string[];
  /** Generated attacking addresses (198.18.0.0/15), all with whole bursts unless cut. */
  attackers: Set<string>;
  /** The end markers' addresses. */
  markers: Set<string>;
  /** Every source address in the log. */
  byAddress: Map<string, AddressInfo>;
}

const ATTACKER = /\b(198\.1[89]\.\d{1,3}\.\d{1,3})\b/;
const ANY_ADDRESS = /(?:from |rhost=|rip=|unknown\[|authenticating user \S+ )(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})/;
// The user an sshd line names: tried (Invalid user, Failed password) or at the pre-auth close.
const SSH_TRIED = /sshd\[(\d+)\]: (?:Invalid user |Failed password for (?:invalid user )?)(\S+) from /;
const SSH_CLOSED = /sshd\[(\d+)\]: Connection closed by authenticating user (\S+) /;
// Generated log times are "Mmm dd hh:mm:ss": 15 characters.
const STAMP_LEN = 15;

function serviceOf(body: string): Service | undefined {
  if (body.includes(' sshd[')) return 'ssh';
  if (body.includes(' postfix/')) return 'postfix';
  if (body.includes(' dovecot:')) return 'dovecot';
  if (body.includes(' vsftpd:')) return 'vsftpd';
  return undefined;
}

function isAttempt(body: string, service: Service): boolean {
  if (service === 'ssh') return body.includes(': Failed password for ');
  return body.includes('authentication failed') || body.includes('auth failed') || body.includes('authentication failure');
}

/** The end markers: 6 failures per service, in the generator's own line forms. */
function markerBodies(): { bodies: string[]; markers: Set<string> } {
  const bodies: string[] = [];
  const [ssh, postfix, dovecot, vsftpd] = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'];
  for (let i = 0; i < 6; i++) {
    const p = 9_000_000 + i;
    bodies.push(` srv sshd[${p}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ssh}  user=root`);
    bodies.push(` srv sshd[${p}]: Failed password for root from ${ssh} port ${40000 + i} ssh2`);
    bodies.push(` srv sshd[${p}]: Connection closed by authenticating user root ${ssh} port ${40000 + i} [preauth]`);
  }
  for (let i = 0; i < 6; i++) bodies.push(` srv postfix/smtpd[${9_100_000 + i}]: warning: unknown[${postfix}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6`);
  for (let i = 0; i < 6; i++)
    bodies.push(
      ` srv dovecot: imap-login: Aborted login (auth failed, 1 attempts in 2 secs): user=<admin>, method=PLAIN, rip=${dovecot}, lip=192.0.2.1, TLS, session=<m${i}>`,
    );
  for (let i = 0; i < 6; i++)
    bodies.push(` srv vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=admin rhost=${vsftpd}`);
  return { bodies, markers: new Set([ssh!, postfix!, dovecot!, vsftpd!]) };
}

/**
 * Builds the log of about `lines` lines (plus the ends of open bursts and the markers).
 * `cut`: stop at `lines` as bench:detect does, bursts open then left short (to see how
 * the two tools differ on them).
 */
export function buildLiveLog(lines: number, cut = false): LiveLog {
  const dir = mkdtempSync(join(tmpdir(), 'canh-live-log-'));
  let raw: string[];
  try {
    // Enough extra lines for every burst open at `lines` to end (a burst of 12 attempts among
    // 40 open ones ends within ~1,000 steps, ~2,000 lines, nearly always).
    generate(join(dir, 'gen.log'), lines + Math.max(20_000, Math.ceil(lines / 10)));
    raw = readFileSync(join(dir, 'gen.log'), 'utf8').split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bodies: string[] = [];
  const attackers = new Set<string>();
  for (let i = 0; i < raw.length; i++) {
    const line = raw[i]!;
    if (!line) continue;
    const a = ATTACKER.exec(line)?.[1];
    if (i < lines) {
      if (a) attackers.add(a);
    } else if (cut || !a || !attackers.has(a)) continue;
    bodies.push(line.slice(STAMP_LEN));
  }
  const m = markerBodies();
  bodies.push(...m.bodies);
  return { bodies, attackers, markers: m.markers, byAddress: addresses(bodies) };
}

function addresses(bodies: string[]): Map<string, AddressInfo> {
  const out = new Map<string, AddressInfo>();
  // sshd pid -> the user that connection tried (generated pids are not reused).
  const tried = new Map<string, string>();
  for (const body of bodies) {
    const ip = ANY_ADDRESS.exec(body)?.[1];
    const service = serviceOf(body);
    if (!ip || !service) continue;
    let info = out.get(ip);
    if (!info) out.set(ip, (info = { ip, services: new Set(), attempts: 0, invalidUser: 0, userChange: 0, lines: [] }));
    const t = SSH_TRIED.exec(body);
    if (t) tried.set(t[1]!, t[2]!);
    const c = SSH_CLOSED.exec(body);
    if (c && tried.has(c[1]!) && tried.get(c[1]!) !== c[2]) info.userChange++;
    info.services.add(service);
    if (isAttempt(body, service)) info.attempts++;
    if (body.includes(': Invalid user ')) info.invalidUser++;
    if (info.lines.length < 40) info.lines.push(body);
  }
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** A syslog time stamp (RFC 3164) of `ms` in UTC. */
export function syslogStampUtc(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/**
 * Why one tool found an address and the other did not, from what the log holds for it:
 * the facts a reader needs to judge (attempts, services, forms), and the known cause
 * when there is one.
 */
export function explain(info: AddressInfo | undefined, foundBy: 'canh' | 'fail2ban', threshold: number): string {
  if (!info) return 'not in the log at all (an address neither should report)';
  const facts = `${[...info.services].join('+')}, ${info.attempts} failed attempts in ${info.lines.length}${info.lines.length >= 40 ? '+' : ''} lines`;
  if (info.attempts < threshold && foundBy === 'fail2ban' && info.attempts + info.invalidUser + info.userChange >= threshold) {
    const why: string[] = [];
    if (info.invalidUser)
      why.push(
        `${info.invalidUser} of them for an invalid user: fail2ban counts "Invalid user" and its "Failed password for invalid user" as two failures, Canh one`,
      );
    if (info.userChange)
      why.push(
        `${info.userChange} connection(s) closed pre-auth naming another user than the one that failed: fail2ban counts that user change as one more failure, Canh counts a user change only when a login is accepted`,
      );
    return `${facts}; ${why.join('; ')}`;
  }
  if (info.attempts < threshold) return `${facts}: fewer than ${threshold}, an attack for ${foundBy} only by its own counting`;
  if (info.ip.startsWith('10.')) return `${facts}: a legitimate user (at most one failure before a login), reported by ${foundBy}`;
  return `${facts}: both should have found it (a detection difference); its lines:\n${info.lines
    .slice(0, 6)
    .map((l) => `      ${l.trim()}`)
    .join('\n')}`;
}

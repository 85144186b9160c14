// sshd's (and sshd-session's) line forms, after "error: ", "fatal: ", "PAM: " and " [preauth]"
// are taken off (parse.ts). They follow fail2ban's sshd filter (normal, ddos and aggressive
// modes) and Wazuh's sshd decoder; each has labelled samples in testdata/lines/.
import { bounded } from '../group-findings.ts';
import { port, user, withSrc, type Fields } from './fields.ts';
import { RuleIndex, type Rule } from './rules.ts';

const KEY_METHODS = new Set(['publickey', 'hostbased']);

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
export const SSHD: Rule[] = [
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
export function preauthLevel(f: Fields): Fields {
  if (f.kind === 'disconnect' && f.src) f.level = 'ddos';
  return f;
}

export const SSHD_INDEX = new RuleIndex(SSHD);

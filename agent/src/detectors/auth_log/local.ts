// Local programs' line forms: sudo's (the mapping to fields is in parse.ts's dispatch, beside
// su's) and the account tools' (shadow-utils useradd, userdel, usermod, groupadd, groupdel,
// gpasswd, passwd, chpasswd; Debian's adduser and deluser), as their own sources log them.
import { user } from './fields.ts';
import { RuleIndex, type Rule } from './rules.ts';

export const SUDO_RE =
  /^\s*(\S+) : (?:(\d+) incorrect password attempts?|(user NOT in sudoers|user NOT authorized on host|command not allowed|a password is required)) ; TTY=(\S*) ; PWD=.*? ; USER=(\S+) ;(?: .*?;)? COMMAND=(.*)$/;
export const SUDO_OK_RE = /^\s*(\S+) : TTY=(\S*) ; PWD=.*? ; USER=(\S+) ;(?: .*?;)? COMMAND=(.*)$/;

export const ACCOUNT: Rule[] = [
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
export const ACCOUNT_PROGRAMS = new Set([
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

export const ACCOUNT_INDEX = new RuleIndex(ACCOUNT);

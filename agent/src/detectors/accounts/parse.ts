// The account facts the detector compares between runs: login shells; members of
// privileged groups (listed members plus users whose primary group it is). Parsing
// /etc/passwd and /etc/group is in ../passwd.ts (suspicious_process reads it too).
import type { Group, User } from '../passwd.ts';

const NO_LOGIN = /(^|\/)(nologin|false|sync|shutdown|halt)$/;

/** Whether the shell lets someone log in interactively. */
export function isLoginShell(shell: string): boolean {
  return shell !== '' && !NO_LOGIN.test(shell);
}

/** Members of each privileged group present on the host, sorted. */
export function privilegedMembers(users: readonly User[], groups: readonly Group[], privileged: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const g of groups) {
    if (!privileged.includes(g.name)) continue;
    const set = new Set(g.members);
    for (const u of users) if (u.gid === g.gid) set.add(u.name);
    out[g.name] = [...set].sort();
  }
  return out;
}

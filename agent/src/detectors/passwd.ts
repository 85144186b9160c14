// Pure parsing of /etc/passwd and /etc/group, for the detectors that need users and groups
// (accounts compares them between runs, suspicious_process names the owner of a process).

export interface User {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface Group {
  name: string;
  gid: number;
  members: string[];
}

const NAME = /^[A-Za-z0-9._][A-Za-z0-9._$-]*$/;

export function parsePasswd(text: string): { users: User[]; malformed: number } {
  const users: User[] = [];
  let malformed = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!line || line.startsWith('#')) continue;
    // NIS compat lines ("+", "+@netgroup", "-user") are not local accounts.
    if (line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (f.length !== 7 || !NAME.test(f[0]!) || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) {
      malformed++;
      continue;
    }
    users.push({ name: f[0]!, uid, gid, home: f[5]!, shell: f[6]! });
  }
  return { users, malformed };
}

export function parseGroup(text: string): { groups: Group[]; malformed: number } {
  const groups: Group[] = [];
  let malformed = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!line || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    if (f.length !== 4 || !NAME.test(f[0]!) || !/^\d+$/.test(f[2]!)) {
      malformed++;
      continue;
    }
    groups.push({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(',').filter(Boolean) });
  }
  return { groups, malformed };
}

// Pure parsing for the persistence detector: /proc/modules, the few fields of /etc/passwd
// and /etc/group it needs (whose home folders to look in), and a bounded, printable excerpt
// of a changed file for the event's evidence.

/** Loaded kernel modules from /proc/modules: name → size in bytes. Malformed lines are skipped and counted. */
export function parseModules(text: string): { modules: Map<string, number>; malformed: number } {
  const modules = new Map<string, number>();
  let malformed = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const size = Number(f[1]);
    if (f.length < 3 || !/^[\w-]{1,64}$/.test(f[0]!) || !Number.isInteger(size)) {
      malformed++;
      continue;
    }
    modules.set(f[0]!, size);
  }
  return { modules, malformed };
}

export interface Account {
  name: string;
  uid: number;
  home: string;
}

/** name, uid and home of each well-formed /etc/passwd line. */
export function parseAccounts(passwd: string): Account[] {
  const out: Account[] = [];
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || !f[0] || !/^\d+$/.test(f[2]!)) continue;
    out.push({ name: f[0], uid: Number(f[2]), home: f[5]! });
  }
  return out;
}

/** Members of the named groups in /etc/group (the supplementary ones; primary gids come from passwd). */
export function groupMembers(group: string, names: readonly string[]): { members: Set<string>; gids: Set<number> } {
  const members = new Set<string>();
  const gids = new Set<number>();
  for (const line of group.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || !names.includes(f[0]!)) continue;
    if (/^\d+$/.test(f[2]!)) gids.add(Number(f[2]));
    for (const m of f[3]!.split(',')) if (m.trim()) members.add(m.trim());
  }
  return { members, gids };
}

/** Primary gid of each account, from /etc/passwd. */
export function primaryGids(passwd: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && f[0] && /^\d+$/.test(f[3]!)) out.set(f[0], Number(f[3]));
  }
  return out;
}

/** The start of a text file, control characters shown as "?", bounded; undefined for binary content. */
export function excerpt(content: Uint8Array, max = 1000): string | undefined {
  const head = content.subarray(0, Math.min(content.length, max * 4));
  if (head.includes(0)) return undefined;
  const text = Buffer.from(head)
    .toString('utf8')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

// Finds which process owns a socket: /proc/<pid>/fd/* links read "socket:[<inode>]".
// Best effort: without root, other users' processes cannot be inspected and stay unknown.
// Only asked for inodes not seen before, because walking every fd of every process is
// the expensive part of this detector.
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { InputContext } from '../../inputs/types.ts';

export interface Owner {
  pid: number;
  process: string;
}

export async function findOwners(ctx: InputContext, inodes: ReadonlySet<number>): Promise<Map<number, Owner>> {
  const found = new Map<number, Owner>();
  if (inodes.size === 0) return found;
  let pids: string[];
  try {
    pids = (await ctx.readdir(ctx.procRoot)).filter((n) => /^\d+$/.test(n));
  } catch {
    return found;
  }
  for (const pid of pids) {
    if (found.size === inodes.size) break;
    const fdDir = join(ctx.procRoot, pid, 'fd');
    let fds: string[];
    try {
      fds = await ctx.readdir(fdDir);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      const link = await readlink(join(fdDir, fd)).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (!m) continue;
      const inode = Number(m[1]);
      if (!inodes.has(inode) || found.has(inode)) continue;
      const comm = (await ctx.readFile(join(ctx.procRoot, pid, 'comm')).catch(() => '')).trim();
      found.set(inode, { pid: Number(pid), process: comm || 'unknown' });
    }
  }
  return found;
}

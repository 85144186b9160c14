// Finds which process owns a socket: /proc/<pid>/fd/* links read "socket:[<inode>]".
// Best effort: without root, other users' processes cannot be inspected and stay unknown.
// The owner is named by its executable (path and inode), never by /proc/<pid>/comm: comm is
// a thread name any process sets as it likes (Node's main thread is "MainThread").
// Only asked for inodes not seen before, because walking every fd of every process is
// the expensive part of this detector.
import { readlinkSync } from 'node:fs';
import { readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { InputContext } from '../../inputs/types.ts';

export interface Owner {
  pid: number;
  /** Executable path (" (deleted)" left off; the inode tells a replaced file apart). */
  exe: string;
  /** Inode of the executable, 0 when it could not be read. */
  inode: number;
  /** Base name of the executable. */
  process: string;
  /** The descriptor of `pid` the socket was found at (/proc/<pid>/fd/<fd>); undefined when it cannot be checked again. */
  fd?: string;
}

const DELETED = ' (deleted)';

/** The executable of a process, or undefined when it cannot be read (gone, not ours, kernel). */
export async function executableOf(pidDir: string): Promise<{ exe: string; inode: number } | undefined> {
  const link = await readlink(join(pidDir, 'exe')).catch(() => undefined);
  if (!link) return undefined;
  const exe = link.endsWith(DELETED) ? link.slice(0, -DELETED.length) : link;
  const inode = await stat(join(pidDir, 'exe')).then(
    (s) => s.ino,
    () => 0,
  );
  return { exe, inode };
}

function linkOf(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return ''; // closed meanwhile, or not ours to read
  }
}

/**
 * Whether the owner still holds the socket where it was found: one `readlink` (a socket that
 * closed, or a port taken over by another program, fails it; so does a descriptor closed or
 * moved by its process, which only costs a read of the tables).
 */
export function stillHolds(procRoot: string, owner: Owner, socketInode: number): boolean {
  return owner.fd !== undefined && linkOf(`${procRoot}/${owner.pid}/fd/${owner.fd}`) === `socket:[${socketInode}]`;
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
      // procfs is in memory: a synchronous readlink costs a fraction of a trip through the
      // thread pool, and this loop reads every descriptor of every process.
      const link = linkOf(`${fdDir}/${fd}`);
      if (!link.startsWith('socket:[')) continue;
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (!m) continue;
      const inode = Number(m[1]);
      if (!inodes.has(inode) || found.has(inode)) continue;
      const x = await executableOf(join(ctx.procRoot, pid));
      const exe = x?.exe ?? 'unknown';
      found.set(inode, { pid: Number(pid), exe, inode: x?.inode ?? 0, process: exe.slice(exe.lastIndexOf('/') + 1) || 'unknown', fd });
    }
  }
  return found;
}

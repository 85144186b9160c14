// Where a program has no business coming from, computed from the host rather than a fixed
// list: memory file systems (tmpfs, ramfs) mounted read-write, world-writable folders with
// the sticky bit (the shape of /tmp) near the top of the tree and of each mount, the usual
// temporary and crash folders, and users' ~/.cache. noexec mounts are kept: an interpreter
// reads a script from them all the same.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InputContext } from '../../inputs/types.ts';
import { memoryMounts, mountPoints } from './parse.ts';

// Folders whose children are looked at for o+w sticky folders (besides each mount point).
const PARENTS = ['/', '/var', '/var/lib', '/var/spool', '/run', '/dev', '/var/lib/php'];

const stickyWorldWritable = (mode: number) => (mode & 0o1002) === 0o1002;

async function stickyChildren(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names) {
    const p = join(dir, n);
    const st = await lstat(p).catch(() => undefined);
    if (st?.isDirectory() && stickyWorldWritable(st.mode)) out.push(p);
  }
  return out;
}

/** The folders to judge programs against: configured ones plus, when `fromHost`, the host's. */
export async function writableLocations(ctx: InputContext, configured: readonly string[], homes: readonly string[], fromHost: boolean): Promise<string[]> {
  const out = new Set(configured.map((d) => d.replace(/\/+$/, '') || '/'));
  if (!fromHost) return [...out];
  const mounts = await ctx.readFile(join(ctx.procRoot, 'mounts')).catch(() => '');
  for (const m of memoryMounts(mounts)) out.add(m);
  const parents = new Set([...PARENTS, ...mountPoints(mounts).filter((m) => !m.startsWith('/proc') && !m.startsWith('/sys'))]);
  for (const dir of parents) {
    const st = await lstat(dir).catch(() => undefined);
    if (st?.isDirectory() && stickyWorldWritable(st.mode)) out.add(dir);
    for (const c of await stickyChildren(dir)) out.add(c);
  }
  for (const h of homes) if (h.startsWith('/') && h !== '/' && !h.startsWith('/nonexistent')) out.add(join(h, '.cache'));
  // The root folder itself is never a "temporary location"; a mount there would make every path one.
  out.delete('/');
  return [...out].sort();
}

// The SUID/SGID scan: walks the configured folders (never following symlinks) for regular
// files with the set-user-ID or set-group-ID bit. Directories are read synchronously — a
// stat of an in-cache inode is cheaper than a trip through the thread pool — and the event
// loop is given back after each folder, so a scan of a large /usr delays nothing else long.
import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldNow } from 'node:timers/promises';

export interface SuidEntry {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface SuidScan {
  files: Record<string, SuidEntry>;
  entries: number;
  truncated: boolean;
  /** Stopped by `stopped()` (the agent stopping): the result is partial. */
  aborted: boolean;
  errors: number;
}

const within = (p: string, dir: string) => p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);

export async function scanSuid(root: string, paths: readonly string[], maxEntries: number, stopped: () => boolean = () => false): Promise<SuidScan> {
  const scan: SuidScan = { files: {}, entries: 0, truncated: false, aborted: false, errors: 0 };
  // /bin is /usr/bin on merged-/usr systems: walk each real folder once.
  const real: { path: string; real: string }[] = [];
  for (const p of paths) {
    let r: string;
    try {
      r = realpathSync(join(root, p));
    } catch {
      continue;
    }
    real.push({ path: p, real: r });
  }
  const roots: { path: string; real: string }[] = [];
  for (const c of real.sort((a, b) => a.real.length - b.real.length)) if (!roots.some((k) => within(c.real, k.real))) roots.push(c);
  const stack = roots
    .map((r) => r.path)
    .sort()
    .reverse();
  // Paths are absolute and normal: under the real root they need no join (its normalising, per file, is most of this loop's own CPU).
  const at = root === '/' || root === '' ? (p: string) => p : (p: string) => join(root, p);
  while (stack.length) {
    const dir = stack.pop()!;
    let ents;
    try {
      ents = readdirSync(at(dir), { withFileTypes: true });
    } catch (err) {
      if (!['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) scan.errors++;
      continue;
    }
    const subdirs: string[] = [];
    for (const d of ents) {
      if (++scan.entries > maxEntries) {
        scan.truncated = true;
        return scan;
      }
      const p = dir === '/' ? `/${d.name}` : `${dir}/${d.name}`;
      if (d.isDirectory()) subdirs.push(p);
      else if (d.isFile()) {
        let st;
        try {
          st = lstatSync(at(p), { throwIfNoEntry: false });
        } catch {
          continue; // a path the kernel refuses (ELOOP, EACCES)
        }
        if (!st) continue; // gone meanwhile
        if (st?.isFile() && st.mode & 0o6000) scan.files[p] = { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
      }
    }
    stack.push(...subdirs.sort().reverse());
    await yieldNow();
    if (stopped()) {
      scan.aborted = true;
      return scan;
    }
  }
  return scan;
}

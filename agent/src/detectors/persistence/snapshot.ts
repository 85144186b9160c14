// Reads the persistence locations into a snapshot: per path its type, mode, owner, size,
// times, inode and SHA-256. A file whose size, mtime, ctime and inode are unchanged keeps its
// previous hash, so a comparison costs a stat per file, not a read. The files are local
// and few (hundreds), so they are read synchronously: a trip through the thread pool per
// stat would cost more than the stat.
import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import type { FileCategory, Location } from './locations.ts';

export interface FileEntry {
  category: FileCategory;
  /** `vendor`: a folder packages fill (only additions are reported there). */
  origin: 'admin' | 'vendor';
  kind: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  sha256?: string;
  target?: string;
}

export type FileSnapshot = Record<string, FileEntry>;

// Units, cron jobs and PAM modules are small; a larger file is compared by its metadata.
const MAX_HASH = 8 * 1024 * 1024;
const MAX_DEPTH = 4;

function tryOr<T, U>(f: () => T, fallback: U): T | U {
  try {
    return f();
  } catch {
    return fallback;
  }
}

const kindOf = (st: Stats): FileEntry['kind'] => (st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other');

type Snapshotted = { snapshot: FileSnapshot; errors: number; dirs: string[] };

/**
 * Every file of the locations, with `dirs`: the folders read (as host paths), which are the
 * ones to watch for changes until the next snapshot.
 */
export function snapshotLocations(root: string, locations: readonly Location[], previous: FileSnapshot): Snapshotted {
  const snapshot: FileSnapshot = {};
  const dirs: string[] = [];
  let errors = 0;
  const realRoots = new Set<string>();

  const record = (loc: Location, path: string, st: Stats) => {
    const e: FileEntry = {
      category: loc.category,
      origin: loc.vendor ? 'vendor' : 'admin',
      kind: kindOf(st),
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      ino: st.ino,
    };
    const prev = previous[path];
    if (e.kind === 'file' && e.size <= MAX_HASH) {
      if (prev?.sha256 && prev.size === e.size && prev.mtimeMs === e.mtimeMs && prev.ctimeMs === e.ctimeMs && prev.ino === e.ino) e.sha256 = prev.sha256;
      else {
        const content = tryOr(() => readFileSync(join(root, path)), undefined);
        if (content) e.sha256 = createHash('sha256').update(content).digest('hex');
        else errors++;
      }
    } else if (e.kind === 'symlink') {
      const t = tryOr(() => readlinkSync(join(root, path)), undefined);
      if (t !== undefined) e.target = t;
    }
    snapshot[path] = e;
  };

  // A folder unreadable for now (permissions, I/O, a symlink loop): keep what was known
  // below it rather than report it all removed.
  const keep = (path: string) => {
    errors++;
    for (const [p, e] of Object.entries(previous)) if (p.startsWith(`${path}/`)) snapshot[p] ??= e;
  };

  const walk = (loc: Location, path: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(join(root, path));
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return;
      keep(path);
      return;
    }
    dirs.push(path);
    names.sort();
    for (const n of names) {
      const p = path === '/' ? `/${n}` : `${path}/${n}`;
      if (snapshot[p]) continue;
      const st = tryOr(() => lstatSync(join(root, p)), undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        if (loc.walk === 'tree' && depth < MAX_DEPTH) walk(loc, p, depth + 1);
        continue;
      }
      record(loc, p, st);
    }
  };

  for (const loc of locations) {
    if (loc.walk === 'file') {
      if (snapshot[loc.path]) continue;
      const st = tryOr(() => lstatSync(join(root, loc.path)), undefined);
      if (st && !st.isDirectory()) record(loc, loc.path, st);
      continue;
    }
    // /lib is /usr/lib on merged-/usr systems: read each real folder once.
    let real: string;
    try {
      real = realpathSync(join(root, loc.path));
    } catch (err) {
      if (!['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) keep(loc.path);
      continue;
    }
    if (realRoots.has(real)) continue;
    realRoots.add(real);
    walk(loc, loc.path, 0);
  }
  return { snapshot, errors, dirs };
}

export type FileChange = { path: string; change: 'added' | 'changed' | 'removed'; old?: FileEntry; new?: FileEntry };

/** What differs between two snapshots: content (hash, link target, type), mode or owner. */
export function diffFiles(before: FileSnapshot, after: FileSnapshot): FileChange[] {
  const out: FileChange[] = [];
  for (const [path, n] of Object.entries(after)) {
    const o = before[path];
    if (!o) out.push({ path, change: 'added', new: n });
    else if (
      o.kind !== n.kind ||
      o.sha256 !== n.sha256 ||
      o.target !== n.target ||
      o.mode !== n.mode ||
      o.uid !== n.uid ||
      o.gid !== n.gid ||
      (!n.sha256 && (o.size !== n.size || o.mtimeMs !== n.mtimeMs))
    ) {
      out.push({ path, change: 'changed', old: o, new: n });
    }
  }
  for (const [path, o] of Object.entries(before)) if (!after[path]) out.push({ path, change: 'removed', old: o });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

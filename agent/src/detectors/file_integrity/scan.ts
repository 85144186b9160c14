// Walks the watched paths and records metadata and SHA-256 of each file. A file whose
// size, mtime, ctime and inode are unchanged keeps its previous hash (ctime cannot be set
// back by a user process), so a periodic scan costs a stat per file, not a read.
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { excluded, skippableEditorFile, type EditorRule, type Entry, type Snapshot } from './diff.ts';

export interface ScanOptions {
  exclude: readonly string[];
  /** Editor swap and backup files, skipped unless they could run (script extension, x bit). */
  editor?: EditorRule;
  maxFileSize: number;
  maxFiles: number;
  /** The previous snapshot, whose hashes are reused for unchanged files. */
  previous: Snapshot;
}

export interface ScanStats {
  files: number;
  hashed: number;
  truncated: boolean;
  errors: number;
}

// Small files are read whole (one syscall, far cheaper than a stream); large ones streamed.
const STREAM_ABOVE = 1024 * 1024;

export async function sha256File(path: string, size = Infinity): Promise<string> {
  if (size <= STREAM_ABOVE)
    return createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')));
  });
}

function kindOf(st: Stats): Entry['kind'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** Scan `roots` (files or folders, recursively, never following symlinks) into `out`. */
export async function scanInto(roots: readonly string[], out: Snapshot, opts: ScanOptions, stats: ScanStats): Promise<void> {
  const visit = async (path: string): Promise<void> => {
    if (stats.files >= opts.maxFiles) {
      stats.truncated = true;
      return;
    }
    if (excluded(path, opts.exclude)) return;
    let st: Stats;
    try {
      st = await lstat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') stats.errors++;
      return;
    }
    if (opts.editor && skippableEditorFile(path, opts.editor, st.isFile() ? st.mode : undefined)) return;
    const e: Entry = {
      kind: kindOf(st),
      size: st.size,
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      ino: st.ino,
    };
    stats.files++;
    if (e.kind === 'file' && e.size <= opts.maxFileSize) {
      const prev = opts.previous[path];
      if (prev?.sha256 && prev.size === e.size && prev.mtimeMs === e.mtimeMs && prev.ctimeMs === e.ctimeMs && prev.ino === e.ino) {
        e.sha256 = prev.sha256;
      } else {
        try {
          e.sha256 = await sha256File(path, e.size);
          stats.hashed++;
        } catch {
          // Unreadable (permissions) or gone meanwhile: keep metadata, compare by size/mtime.
          stats.errors++;
        }
      }
    } else if (e.kind === 'symlink') {
      e.target = await readlink(path).catch(() => undefined);
    }
    out[path] = e;
    if (e.kind === 'dir') {
      let names: string[];
      try {
        names = await readdir(path);
      } catch {
        stats.errors++;
        return;
      }
      names.sort();
      for (const n of names) await visit(join(path, n));
    }
  };
  for (const r of roots) await visit(r);
}

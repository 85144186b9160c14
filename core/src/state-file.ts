// State a process keeps across restarts (a detector's cursor, the last boot time, a hash
// of what was seen), written so that a crash or power cut at any moment leaves either the
// old file or the new one, never a torn mix: write a temporary file beside it, fsync it,
// rename it over the old one, fsync the folder so the rename itself is durable.
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

let seq = 0;

/** Atomically replace `path` with `data` (file mode 0600; the folder is created 0750 when missing). */
export async function writeStateFile(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const tmp = `${path}.tmp-${process.pid}-${seq++}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  // Some file systems refuse to open or sync a folder (Windows): the rename stands anyway.
  const d = await open(dir, 'r').catch(() => undefined);
  if (d)
    await d
      .sync()
      .catch(() => {})
      .finally(() => d.close());
}

/** The file's text, or undefined when it does not exist; other errors are thrown. */
export async function readStateFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

import { afterEach, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStateFile, writeStateFile } from './state-file.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'canh-state-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('writeStateFile', () => {
  it('replaces the file whole, creates the folder, leaves no temporary file, mode 0600', async () => {
    const dir = join(tmp(), 'state');
    const path = join(dir, 'cursor.json');
    await writeStateFile(path, '{"a":1}');
    await writeStateFile(path, '{"a":2,"longer":true}');
    expect(readFileSync(path, 'utf8')).toBe('{"a":2,"longer":true}');
    expect(readdirSync(dir)).toEqual(['cursor.json']);
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('syncs the file before the rename and the folder after it', async () => {
    const path = join(tmp(), 'x.json');
    // FileHandle is not exported by node:fs/promises; its prototype is reached through one.
    const probe = await open(path, 'w');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const synced: string[] = [];
    const real = proto.sync;
    vi.spyOn(proto, 'sync').mockImplementation(async function (this: { fd: number }) {
      synced.push(readdirSync(join(path, '..')).join(','));
      return real.call(this);
    });
    rmSync(path);
    await writeStateFile(path, 'new');
    expect(synced).toHaveLength(2);
    // First sync: only the temporary file exists; second: the rename has happened.
    expect(synced[0]).toMatch(/^x\.json\.tmp-\d+-\d+$/);
    expect(synced[1]).toBe('x.json');
  });

  it('keeps the old file and cleans up when the write cannot complete', async () => {
    const dir = tmp();
    const path = join(dir, 'keep.json');
    writeFileSync(path, 'old');
    // A folder in the way of the rename: the new content cannot land.
    const blocked = join(dir, 'blocked');
    await writeStateFile(join(blocked, 'inner'), 'x');
    await expect(writeStateFile(blocked, 'y')).rejects.toThrow();
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir).sort()).toEqual(['blocked', 'keep.json']);
  });
});

describe('writeStateFile on a full disk (a real tmpfs)', () => {
  // Root only (mount); the suite runs as root here and in CI, as the fault tests do.
  const canMount = process.getuid?.() === 0 && process.platform === 'linux';
  it.runIf(canMount)('ENOSPC part-way through: the old file stays whole, no temporary file is left, the next write after space returns lands', async () => {
    const dir = tmp();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    try {
      const path = join(dir, 'baseline.json');
      const old = JSON.stringify({ files: Array.from({ length: 200 }, (_, i) => `/etc/f${i}`) });
      await writeStateFile(path, old);
      // Fill the disk, leaving less than the new state needs.
      const filler = join(dir, 'filler');
      const fd = openSync(filler, 'w');
      try {
        for (;;) writeSync(fd, Buffer.alloc(4096));
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(fd);
      }
      const big = JSON.stringify({ files: Array.from({ length: 20_000 }, (_, i) => `/etc/file-${i}`) });
      await expect(writeStateFile(path, big)).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(readFileSync(path, 'utf8')).toBe(old);
      expect(readdirSync(dir).sort()).toEqual(['baseline.json', 'filler']);
      unlinkSync(filler);
      await writeStateFile(path, big);
      expect(readFileSync(path, 'utf8')).toBe(big);
    } finally {
      execFileSync('umount', [dir]);
    }
  });
});

describe('readStateFile', () => {
  it('is undefined for a missing file and the text otherwise', async () => {
    const path = join(tmp(), 's');
    expect(await readStateFile(path)).toBeUndefined();
    await writeStateFile(path, 'v');
    expect(await readStateFile(path)).toBe('v');
  });
  it('throws other errors', async () => {
    await expect(readStateFile(tmp())).rejects.toThrow(/EISDIR/);
  });
});

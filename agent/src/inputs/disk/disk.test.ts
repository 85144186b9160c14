import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import disk from './index.ts';
import { diskFields, parseMounts } from './parse.ts';
import { fakeContext, hostContext, recorder, testdata, type FakeOptions } from '../testing.ts';

const ROOT_FS = { bsize: 4096, blocks: 1000, bfree: 400, bavail: 300, files: 100, ffree: 25 };

async function gather(opts: FakeOptions, config: Record<string, unknown> = {}) {
  const acc = recorder();
  await disk.create(disk.config.parse(config), fakeContext(opts)).gather!(acc);
  return acc.points;
}

describe('disk', () => {
  it('reports real filesystems only from the captured mount table (no tmpfs, proc, cgroup...)', async () => {
    const statfs = { '/': ROOT_FS, '/dev/shm': ROOT_FS, '/proc': ROOT_FS, '/sys/fs/cgroup/cpu': ROOT_FS };
    const points = await gather({ root: testdata('disk', 'host'), statfs });
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({ name: 'disk', tags: { path: '/', device: 'vda', fstype: 'ext4', mode: 'rw' } });
    expect([...points[0]!.int].sort()).toEqual(['free', 'inodes_free', 'inodes_total', 'inodes_used', 'total', 'used']);
  });

  it('computes used_percent over used + free, leaving root-reserved blocks out, as df and Telegraf do', () => {
    expect(diskFields(ROOT_FS)).toEqual({
      total: 4096 * 1000,
      free: 4096 * 300,
      used: 4096 * 600,
      used_percent: (100 * 600) / 900,
      inodes_total: 100,
      inodes_free: 25,
      inodes_used: 75,
      inodes_used_percent: 75,
    });
    expect(diskFields({ ...ROOT_FS, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0 }).used_percent).toBe(0);
  });

  it('honours mount_points and ignore_fs, unescapes paths, and skips duplicates and zero-size mounts', async () => {
    const files = {
      '/proc/self/mounts': [
        '/dev/sda1 / ext4 rw,relatime 0 0',
        '/dev/sdb1 /srv/my\\040data xfs ro,noatime 0 0',
        '/dev/sdb1 /srv/my\\040data xfs ro,noatime 0 0',
        'tmpfs /run tmpfs rw 0 0',
        'fuse /mnt/empty fuse.foo rw 0 0',
        'garbage',
        '',
      ].join('\n'),
    };
    const statfs = { '/': ROOT_FS, '/srv/my data': ROOT_FS, '/run': ROOT_FS, '/mnt/empty': { ...ROOT_FS, blocks: 0 } };
    const all = await gather({ files, statfs });
    expect(all.map((p) => p.tags.path).sort()).toEqual(['/', '/srv/my data']);
    expect(all.find((p) => p.tags.path === '/srv/my data')!.tags).toMatchObject({ device: 'sdb1', mode: 'ro', fstype: 'xfs' });
    expect((await gather({ files, statfs }, { mount_points: ['/srv/my data'] })).map((p) => p.tags.path)).toEqual(['/srv/my data']);
    expect((await gather({ files, statfs }, { ignore_fs: ['ext4', 'xfs'] })).map((p) => p.tags.path)).toEqual(['/run']);
  });

  it('asks for a statfs without the thread pool only for local filesystems (a network one may hang)', async () => {
    const files = { '/proc/self/mounts': '/dev/sda1 / ext4 rw 0 0\nsrv:/export /mnt/nfs nfs4 rw 0 0\nsshfs#x /mnt/ssh fuse.sshfs rw 0 0\n' };
    const ctx = fakeContext({ files, statfs: { '/': ROOT_FS, '/mnt/nfs': ROOT_FS, '/mnt/ssh': ROOT_FS } });
    const asked: Record<string, boolean | undefined> = {};
    const statfs = ctx.statfs.bind(ctx);
    ctx.statfs = (path, o) => ((asked[path] = o?.local), statfs(path, o));
    await disk.create(disk.config.parse({}), ctx).gather!(recorder());
    expect(asked).toEqual({ '/': true, '/mnt/nfs': false, '/mnt/ssh': false });
  });

  it('skips a mount statfs cannot look into, and falls back to /proc/1/mounts', async () => {
    const files = { '/proc/1/mounts': '/dev/sda1 / ext4 rw 0 0\n/dev/sdc /secret ext4 rw 0 0\n' };
    const points = await gather({ files, statfs: { '/': ROOT_FS } });
    expect(points.map((p) => p.tags.path)).toEqual(['/']);
  });

  it('says clearly when there is no mount table at all', async () => {
    await expect(gather({})).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_UNREADABLE' });
    expect(parseMounts('\0\0\0 x\n\n')).toEqual([]);
  });

  it('reads this machine: the root filesystem has space and sane percentages', async () => {
    const acc = recorder();
    await disk.create(disk.config.parse({}), hostContext()).gather!(acc);
    const rootMounted = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[1] === '/');
    expect(rootMounted).toBe(true);
    const root = acc.find('disk', { path: '/' })[0];
    expect(root).toBeDefined();
    const f = root!.fields as Record<string, number>;
    expect(f.total).toBeGreaterThan(0);
    expect(f.used! + f.free!).toBeLessThanOrEqual(f.total!);
    expect(f.used_percent).toBeGreaterThan(0);
    expect(f.used_percent).toBeLessThanOrEqual(100);
    expect(acc.points.every((p) => !['tmpfs', 'proc', 'sysfs', 'cgroup', 'cgroup2'].includes(p.tags.fstype!))).toBe(true);
  });
});

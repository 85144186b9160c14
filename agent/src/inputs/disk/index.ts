// The `disk` input: space and inodes of each mounted filesystem, through statfs on the
// mount points listed in /proc/self/mounts, as Telegraf's disk input reports them.
import { z } from 'zod';
import { defineInput, type InputContext } from '../types.ts';
import { errCode, readRequired } from '../procfs.ts';
import { DISK_INT_FIELDS, diskFields, mountMode, parseMounts } from './parse.ts';
import { onWindows } from '../perf-counters/gather.ts';
import { windowsDisk } from './windows.ts';

// Telegraf's sample config ignores these, plus the pseudo filesystems that have no
// space to report (Telegraf statfs()es them and drops the zeros; we do not ask).
export const DEFAULT_IGNORE_FS = [
  'tmpfs',
  'devtmpfs',
  'devfs',
  'iso9660',
  'overlay',
  'aufs',
  'squashfs',
  'proc',
  'sysfs',
  'cgroup',
  'cgroup2',
  'devpts',
  'mqueue',
  'debugfs',
  'tracefs',
  'securityfs',
  'pstore',
  'bpf',
  'configfs',
  'fusectl',
  'hugetlbfs',
  'autofs',
  'binfmt_misc',
  'rpc_pipefs',
  'nsfs',
  'efivarfs',
  'selinuxfs',
  'ramfs',
];

// Filesystems on local disks: statfs answers from memory, so it is done without the
// thread pool. Anything else (nfs, cifs, fuse.*, ceph...) may wait on a network.
const LOCAL_FS = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'f2fs', 'jfs', 'reiserfs', 'vfat', 'exfat', 'ntfs', 'ntfs3', 'zfs']);

async function readMounts(ctx: InputContext): Promise<string> {
  // Under HOST_PROC, "self" may name nobody (another PID namespace); PID 1's table is
  // the host's.
  try {
    return await ctx.readFile(`${ctx.procRoot}/self/mounts`);
  } catch {
    return readRequired(ctx, `${ctx.procRoot}/1/mounts`);
  }
}

export default defineInput({
  name: 'disk',
  description: 'Space and inodes used per mounted filesystem (Telegraf disk)',
  platforms: ['linux', 'win32'],
  enabledByDefault: true,
  config: z
    .object({
      /** Only these mount points (exact paths); empty means all. */
      mount_points: z.array(z.string().min(1)).default([]),
      /** Filesystem types to leave out. */
      ignore_fs: z.array(z.string().min(1)).default(DEFAULT_IGNORE_FS),
    })
    .strict(),
  create(config, ctx) {
    if (onWindows(ctx)) return windowsDisk(config, ctx);
    const wanted = new Set(config.mount_points);
    const ignored = new Set(config.ignore_fs);
    return {
      async gather(acc) {
        const seen = new Set<string>();
        const mounts = parseMounts(await readMounts(ctx)).filter((m) => {
          if (ignored.has(m.fstype) || (wanted.size > 0 && !wanted.has(m.path)) || seen.has(m.path)) return false;
          seen.add(m.path);
          return true;
        });
        await Promise.all(
          mounts.map(async (m) => {
            let s;
            try {
              s = await ctx.statfs(m.path, { local: LOCAL_FS.has(m.fstype) });
            } catch (err) {
              // A mount we may not look into (another user's FUSE mount) is not an error.
              ctx.log.debug({ path: m.path, code: errCode(err) }, 'statfs failed; mount skipped');
              return;
            }
            if (s.blocks === 0) return; // a pseudo filesystem that slipped through ignore_fs
            const tags = { path: m.path, device: m.device.replace(/^\/dev\//, ''), fstype: m.fstype, mode: mountMode(m.options) };
            acc.addPoint('disk', tags, diskFields(s), { int: DISK_INT_FIELDS });
          }),
        );
      },
    };
  },
});

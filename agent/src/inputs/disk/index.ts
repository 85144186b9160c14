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
    // The mount table rarely changes: what it says (the mounts to look at, their tags) is
    // worked out again only when its text differs from the last gather's, instead of
    // parsing and filtering every line and building the same tags each interval.
    let table: string | undefined;
    let mounts: { path: string; local: boolean; tags: Record<string, string> }[] = [];
    const mountsOf = (text: string) => {
      if (text === table) return mounts;
      const seen = new Set<string>();
      mounts = parseMounts(text)
        .filter((m) => {
          if (ignored.has(m.fstype) || (wanted.size > 0 && !wanted.has(m.path)) || seen.has(m.path)) return false;
          seen.add(m.path);
          return true;
        })
        .map((m) => ({
          path: m.path,
          local: LOCAL_FS.has(m.fstype),
          tags: { path: m.path, device: m.device.replace(/^\/dev\//, ''), fstype: m.fstype, mode: mountMode(m.options) },
        }));
      table = text;
      return mounts;
    };
    return {
      async gather(acc) {
        await Promise.all(
          mountsOf(await readMounts(ctx)).map(async (m) => {
            let s;
            try {
              s = await ctx.statfs(m.path, { local: m.local });
            } catch (err) {
              // A mount we may not look into (another user's FUSE mount) is not an error.
              ctx.log.debug({ path: m.path, code: errCode(err) }, 'statfs failed; mount skipped');
              return;
            }
            if (s.blocks === 0) return; // a pseudo filesystem that slipped through ignore_fs
            // The tags object is shared by the gathers of one mount table: nothing changes a
            // point's tags once it is added.
            acc.addPoint('disk', m.tags, diskFields(s), { int: DISK_INT_FIELDS });
          }),
        );
      },
    };
  },
});

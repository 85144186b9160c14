// The `diskio` input: I/O counters per block device from /proc/diskstats, as Telegraf's
// diskio input reports them (cumulative counts; rates are derived at query time).
import { z } from 'zod';
import { defineInput } from '../types.ts';
import { readRequired } from '../procfs.ts';
import { compileGlobs } from '../glob.ts';
import { DISKIO_INT_FIELDS, parseDiskstats } from './parse.ts';
import { onWindows } from '../perf-counters/gather.ts';
import { windowsDiskio } from './windows.ts';

export default defineInput({
  name: 'diskio',
  description: 'Disk I/O counters per block device (Telegraf diskio)',
  platforms: ['linux', 'win32'],
  enabledByDefault: true,
  config: z
    .object({
      /** Devices to report, as globs ("sd*", "nvme0n1"). Listed devices are reported even if ignore_devices matches them. Empty means all. */
      devices: z.array(z.string().min(1)).default([]),
      /** Devices left out when `devices` is empty: loop and RAM disks are noise on most hosts (snap mounts dozens of loops). */
      ignore_devices: z.array(z.string().min(1)).default(['loop*', 'ram*']),
    })
    .strict(),
  create(config, ctx) {
    if (onWindows(ctx)) return windowsDiskio(config, ctx);
    const wanted = compileGlobs(config.devices);
    const ignored = compileGlobs(config.ignore_devices);
    const keep = config.devices.length > 0 ? wanted : (name: string) => !ignored(name);
    return {
      async gather(acc) {
        for (const d of parseDiskstats(await readRequired(ctx, `${ctx.procRoot}/diskstats`))) {
          if (keep(d.name)) acc.addPoint('diskio', { name: d.name }, d.fields, { int: DISKIO_INT_FIELDS });
        }
      },
    };
  },
});

// The `swap` input: swap space and swap traffic (bytes swapped in and out since boot)
// from /proc/meminfo and /proc/vmstat, as Telegraf's swap input reports them.
import { z } from 'zod';
import { defineInput } from '../types.ts';
import { badData, parseMeminfo, readOptional, readRequired } from '../procfs.ts';
import { SWAP_INT_FIELDS, pageSizeFrom, parseKeyValues, swapFields } from './parse.ts';
import { onWindows } from '../perf-counters/gather.ts';
import { windowsSwap } from './windows.ts';

/** What every x86 and most arm64 kernels use, and what gopsutil assumes. */
const DEFAULT_PAGE_SIZE = 4096;

export default defineInput({
  name: 'swap',
  description: 'Swap space and swap traffic (Telegraf swap)',
  platforms: ['linux', 'win32'],
  enabledByDefault: true,
  config: z.object({}).strict(),
  create(_config, ctx) {
    if (onWindows(ctx)) return windowsSwap(ctx);
    let pageSize: number | undefined;
    return {
      async gather(acc) {
        if (pageSize === undefined) {
          const [status, statm] = await Promise.all([readOptional(ctx, `${ctx.procRoot}/self/status`), readOptional(ctx, `${ctx.procRoot}/self/statm`)]);
          pageSize = (status && statm && pageSizeFrom(status, statm)) || DEFAULT_PAGE_SIZE;
        }
        const meminfoPath = `${ctx.procRoot}/meminfo`;
        const [meminfo, vmstat] = await Promise.all([readRequired(ctx, meminfoPath), readRequired(ctx, `${ctx.procRoot}/vmstat`)]);
        const fields = swapFields(parseMeminfo(meminfo), parseKeyValues(vmstat), pageSize);
        if (!fields) throw badData(meminfoPath, 'no SwapTotal/SwapFree lines');
        acc.addPoint('swap', {}, fields, { int: SWAP_INT_FIELDS });
      },
    };
  },
});

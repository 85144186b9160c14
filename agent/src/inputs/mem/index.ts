// The `mem` input: memory use from /proc/meminfo, with Telegraf's field names and
// gopsutil's arithmetic (used, cached, available) so Telegraf dashboards work unchanged.
import { z } from 'zod';
import { defineInput } from '../types.ts';
import { badData, parseMeminfo, readRequiredNow } from '../procfs.ts';
import { MEM_INT_FIELDS, memFields } from './parse.ts';
import { onWindows } from '../perf-counters/gather.ts';
import { windowsMem } from './windows.ts';

export default defineInput({
  name: 'mem',
  description: 'Memory use from /proc/meminfo (Telegraf mem)',
  platforms: ['linux', 'win32'],
  enabledByDefault: true,
  config: z.object({}).strict(),
  create(_config, ctx) {
    if (onWindows(ctx)) return windowsMem(ctx);
    return {
      async gather(acc) {
        const path = `${ctx.procRoot}/meminfo`;
        const text = readRequiredNow(ctx, path);
        const fields = memFields(parseMeminfo(typeof text === 'string' ? text : await text));
        if (!fields) throw badData(path, 'no MemTotal line');
        acc.addPoint('mem', {}, fields, { int: MEM_INT_FIELDS });
      },
    };
  },
});

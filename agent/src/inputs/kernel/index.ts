// The `kernel` input: boot time, context switches, interrupts, forks and available
// entropy, from /proc/stat and /proc/sys, as Telegraf's kernel input reports them.
import { z } from 'zod';
import { defineInput } from '../types.ts';
import { badData, readOptional, readRequired, uint } from '../procfs.ts';
import { parseKernelStat } from './parse.ts';

export default defineInput({
  name: 'kernel',
  description: 'Kernel counters: boot time, context switches, interrupts, forks, entropy (Telegraf kernel)',
  platforms: ['linux'],
  enabledByDefault: true,
  config: z.object({}).strict(),
  create(_config, ctx) {
    return {
      async gather(acc) {
        const path = `${ctx.procRoot}/stat`;
        const [stat, entropy] = await Promise.all([readRequired(ctx, path), readOptional(ctx, `${ctx.procRoot}/sys/kernel/random/entropy_avail`)]);
        const fields = parseKernelStat(stat);
        if (Object.keys(fields).length === 0) throw badData(path, 'no btime, ctxt, intr or processes line');
        const e = uint(entropy?.trim());
        if (e !== undefined) fields.entropy_avail = e;
        acc.addPoint('kernel', {}, fields, { int: Object.keys(fields) });
      },
    };
  },
});

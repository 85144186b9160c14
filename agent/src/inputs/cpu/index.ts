// The `cpu` input: per-CPU and total CPU usage in percent from /proc/stat, with
// Telegraf's measurement, tags and fields so its dashboards work unchanged.
import { z } from 'zod';
import { defineInput } from '../types.ts';
import { badData, readRequiredNow } from '../procfs.ts';
import { cpuTimeFields, cpuUsage, parseCpuStat, type CpuTimes } from './parse.ts';
import { onWindows } from '../perf-counters/gather.ts';
import { windowsCpu } from './windows.ts';

export default defineInput({
  name: 'cpu',
  description: 'CPU usage per CPU and in total, in percent (Telegraf cpu)',
  platforms: ['linux', 'win32'],
  enabledByDefault: true,
  config: z
    .object({
      /** One point per CPU, tagged cpu=cpuN. */
      percpu: z.boolean().default(true),
      /** One point for all CPUs together, tagged cpu=cpu-total. */
      totalcpu: z.boolean().default(true),
      /** Also send the cumulative time_* counters, in seconds. */
      collect_cpu_time: z.boolean().default(false),
      /** Also send usage_active (100 - idle) and, with collect_cpu_time, time_active. */
      report_active: z.boolean().default(false),
    })
    .strict(),
  create(config, ctx) {
    if (onWindows(ctx)) return windowsCpu(config, ctx);
    let prev = new Map<string, CpuTimes>();
    return {
      async gather(acc) {
        const path = `${ctx.procRoot}/stat`;
        const text = readRequiredNow(ctx, path);
        const samples = parseCpuStat(typeof text === 'string' ? text : await text);
        if (samples.length === 0) throw badData(path, 'no cpu lines');
        for (const cur of samples) {
          const isTotal = cur.cpu === 'cpu-total';
          if (isTotal ? !config.totalcpu : !config.percpu) continue;
          const last = prev.get(cur.cpu);
          // Usage needs a previous sample, so the first gather sends none (as Telegraf).
          const usage = last ? cpuUsage(last, cur, config.report_active) : undefined;
          const fields = { ...(config.collect_cpu_time ? cpuTimeFields(cur, config.report_active) : {}), ...usage };
          if (Object.keys(fields).length > 0) acc.addPoint('cpu', { cpu: cur.cpu }, fields);
        }
        prev = new Map(samples.map((s) => [s.cpu, s]));
      },
    };
  },
});

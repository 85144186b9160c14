// The `processes` input: how many processes are in each state (running, sleeping,
// blocked, zombie...) and how many threads exist, from /proc/<pid>/stat, as Telegraf's
// processes input reports them.
import { z } from 'zod';
import { defineInput, type InputContext } from '../types.ts';
import { errCode, isGone, unreadable } from '../procfs.ts';
import { emptyCounts, parseProcStat, tally, type ProcStat } from './parse.ts';
import { onWindows } from '../perf-counters/gather.ts';
import { windowsProcesses } from './windows.ts';

/** Reads in flight at once: enough to hide latency, few enough not to hog libuv's pool. */
const CONCURRENCY = 16;

async function readStat(ctx: InputContext, pid: string): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(await ctx.readFile(`${ctx.procRoot}/${pid}/stat`));
  } catch (err) {
    // A process that exits between readdir and read is the normal churn of a host.
    if (!isGone(err)) ctx.log.debug({ pid, code: errCode(err) }, 'cannot read process stat');
    return undefined;
  }
}

export default defineInput({
  name: 'processes',
  description: 'Number of processes per state and of threads (Telegraf processes)',
  platforms: ['linux', 'win32'],
  enabledByDefault: true,
  config: z.object({}).strict(),
  create(_config, ctx) {
    if (onWindows(ctx)) return windowsProcesses(ctx);
    return {
      async gather(acc) {
        let entries: string[];
        try {
          entries = await ctx.readdir(ctx.procRoot);
        } catch (err) {
          throw unreadable(ctx.procRoot, err);
        }
        const pids = entries.filter((e) => /^\d+$/.test(e));
        const counts = emptyCounts();
        for (let i = 0; i < pids.length; i += CONCURRENCY) {
          const stats = await Promise.all(pids.slice(i, i + CONCURRENCY).map((pid) => readStat(ctx, pid)));
          for (const s of stats) if (s) tally(counts, s);
        }
        acc.addPoint('processes', {}, counts, { int: Object.keys(counts) });
      },
    };
  },
});

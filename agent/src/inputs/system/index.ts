// The `system` input: load averages, CPU count, logged-in users and uptime, as
// Telegraf's system input reports them.
import { z } from 'zod';
import { defineInput, type InputContext } from '../types.ts';
import { badData, errCode, readRequiredNow } from '../procfs.ts';
import { countCpus, formatUptime, parseLoadavg, parseUptime, parseUtmpUsers } from './parse.ts';
import { onWindows } from '../perf-counters/gather.ts';
import { windowsSystem } from './windows.ts';

/** Where glibc keeps the login records (a symlink to /run/utmp on current systems). */
const UTMP = '/var/run/utmp';

/** User names logged in, or undefined when utmp cannot be read (then Telegraf sends no n_users either). */
async function loggedIn(ctx: InputContext): Promise<string[] | undefined> {
  if (!ctx.readFileBytes) return undefined;
  try {
    return parseUtmpUsers(await ctx.readFileBytes(UTMP));
  } catch (err) {
    // Containers and minimal images often have no utmp; that is not worth a warning.
    ctx.log.debug({ path: UTMP, code: errCode(err) }, 'cannot read utmp; n_users left out');
    return undefined;
  }
}

export default defineInput({
  name: 'system',
  description: 'Load averages, CPU count, logged-in users and uptime (Telegraf system)',
  platforms: ['linux', 'win32'],
  enabledByDefault: true,
  config: z.object({}).strict(),
  create(_config, ctx) {
    if (onWindows(ctx)) return windowsSystem(ctx);
    return {
      async gather(acc) {
        const loadPath = `${ctx.procRoot}/loadavg`;
        const uptimePath = `${ctx.procRoot}/uptime`;
        // At once where the context can (procfs), without a promise per file.
        const l = readRequiredNow(ctx, loadPath);
        const u = readRequiredNow(ctx, uptimePath);
        const c = readRequiredNow(ctx, `${ctx.procRoot}/stat`);
        const [loadText, uptimeText, stat] = typeof l === 'string' && typeof u === 'string' && typeof c === 'string' ? [l, u, c] : await Promise.all([l, u, c]);
        // utmp is absent on containers and minimal hosts: said without a failed open's error
        // each tick, and without a promise to wait for.
        const users = ctx.exists && !ctx.exists(UTMP) ? undefined : await loggedIn(ctx);
        const load = parseLoadavg(loadText);
        if (!load) throw badData(loadPath, 'not three load averages');
        const uptime = parseUptime(uptimeText);
        if (uptime === undefined) throw badData(uptimePath, 'no uptime in seconds');
        const fields: Record<string, number | string> = { ...load, n_cpus: countCpus(stat) };
        if (users) Object.assign(fields, { n_users: users.length, n_unique_users: new Set(users).size });
        Object.assign(fields, { uptime, uptime_format: formatUptime(uptime) });
        acc.addPoint('system', {}, fields, { int: ['n_cpus', 'n_users', 'n_unique_users', 'uptime'] });
      },
    };
  },
});

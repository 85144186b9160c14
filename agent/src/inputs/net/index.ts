// The `net` input: traffic counters per network interface from /proc/net/dev, their
// per-second rates, link speed from sysfs, and on request system-wide protocol counters
// from /proc/net/snmp, with Telegraf's measurement, tags and fields.
import { z } from 'zod';
import { defineInput, type InputContext } from '../types.ts';
import { int, readOptional, readRequired } from '../procfs.ts';
import { compileGlobs } from '../glob.ts';
import { COUNTERS, netRates, parseFlags, parseNetDev, parseSnmp, type Counters } from './parse.ts';

const INT_FIELDS: readonly string[] = [...COUNTERS, 'speed'];

/** Whether Telegraf's default would report this interface: up and not loopback. */
async function upAndNotLoopback(ctx: InputContext, name: string): Promise<boolean> {
  const flags = parseFlags((await readOptional(ctx, `${ctx.sysRoot}/class/net/${name}/flags`)) ?? '');
  // Without sysfs we cannot know; report it unless the name says loopback.
  if (!flags) return name !== 'lo';
  return flags.up && !flags.loopback;
}

/** Link speed in Mbit/s; -1 when the kernel does not know (virtual, down), as Telegraf sends. */
async function speed(ctx: InputContext, name: string): Promise<number> {
  return int((await readOptional(ctx, `${ctx.sysRoot}/class/net/${name}/speed`))?.trim()) ?? -1;
}

export default defineInput({
  name: 'net',
  description: 'Network interface traffic, rates, link speed and protocol counters (Telegraf net)',
  platforms: ['linux'],
  enabledByDefault: true,
  config: z
    .object({
      /** Interfaces to report, as globs ("eth*", "enp0s[0-1]"), whether up or not. Empty means every interface that is up, except loopback. */
      interfaces: z.array(z.string().min(1)).default([]),
      /** Leave out the interface=all point of /proc/net/snmp counters (set false to send them: about 100 more fields per host and interval). */
      ignore_protocol_stats: z.boolean().default(true),
    })
    .strict(),
  create(config, ctx) {
    const match = compileGlobs(config.interfaces);
    const wanted = config.interfaces.length > 0 ? async (name: string) => match(name) : (name: string) => upAndNotLoopback(ctx, name);
    let prev = new Map<string, Counters>();
    let prevTime = 0;
    return {
      async gather(acc) {
        const now = ctx.now();
        const devs = parseNetDev(await readRequired(ctx, `${ctx.procRoot}/net/dev`));
        const next = new Map<string, Counters>();
        await Promise.all(
          devs.map(async (d) => {
            if (!(await wanted(d.name))) return;
            const last = prev.get(d.name);
            const rates = last ? netRates(last, d.counters, now - prevTime) : {};
            acc.addPoint('net', { interface: d.name }, { ...d.counters, ...rates, speed: await speed(ctx, d.name) }, { int: INT_FIELDS });
            next.set(d.name, d.counters);
          }),
        );
        prev = next;
        prevTime = now;
        if (!config.ignore_protocol_stats) {
          // Telegraf ignores an unreadable /proc/net/snmp (IPv4 disabled, restricted
          // containers), and so do we.
          const snmp = await readOptional(ctx, `${ctx.procRoot}/net/snmp`);
          const fields = snmp ? parseSnmp(snmp) : {};
          if (Object.keys(fields).length > 0) acc.addPoint('net', { interface: 'all' }, fields, { int: Object.keys(fields) });
        }
      },
    };
  },
});

// The `net` input: traffic counters per network interface from /proc/net/dev, their
// per-second rates, link speed from sysfs, and on request system-wide protocol counters
// from /proc/net/snmp, with Telegraf's measurement, tags and fields.
import { z } from 'zod';
import { defineInput, type InputContext } from '../types.ts';
import { int, readOptional, readRequiredNow } from '../procfs.ts';
import { compileGlobs } from '../glob.ts';
import { COUNTERS, netRates, parseFlags, parseNetDev, parseSnmp, type Counters } from './parse.ts';
import { onWindows } from '../perf-counters/gather.ts';
import { WINDOWS_VIRTUAL_ADAPTERS, windowsNet } from './windows.ts';

const INT_FIELDS: readonly string[] = [...COUNTERS, 'speed'];

/** Whether Telegraf's default would report this interface (flags: its sysfs `flags`): up and not loopback. */
function upAndNotLoopback(flagsText: string | undefined, name: string): boolean {
  const flags = parseFlags(flagsText ?? '');
  // Without sysfs we cannot know; report it unless the name says loopback.
  if (!flags) return name !== 'lo';
  return flags.up && !flags.loopback;
}

/** Link speed in Mbit/s from its sysfs `speed`; -1 when the kernel does not know (virtual, down), as Telegraf sends. */
function speed(text: string | undefined): number {
  return int(text?.trim()) ?? -1;
}

/**
 * A sysfs attribute of an interface, or undefined when it cannot be read (an interface
 * without a speed, no sysfs). Read at once where the context can (readAttribute, its
 * descriptor kept while `generation`, the interface names in the kernel's order, holds).
 */
function attribute(ctx: InputContext, path: string, generation: string): string | undefined | Promise<string | undefined> {
  if (!ctx.readAttribute) return readOptional(ctx, path);
  try {
    return ctx.readAttribute(path, generation);
  } catch {
    return undefined;
  }
}

export default defineInput({
  name: 'net',
  description: 'Network interface traffic, rates, link speed and protocol counters (Telegraf net)',
  platforms: ['linux', 'win32'],
  enabledByDefault: true,
  config: z
    .object({
      /** Interfaces to report, as globs ("eth*", "enp0s[0-1]"), whether up or not. Empty means every interface that is up, except loopback. */
      interfaces: z.array(z.string().min(1)).default([]),
      /**
       * Interfaces left out when `interfaces` is empty, as globs. The default names Windows's
       * virtual adapters (IPv6 transition pseudo-interfaces, Hyper-V switch ports, VPN
       * adapters: net/windows.ts); on Linux, down and loopback interfaces are left out anyway.
       */
      ignore_interfaces: z.array(z.string().min(1)).default([...WINDOWS_VIRTUAL_ADAPTERS]),
      /** Leave out the interface=all point of /proc/net/snmp counters (set false to send them: about 100 more fields per host and interval). */
      ignore_protocol_stats: z.boolean().default(true),
    })
    .strict(),
  create(config, ctx) {
    const match = config.interfaces.length > 0 ? compileGlobs(config.interfaces) : undefined;
    const ignored = compileGlobs(config.ignore_interfaces);
    if (onWindows(ctx)) return windowsNet(match ?? ((name) => !ignored(name)), ctx);
    const sys = `${ctx.sysRoot}/class/net/`;
    let prev = new Map<string, Counters>();
    let prevTime = 0;
    return {
      async gather(acc) {
        // Rates over the monotonic clock: a step of the wall clock is no interval.
        const now = ctx.mono ? ctx.mono() : ctx.now();
        const text = readRequiredNow(ctx, `${ctx.procRoot}/net/dev`);
        const devs = parseNetDev(typeof text === 'string' ? text : await text);
        let generation = '';
        for (const d of devs) generation += `${d.name}\n`;
        const next = new Map<string, Counters>();
        for (const d of devs) {
          // Awaited only when it is a promise: an await of a plain value still suspends.
          let flags = match ? undefined : attribute(ctx, `${sys}${d.name}/flags`, generation);
          if (flags instanceof Promise) flags = await flags;
          if (match ? !match(d.name) : !upAndNotLoopback(flags, d.name) || ignored(d.name)) continue;
          let linkSpeed = attribute(ctx, `${sys}${d.name}/speed`, generation);
          if (linkSpeed instanceof Promise) linkSpeed = await linkSpeed;
          const last = prev.get(d.name);
          const rates = last ? netRates(last, d.counters, now - prevTime) : {};
          acc.addPoint('net', { interface: d.name }, { ...d.counters, ...rates, speed: speed(linkSpeed) }, { int: INT_FIELDS });
          next.set(d.name, d.counters);
        }
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

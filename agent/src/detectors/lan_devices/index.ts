// lan_devices: watches the host's IPv4 neighbour table for devices new on the LAN and for
// a known address — above all the default gateway — suddenly answering from another MAC,
// the mark of ARP spoofing (a man in the middle). Passive: it only reads what the kernel
// has already learnt, it sends nothing.
import { join } from 'node:path';
import { z } from 'zod';
import { duration } from '@canh/core';
import { defineInput, type Accumulator, type InputContext } from '../../inputs/types.ts';
import { baselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { groupFindings, sample } from '../group-findings.ts';
import { parseArp, parseDefaultGateways, type Neighbour } from './parse.ts';

const config = z.object({
  /** MACs never reported (lower case or upper case, colon separated). */
  allow_macs: z.array(z.string().regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, 'not a MAC address like 00:11:22:33:44:55')).default([]),
  /** IPs never reported (e.g. a VRRP/CARP virtual gateway whose MAC moves by design). */
  allow_ips: z.array(z.string().min(1)).default([]),
  /** A new MAC for a known IP, seen this long without the old one, becomes the expected one. */
  relearn_after: duration({ min: 0 }).default(86_400_000),
  /** More new devices than this in one gather become one event with a count. */
  max_new_device_events: z.number().int().min(1).default(10),
  state_name: z
    .string()
    .regex(/^[a-z0-9_.-]+$/i)
    .default('lan_devices'),
});

const BaselineSchema = shape.object({
  devices: shape.record(shape.object({ mac: shape.string, interface: shape.string, first_seen: shape.number })),
  macs: shape.record(shape.object({ ip: shape.string, first_seen: shape.number })),
  /** IPs seen answering from a different MAC: which one, since when (already reported). */
  conflicts: shape.withDefault(shape.record(shape.object({ mac: shape.string, since: shape.number })), () => ({})),
});
type Baseline = shape.Infer<typeof BaselineSchema>;

export default defineInput({
  name: 'lan_devices',
  description: 'New devices on the LAN and ARP spoofing (a known IP, above all the gateway, answering from another MAC)',
  platforms: ['linux'],
  config,
  create(cfg, ctx) {
    const store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log: ctx.log });
    const allowMacs = new Set(cfg.allow_macs.map((m) => m.toLowerCase()));
    const allowIps = new Set(cfg.allow_ips);
    let base: Baseline | undefined;
    let loaded = false;
    /** The tables as read at the last gather. */
    let lastText: string | undefined;

    return {
      async gather(acc) {
        const now = ctx.now();
        const read = await readNeighbours(ctx, allowMacs, allowIps, (text) => {
          // The same tables as at the last gather, and no conflict waiting for relearn_after:
          // every neighbour is known with its MAC, nothing to parse or compare (the idle gather).
          const same = text === lastText && base !== undefined && Object.keys(base.conflicts).length === 0;
          lastText = text;
          return same;
        });
        if (!read) return;
        const { seen, gateways } = read;

        if (!loaded) {
          loaded = true;
          base = await store.load();
          if (!base) {
            base = { devices: {}, macs: {}, conflicts: {} };
            for (const n of seen) {
              base.devices[n.ip] ??= { mac: n.mac, interface: n.interface, first_seen: now };
              base.macs[n.mac] ??= { ip: n.ip, first_seen: now };
            }
            await store.save(base);
            return;
          }
        }
        const b = base!;
        let changed = false;
        const newDevices: Neighbour[] = [];
        for (const n of seen) {
          if (!b.macs[n.mac]) {
            b.macs[n.mac] = { ip: n.ip, first_seen: now };
            newDevices.push(n);
            changed = true;
          }
          if (checkAddress(b, n, { gateways, now, relearnAfter: cfg.relearn_after }, acc)) changed = true;
        }
        reportNewDevices(acc, newDevices, cfg.max_new_device_events);
        if (changed) await store.save(b);
      },
    };
  },
});

/** The neighbour table less the allowed MACs and IPs, and the default gateways; undefined when it cannot be read or is `unchanged`. */
async function readNeighbours(
  ctx: InputContext,
  allowMacs: Set<string>,
  allowIps: Set<string>,
  unchanged: (text: string) => boolean,
): Promise<{ seen: Neighbour[]; gateways: Set<string> } | undefined> {
  let arp: string;
  try {
    arp = await ctx.readFile(join(ctx.procRoot, 'net', 'arp'));
  } catch (err) {
    ctx.log.warn({ err, code: 'CANH_ERR_LAN_ARP_UNREADABLE' }, 'cannot read the neighbour table (/proc/net/arp); is procfs mounted (HOST_PROC)?');
    return undefined;
  }
  const route = await ctx.readFile(join(ctx.procRoot, 'net', 'route')).catch(() => '');
  if (unchanged(`${arp}\n${route}`)) return undefined;
  const gateways = new Set(parseDefaultGateways(route));
  const { neighbours, malformed } = parseArp(arp);
  if (malformed) ctx.log.warn({ malformed }, 'skipped malformed lines in /proc/net/arp');
  return { seen: neighbours.filter((n) => !allowMacs.has(n.mac) && !allowIps.has(n.ip)), gateways };
}

/**
 * One neighbour's IP against the MAC expected for it: learnt when new, a conflict (ARP
 * spoofing) when another MAC answers, relearnt when that MAC has held it for relearnAfter.
 * Returns whether the baseline changed.
 */
function checkAddress(b: Baseline, n: Neighbour, at: { gateways: Set<string>; now: number; relearnAfter: number }, acc: Accumulator): boolean {
  const { gateways, now } = at;
  const known = b.devices[n.ip];
  if (!known) {
    b.devices[n.ip] = { mac: n.mac, interface: n.interface, first_seen: now };
    return true;
  }
  if (known.mac === n.mac) {
    if (!b.conflicts[n.ip]) return false;
    delete b.conflicts[n.ip]; // the rightful owner answers again
    return true;
  }
  const c = b.conflicts[n.ip];
  if (c?.mac === n.mac) {
    if (now - c.since < at.relearnAfter) return false;
    acc.addEvent({
      type: 'lan_device_mac_changed',
      severity: 'info',
      message: `${n.ip} has answered from ${n.mac} instead of ${known.mac} since ${new Date(c.since).toISOString()}; ${n.mac} is now the expected MAC`,
      evidence: { ip: n.ip, mac: n.mac, expected_mac: known.mac, interface: n.interface },
    });
    b.devices[n.ip] = { mac: n.mac, interface: n.interface, first_seen: now };
    delete b.conflicts[n.ip];
    return true;
  }
  const gateway = gateways.has(n.ip);
  b.conflicts[n.ip] = { mac: n.mac, since: now };
  acc.addEvent({
    type: 'arp_spoofing',
    severity: gateway ? 'critical' : 'high',
    mitre: 'T1557.002',
    message: `${gateway ? 'default gateway ' : ''}${n.ip} now answers from ${n.mac} on ${n.interface}, expected ${known.mac}: possible ARP spoofing (man in the middle)`,
    evidence: { ip: n.ip, mac: n.mac, expected_mac: known.mac, interface: n.interface, gateway },
  });
  return true;
}

/** New devices: one event each, or one per interface with a count past max. */
function reportNewDevices(acc: Accumulator, newDevices: Neighbour[], max: number): void {
  const { single, grouped } = groupFindings(newDevices, (n) => n.interface, max);
  for (const n of single) {
    acc.addEvent({
      type: 'new_lan_device',
      severity: 'medium',
      message: `new device on the LAN: ${n.ip} (${n.mac}) on ${n.interface}`,
      evidence: { ip: n.ip, mac: n.mac, interface: n.interface },
    });
  }
  for (const g of grouped) {
    acc.addEvent({
      type: 'new_lan_device',
      severity: 'medium',
      message: `${g.items.length} new devices on the LAN on ${g.key}`,
      evidence: { interface: g.key, devices: sample(g.items.map((n) => `${n.ip} ${n.mac}`)) },
      count: g.items.length,
    });
  }
}

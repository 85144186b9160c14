// listening_ports: reports TCP and UDP listeners (IPv4 and IPv6) that appear or go away
// compared with a persisted baseline. A new listener must persist past a grace period
// before it is reported, so short-lived sockets (DNS lookups, restarts) stay quiet.
import { join } from 'node:path';
import { z } from 'zod';
import { defineInput, type Accumulator } from '../../inputs/types.ts';
import { baselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { groupFindings, sample } from '../group-findings.ts';
import { isLoopback, parseProcNet, type Listener, type Proto } from './parse.ts';
import { findOwners, type Owner } from './owners.ts';

// Ports long associated with backdoors and shells; a listener there is reported high.
const BACKDOOR_PORTS = [31337, 4444, 1337, 12345, 54321, 6666, 6667, 5554, 9999];

const config = z.object({
  /** Gathers a listener must be seen in a row (after the first) before it is reported. */
  grace_intervals: z.number().int().min(0).default(2),
  protocols: z.array(z.enum(['tcp', 'tcp6', 'udp', 'udp6'])).default(['tcp', 'tcp6', 'udp', 'udp6']),
  /** Ports never reported (e.g. a service that binds random UDP ports). */
  ignore_ports: z.array(z.number().int().min(0).max(65535)).default([]),
  backdoor_ports: z.array(z.number().int().min(1).max(65535)).default(BACKDOOR_PORTS),
  /** More new listeners than this from one process in one gather become one event. */
  max_events_per_process: z.number().int().min(1).default(10),
  state_name: z.string().regex(/^[a-z0-9_.-]+$/i).default('listening_ports'),
});

const KnownSchema = shape.object({ proto: shape.string, address: shape.string, port: shape.number, process: shape.string, first_seen: shape.number });
const BaselineSchema = shape.object({ listeners: shape.record(KnownSchema) });
type Known = shape.Infer<typeof KnownSchema>;

interface Seen extends Listener {
  key: string;
  owner?: Owner;
}

export default defineInput({
  name: 'listening_ports',
  description: 'New and closed TCP/UDP listening ports (IPv4 and IPv6), with the owning process',
  platforms: ['linux'],
  config,
  create(cfg, ctx) {
    const store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log: ctx.log });
    let known: Record<string, Known> | undefined;
    const pending = new Map<string, number>();
    const missing = new Map<string, number>();
    const owners = new Map<number, Owner | null>();
    const ignored = new Set(cfg.ignore_ports);

    const current = async (): Promise<Map<string, Seen>> => {
      const all: Listener[] = [];
      for (const proto of cfg.protocols as Proto[]) {
        const text = await ctx.readFile(join(ctx.procRoot, 'net', proto)).catch(() => '');
        const { listeners, malformed } = parseProcNet(text, proto);
        if (malformed) ctx.log.warn({ proto, malformed }, 'skipped malformed lines in /proc/net');
        all.push(...listeners.filter((l) => !ignored.has(l.port)));
      }
      const unknown = new Set(all.filter((l) => !owners.has(l.inode)).map((l) => l.inode));
      const found = await findOwners(ctx, unknown);
      for (const i of unknown) owners.set(i, found.get(i) ?? null);
      const live = new Set(all.map((l) => l.inode));
      for (const i of owners.keys()) if (!live.has(i)) owners.delete(i);
      const out = new Map<string, Seen>();
      for (const l of all) {
        const owner = owners.get(l.inode) ?? undefined;
        const key = `${l.proto} ${l.address} ${l.port} ${owner?.process ?? 'unknown'}`;
        out.set(key, { ...l, key, owner });
      }
      return out;
    };

    const report = (acc: Accumulator, fresh: Seen[]) => {
      const { single, grouped } = groupFindings(fresh, (s) => s.owner?.process ?? 'unknown', cfg.max_events_per_process);
      for (const s of single) {
        const backdoor = cfg.backdoor_ports.includes(s.port);
        const loop = isLoopback(s.address);
        const who = s.owner ? `${s.owner.process} (pid ${s.owner.pid})` : 'an unknown process';
        acc.addEvent({
          type: 'new_listening_port',
          severity: backdoor ? 'high' : loop ? 'low' : 'medium',
          ...(backdoor ? { mitre: 'T1571' } : {}),
          message: `new ${s.proto.toUpperCase()} listener on ${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port} by ${who}${backdoor ? ' — a port known from backdoors' : ''}`,
          evidence: {
            proto: s.proto,
            address: s.address,
            port: s.port,
            process: s.owner?.process ?? 'unknown',
            ...(s.owner ? { pid: s.owner.pid } : {}),
            uid: s.uid,
            exposed: !loop,
          },
        });
      }
      for (const g of grouped) {
        const n = g.items.length;
        acc.addEvent({
          type: 'new_listening_port',
          severity: g.items.some((s) => !isLoopback(s.address)) ? 'medium' : 'low',
          message: `${n} new listeners by ${g.key}`,
          evidence: { process: g.key, listeners: sample(g.items.map((s) => `${s.proto} ${s.address} ${s.port}`)) },
          count: n,
        });
      }
    };

    return {
      async gather(acc) {
        const now = ctx.now();
        const seen = await current();
        if (!known) {
          const saved = await store.load();
          if (!saved) {
            known = {};
            for (const s of seen.values()) known[s.key] = { proto: s.proto, address: s.address, port: s.port, process: s.owner?.process ?? 'unknown', first_seen: now };
            await store.save({ listeners: known });
            return;
          }
          known = saved.listeners;
        }
        let changed = false;
        const fresh: Seen[] = [];
        for (const [key, s] of seen) {
          missing.delete(key);
          if (known[key]) continue;
          const n = (pending.get(key) ?? 0) + 1;
          pending.set(key, n);
          if (n > cfg.grace_intervals) {
            pending.delete(key);
            known[key] = { proto: s.proto, address: s.address, port: s.port, process: s.owner?.process ?? 'unknown', first_seen: now };
            fresh.push(s);
            changed = true;
          }
        }
        for (const key of pending.keys()) if (!seen.has(key)) pending.delete(key);
        for (const [key, k] of Object.entries(known)) {
          if (seen.has(key)) continue;
          const n = (missing.get(key) ?? 0) + 1;
          missing.set(key, n);
          if (n > cfg.grace_intervals) {
            missing.delete(key);
            delete known[key];
            changed = true;
            acc.addEvent({
              type: 'listening_port_closed',
              severity: 'info',
              message: `${k.proto.toUpperCase()} listener on ${k.address}:${k.port} (${k.process}) is gone`,
              evidence: { proto: k.proto, address: k.address, port: k.port, process: k.process },
            });
          }
        }
        report(acc, fresh);
        if (changed) await store.save({ listeners: known });
      },
    };
  },
});

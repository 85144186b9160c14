// listening_ports: reports TCP and UDP listeners (IPv4 and IPv6) that appear or go away
// compared with a persisted baseline. A new listener must persist past a grace period
// before it is reported, so short-lived sockets (DNS lookups, restarts) stay quiet. A
// listener is (protocol, address, port, executable path + inode): another program behind a
// known port is its own event, not a new port.
import { join } from 'node:path';
import { z } from 'zod';
import { defineInput, type Accumulator } from '../../inputs/types.ts';
import { baselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { groupFindings, sample } from '../group-findings.ts';
import { isLoopback, noTcp6, parseProcNet, readTcpListeners, type Listener, type Proto } from './parse.ts';
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
  state_name: z
    .string()
    .regex(/^[a-z0-9_.-]+$/i)
    .default('listening_ports'),
});

const KnownSchema = shape.object({
  proto: shape.string,
  address: shape.string,
  port: shape.number,
  process: shape.string,
  exe: shape.optional(shape.string),
  exe_inode: shape.optional(shape.number),
  first_seen: shape.number,
});
const BaselineSchema = shape.object({ listeners: shape.record(KnownSchema) });
type Known = shape.Infer<typeof KnownSchema>;

interface Seen extends Listener {
  key: string;
  slot: string;
  /** The socket: its slot and inode, stable while it listens. */
  socket: string;
  /** Whether the owner was looked for (only sockets that outlived the grace period are). */
  resolved: boolean;
  owner?: Owner;
}

const slotOf = (l: { proto: string; address: string; port: number }) => `${l.proto} ${l.address} ${l.port}`;
const socketOf = (l: Listener) => `${slotOf(l)} #${l.inode}`;
const bracket = (a: string) => (a.includes(':') ? `[${a}]` : a);
const knownOf = (s: Seen, now: number): Known => ({
  proto: s.proto,
  address: s.address,
  port: s.port,
  process: s.owner?.process ?? 'unknown',
  exe: s.owner?.exe ?? 'unknown',
  exe_inode: s.owner?.inode ?? 0,
  first_seen: now,
});

export default defineInput({
  name: 'listening_ports',
  description: 'New and closed TCP/UDP listening ports (IPv4 and IPv6), with the owning process',
  platforms: ['linux'],
  config,
  // eslint-disable-next-line max-lines-per-function -- longer than 80 lines, still to split (issue 20)
  create(cfg, ctx) {
    const store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log: ctx.log });
    let known: Record<string, Known> | undefined;
    const pending = new Map<string, number>();
    const missing = new Map<string, number>();
    const owners = new Map<number, Owner | null>();
    const ignored = new Set(cfg.ignore_ports);

    /**
     * The listeners now. Owners are looked for only for sockets `resolve` names: walking every
     * process's descriptors is the expensive part, and short-lived listeners never need it.
     */
    const current = async (resolve: (socket: string) => boolean): Promise<Map<string, Seen>> => {
      const all: Listener[] = [];
      for (const proto of cfg.protocols as Proto[]) {
        const path = join(ctx.procRoot, 'net', proto);
        // No TCPv6 socket at all (sockstat6 counts listeners too): tcp6 would be a walk of the connection hash for nothing.
        if (proto === 'tcp6' && noTcp6(await ctx.readFile(join(ctx.procRoot, 'net', 'sockstat6')).catch(() => ''))) continue;
        const text = proto === 'tcp' || proto === 'tcp6' ? readTcpListeners(path) : await ctx.readFile(path).catch(() => '');
        const { listeners, malformed } = parseProcNet(text, proto);
        if (malformed) ctx.log.warn({ proto, malformed }, 'skipped malformed lines in /proc/net');
        all.push(...listeners.filter((l) => !ignored.has(l.port)));
      }
      const unknown = new Set(all.filter((l) => !owners.has(l.inode) && resolve(socketOf(l))).map((l) => l.inode));
      const found = await findOwners(ctx, unknown);
      for (const i of unknown) owners.set(i, found.get(i) ?? null);
      const live = new Set(all.map((l) => l.inode));
      for (const i of owners.keys()) if (!live.has(i)) owners.delete(i);
      const out = new Map<string, Seen>();
      for (const l of all) {
        const slot = slotOf(l);
        const socket = socketOf(l);
        if (!owners.has(l.inode)) {
          out.set(`${socket} (owner not looked for)`, { ...l, key: `${socket} (owner not looked for)`, slot, socket, resolved: false });
          continue;
        }
        const owner = owners.get(l.inode) ?? undefined;
        const key = `${slot} ${owner?.exe ?? 'unknown'} ${owner?.inode ?? 0}`;
        out.set(key, { ...l, key, slot, socket, resolved: true, owner });
      }
      return out;
    };

    const report = (acc: Accumulator, fresh: Seen[]) => {
      const { single, grouped } = groupFindings(fresh, (s) => s.owner?.exe ?? 'unknown', cfg.max_events_per_process);
      for (const s of single) {
        const backdoor = cfg.backdoor_ports.includes(s.port);
        const loop = isLoopback(s.address);
        const who = s.owner ? `${s.owner.exe} (pid ${s.owner.pid})` : 'an unknown process';
        acc.addEvent({
          type: 'new_listening_port',
          severity: backdoor ? 'high' : loop ? 'low' : 'medium',
          ...(backdoor ? { mitre: 'T1571' } : {}),
          message: `new ${s.proto.toUpperCase()} listener on ${bracket(s.address)}:${s.port} by ${who}${backdoor ? ' — a port known from backdoors' : ''}`,
          evidence: {
            proto: s.proto,
            address: s.address,
            port: s.port,
            process: s.owner?.process ?? 'unknown',
            exe: s.owner?.exe ?? 'unknown',
            ...(s.owner ? { pid: s.owner.pid, exe_inode: s.owner.inode } : {}),
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
          evidence: {
            process: g.key.slice(g.key.lastIndexOf('/') + 1) || 'unknown',
            exe: g.key,
            listeners: sample(g.items.map((s) => `${s.proto} ${s.address} ${s.port}`)),
          },
          count: n,
        });
      }
    };

    const programChanged = (acc: Accumulator, was: Known, s: Seen) => {
      const exe = s.owner?.exe ?? 'unknown';
      const inode = s.owner?.inode ?? 0;
      // Same path, another file: a package upgrade (then restart) or a binary replaced in place.
      const samePath = was.exe === exe;
      // A side the agent could not inspect (another user's process without CAP_SYS_PTRACE):
      // a change of what it can see, not proof of another program.
      const blind = exe === 'unknown' || (was.exe ?? 'unknown') === 'unknown';
      acc.addEvent({
        type: 'listening_port_program_changed',
        severity: samePath || blind ? 'medium' : 'high',
        mitre: 'T1036',
        message: samePath
          ? `${s.proto.toUpperCase()} listener on ${bracket(s.address)}:${s.port} is now held by a different file at ${exe} (inode ${was.exe_inode ?? 0} → ${inode}; a package upgrade or a replaced binary)`
          : `${s.proto.toUpperCase()} listener on ${bracket(s.address)}:${s.port} changed program: ${was.exe} → ${exe}${s.owner ? ` (pid ${s.owner.pid})` : ''}`,
        evidence: {
          proto: s.proto,
          address: s.address,
          port: s.port,
          process: s.owner?.process ?? 'unknown',
          exe,
          exe_inode: inode,
          old_exe: was.exe ?? 'unknown',
          old_exe_inode: was.exe_inode ?? 0,
          ...(s.owner ? { pid: s.owner.pid } : {}),
          uid: s.uid,
          exposed: !isLoopback(s.address),
        },
      });
    };

    return {
      async gather(acc) {
        const now = ctx.now();
        // Owners of the baseline's listeners are all looked for; later, only those of sockets
        // about to outlive the grace period (the next count would pass it).
        const seen = await current((socket) => !known || (pending.get(socket) ?? 0) + 1 > cfg.grace_intervals);
        if (!known) {
          const saved = await store.load();
          // A baseline from before listeners were keyed by executable is recorded again, silently.
          if (!saved || Object.values(saved.listeners).some((k) => k.exe === undefined)) {
            known = {};
            for (const s of seen.values()) known[s.key] = knownOf(s, now);
            await store.save({ listeners: known });
            return;
          }
          known = saved.listeners;
        }
        let changed = false;
        const fresh: Seen[] = [];
        const seenSlots = new Set([...seen.values()].map((s) => s.slot));
        for (const [key, s] of seen) {
          missing.delete(key);
          if (known[key]) {
            pending.delete(s.socket);
            continue;
          }
          const n = (pending.get(s.socket) ?? 0) + 1;
          pending.set(s.socket, n);
          if (n <= cfg.grace_intervals || !s.resolved) continue;
          pending.delete(s.socket);
          changed = true;
          // The same port, no longer held by the program known there: the program changed.
          const before = Object.entries(known).find(([k, x]) => slotOf(x) === s.slot && !seen.has(k));
          known[key] = knownOf(s, now);
          if (!before) {
            fresh.push(s);
            continue;
          }
          delete known[before[0]];
          missing.delete(before[0]);
          programChanged(acc, before[1], s);
        }
        const sockets = new Set([...seen.values()].map((s) => s.socket));
        for (const socket of pending.keys()) if (!sockets.has(socket)) pending.delete(socket);
        for (const [key, k] of Object.entries(known)) {
          if (seen.has(key)) continue;
          // Held by another program now, still within its grace period: not closed.
          if (seenSlots.has(slotOf(k))) continue;
          const n = (missing.get(key) ?? 0) + 1;
          missing.set(key, n);
          if (n > cfg.grace_intervals) {
            missing.delete(key);
            delete known[key];
            changed = true;
            acc.addEvent({
              type: 'listening_port_closed',
              severity: 'info',
              message: `${k.proto.toUpperCase()} listener on ${bracket(k.address)}:${k.port} (${k.exe ?? k.process}) is gone`,
              evidence: { proto: k.proto, address: k.address, port: k.port, process: k.process, exe: k.exe ?? 'unknown' },
            });
          }
        }
        report(acc, fresh);
        if (changed) await store.save({ listeners: known });
      },
    };
  },
});

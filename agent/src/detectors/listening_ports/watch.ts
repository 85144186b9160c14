// The running listening_ports detector: the listeners now (owners looked for only when a
// socket outlives the grace period), compared with the baseline, and the events.
import { join } from 'node:path';
import type { z } from 'zod';
import type { Accumulator, InputContext } from '../../inputs/types.ts';
import { baselineStore, type BaselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { groupFindings, sample } from '../group-findings.ts';
import { isLoopback, KeptProcFile, parseProcNet, readTcpListeners, socketsInUse, type Listener, type Proto } from './parse.ts';
import { findOwners, stillHolds, type Owner } from './owners.ts';
import type { config } from './index.ts';

type Config = z.infer<typeof config>;

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
type Baseline = shape.Infer<typeof BaselineSchema>;

interface Seen extends Listener {
  key: string;
  slot: string;
  /** The socket: its slot and inode, stable while it listens. */
  socket: string;
  /** Whether the owner was looked for (only sockets that outlived the grace period are). */
  resolved: boolean;
  owner?: Owner;
}

// When nothing says the tables changed, they are read all the same every READ_EVERY gathers (a minute at the default interval).
const READ_EVERY = 6;

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

function reportNew(acc: Accumulator, fresh: Seen[], cfg: Config): void {
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
}

function reportProgramChanged(acc: Accumulator, was: Known, s: Seen): void {
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
}

export class PortWatch {
  private readonly cfg: Config;
  private readonly ctx: InputContext;
  private readonly store: BaselineStore<Baseline>;
  private known: Record<string, Known> | undefined;
  private readonly pending = new Map<string, number>();
  private readonly missing = new Map<string, number>();
  private readonly owners = new Map<number, Owner | null>();
  private readonly ignored: Set<number>;
  /** The tables as last read, sockstat's counts then, and gathers since. */
  private lastText: string | undefined;
  private readCounts = '';
  private sinceRead = 0;
  /** Known sockets whose owner did not hold them where it was found: looked for again at the next read. */
  private readonly stale = new Set<number>();
  private readonly sockstat: KeptProcFile;
  private readonly sockstat6: KeptProcFile;
  private readonly paths: Record<'tcp' | 'tcp6', string>;
  private readonly udp: Record<'udp' | 'udp6', KeptProcFile>;

  constructor(cfg: Config, ctx: InputContext) {
    this.cfg = cfg;
    this.ctx = ctx;
    this.store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log: ctx.log });
    this.ignored = new Set(cfg.ignore_ports);
    const net = join(ctx.procRoot, 'net');
    this.sockstat = new KeptProcFile(join(net, 'sockstat'));
    this.sockstat6 = new KeptProcFile(join(net, 'sockstat6'));
    this.paths = { tcp: join(net, 'tcp'), tcp6: join(net, 'tcp6') };
    // The UDP hash is walked whole at every read: kept open, read in one read when it fits.
    this.udp = { udp: new KeptProcFile(join(net, 'udp')), udp6: new KeptProcFile(join(net, 'udp6')) };
  }

  /** Closes the kept descriptors. */
  stop(): void {
    for (const f of [this.sockstat, this.sockstat6, this.udp.udp, this.udp.udp6]) f.close();
  }

  /** Sockets in use by protocol (/proc/net/sockstat and sockstat6: small files of counters, no table walked; kept open). */
  private inUse(): Partial<Record<Proto, number>> {
    return socketsInUse(this.sockstat.read() + this.sockstat6.read());
  }

  /**
   * Whether the tables must be read again. Reading them is this detector's cost: the kernel
   * walks its whole connection hash table for /proc/net/tcp and tcp6 (~0.5 ms of CPU per file
   * on a host with much memory, however few connections there are). They are read when
   * something may have changed: a count of sockets in use moved (a listener opened or closed
   * moves it), a known listener's owner no longer holds that socket where it was found (a
   * port taken over by another program, whatever the counts say), a listener is within its
   * grace period, or READ_EVERY gathers have passed (the net for a new listener whose count
   * was made up by another socket closing in the same interval).
   */
  private mustRead(counts: string): boolean {
    if (!this.known || counts === '' || counts !== this.readCounts || this.pending.size > 0 || this.missing.size > 0) return true;
    if (++this.sinceRead >= READ_EVERY) return true;
    for (const [inode, owner] of this.owners) {
      if (owner?.fd === undefined || stillHolds(this.ctx.procRoot, owner, inode)) continue;
      this.stale.add(inode);
    }
    return this.stale.size > 0;
  }

  /**
   * The listening part of each table, as the kernel wrote it. A table of a protocol without
   * a socket in use (sockstat counts listeners and bound UDP sockets too) is not read: its
   * read would be a walk of the kernel's hash tables for nothing.
   */
  private tables(inUse: Partial<Record<Proto, number>>): { proto: Proto; text: string }[] {
    const out: { proto: Proto; text: string }[] = [];
    for (const proto of this.cfg.protocols as Proto[]) {
      if (inUse[proto] === 0) continue;
      out.push({ proto, text: proto === 'tcp' || proto === 'tcp6' ? readTcpListeners(this.paths[proto]) : this.udp[proto].read() });
    }
    return out;
  }

  /** Every listener in the tables, ignored ports left out. */
  private listeners(tables: { proto: Proto; text: string }[]): Listener[] {
    const all: Listener[] = [];
    for (const { proto, text } of tables) {
      const { listeners, malformed } = parseProcNet(text, proto);
      if (malformed) this.ctx.log.warn({ proto, malformed }, 'skipped malformed lines in /proc/net');
      for (const l of listeners) if (!this.ignored.has(l.port)) all.push(l);
    }
    return all;
  }

  /**
   * The listeners now. Owners are looked for only for sockets `resolve` names: walking every
   * process's descriptors is the expensive part, and short-lived listeners never need it.
   */
  private async current(all: Listener[], resolve: (socket: string) => boolean): Promise<Map<string, Seen>> {
    const unknown = new Set(all.filter((l) => (!this.owners.has(l.inode) && resolve(socketOf(l))) || this.stale.has(l.inode)).map((l) => l.inode));
    const found = await findOwners(this.ctx, unknown);
    for (const i of unknown) {
      const was = this.owners.get(i);
      const now = found.get(i) ?? null;
      // A socket whose owner no longer held it where it was found (a forked child holds it
      // now, say): the same program is found where it is now; any other answer keeps the
      // owner as it was (a socket's owner is looked for once, as before), not checked again.
      if (this.stale.has(i) && was) this.owners.set(i, now && now.exe === was.exe && now.inode === was.inode ? now : { ...was, fd: undefined });
      else this.owners.set(i, now);
    }
    this.stale.clear();
    const live = new Set(all.map((l) => l.inode));
    for (const i of this.owners.keys()) if (!live.has(i)) this.owners.delete(i);
    const out = new Map<string, Seen>();
    for (const l of all) {
      const slot = slotOf(l);
      const socket = socketOf(l);
      if (!this.owners.has(l.inode)) {
        out.set(`${socket} (owner not looked for)`, { ...l, key: `${socket} (owner not looked for)`, slot, socket, resolved: false });
        continue;
      }
      const owner = this.owners.get(l.inode) ?? undefined;
      const key = `${slot} ${owner?.exe ?? 'unknown'} ${owner?.inode ?? 0}`;
      out.set(key, { ...l, key, slot, socket, resolved: true, owner });
    }
    return out;
  }

  /** Listeners not in the baseline: new ones past the grace period, and other programs on known ports. */
  private compareSeen(acc: Accumulator, known: Record<string, Known>, seen: Map<string, Seen>, now: number): { fresh: Seen[]; changed: boolean } {
    let changed = false;
    const fresh: Seen[] = [];
    for (const [key, s] of seen) {
      this.missing.delete(key);
      if (known[key]) {
        this.pending.delete(s.socket);
        continue;
      }
      const n = (this.pending.get(s.socket) ?? 0) + 1;
      this.pending.set(s.socket, n);
      if (n <= this.cfg.grace_intervals || !s.resolved) continue;
      this.pending.delete(s.socket);
      changed = true;
      // The same port, no longer held by the program known there: the program changed.
      const before = Object.entries(known).find(([k, x]) => slotOf(x) === s.slot && !seen.has(k));
      known[key] = knownOf(s, now);
      if (!before) {
        fresh.push(s);
        continue;
      }
      delete known[before[0]];
      this.missing.delete(before[0]);
      reportProgramChanged(acc, before[1], s);
    }
    const sockets = new Set([...seen.values()].map((s) => s.socket));
    for (const socket of this.pending.keys()) if (!sockets.has(socket)) this.pending.delete(socket);
    return { fresh, changed };
  }

  /** Known listeners gone past the grace period; true when the baseline changed. */
  private closeMissing(acc: Accumulator, known: Record<string, Known>, seen: Map<string, Seen>): boolean {
    let changed = false;
    const seenSlots = new Set([...seen.values()].map((s) => s.slot));
    for (const [key, k] of Object.entries(known)) {
      if (seen.has(key)) continue;
      // Held by another program now, still within its grace period: not closed.
      if (seenSlots.has(slotOf(k))) continue;
      const n = (this.missing.get(key) ?? 0) + 1;
      this.missing.set(key, n);
      if (n <= this.cfg.grace_intervals) continue;
      this.missing.delete(key);
      delete known[key];
      changed = true;
      acc.addEvent({
        type: 'listening_port_closed',
        severity: 'info',
        message: `${k.proto.toUpperCase()} listener on ${bracket(k.address)}:${k.port} (${k.exe ?? k.process}) is gone`,
        evidence: { proto: k.proto, address: k.address, port: k.port, process: k.process, exe: k.exe ?? 'unknown' },
      });
    }
    return changed;
  }

  async gather(acc: Accumulator): Promise<void> {
    const now = this.ctx.now();
    const inUse = this.inUse();
    const counts = (['tcp', 'tcp6', 'udp', 'udp6'] as const).every((p) => inUse[p] !== undefined)
      ? `${inUse.tcp} ${inUse.tcp6} ${inUse.udp} ${inUse.udp6}`
      : '';
    // Nothing may have changed since the tables were last read, which left nothing pending.
    if (!this.mustRead(counts)) return;
    this.readCounts = counts;
    this.sinceRead = 0;
    const tables = this.tables(inUse);
    // The same tables as at the last read: the same listeners, all known. Nothing to parse or compare.
    const text = tables.map((t) => `${t.proto}\n${t.text}`).join('\n');
    if (this.known && text === this.lastText && this.pending.size === 0 && this.missing.size === 0 && this.stale.size === 0) return;
    this.lastText = text;
    // Owners of the baseline's listeners are all looked for; later, only those of sockets
    // about to outlive the grace period (the next count would pass it).
    const seen = await this.current(this.listeners(tables), (socket) => !this.known || (this.pending.get(socket) ?? 0) + 1 > this.cfg.grace_intervals);
    if (!this.known) {
      const saved = await this.store.load();
      // A baseline from before listeners were keyed by executable is recorded again, silently.
      if (!saved || Object.values(saved.listeners).some((k) => k.exe === undefined)) {
        this.known = {};
        for (const s of seen.values()) this.known[s.key] = knownOf(s, now);
        await this.store.save({ listeners: this.known });
        return;
      }
      this.known = saved.listeners;
    }
    const { fresh, changed } = this.compareSeen(acc, this.known, seen, now);
    const closed = this.closeMissing(acc, this.known, seen);
    reportNew(acc, fresh, this.cfg);
    if (changed || closed) await this.store.save({ listeners: this.known });
  }
}

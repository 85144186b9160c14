// The agent's durable spool: every batch is appended to a segment file in the state
// folder before it is sent, and forgotten only once the collector has acked it.
//
// On disk: <dir>/seg-<first seq>.log files of records, <dir>/acks.log (one 8-byte seq
// per ack) and <dir>/meta.json (next seq, drop counters). A record is
//   u32 payload length | u32 crc32 | u64 seq | u32 points | u32 events | payload (the frame)
// little-endian, crc over everything after the crc field. A torn or corrupt tail (power
// loss, kill -9 mid-write) is cut off at start-up and reported, never fatal.
//
// fsync policy: "always" syncs every append before it is sent (no acknowledged loss on
// power failure, slowest); "interval" syncs what is still unacked after
// spool_fsync_interval (a crash of the OS may lose that much; a crash of the agent alone
// loses nothing, the data is in the page cache); "never" leaves it to the OS. Acks are
// synced lazily: a lost ack only means a batch is sent again, which InfluxDB stores once.
// Under "interval", a batch the collector acked before the sync came due is not synced at
// all (the collector holds it). While the collector acks within the interval (the usual
// case) no timer is armed either: a timer cleared by the ack still woke the agent at its
// deadline, as Node does not move libuv's timer later (one wake-up every cycle). The
// ack, the next append and close() sync whatever has waited longer than the interval,
// and the first of them that finds a batch overdue (the collector stopped acking) arms
// the timer again until acks are prompt once more. So a batch appended just as the
// collector stops answering may wait for the next append (one agent interval) instead of
// spool_fsync_interval before it is synced.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import type { Spool, SpoolRecord, SpoolStats } from './types.ts';

const HEADER = 24;
const MAX_RECORD = 64 * 1024 * 1024;

export interface DiskSpoolOptions {
  dir: string;
  maxBytes: number;
  /** A new segment starts past this size; whole segments are the unit of deletion. */
  segmentBytes?: number;
  fsync: 'always' | 'interval' | 'never';
  fsyncIntervalMs?: number;
  log?: Logger;
  /** Monotonic clock, ms (tests). */
  now?: () => number;
}

interface Entry {
  seq: number;
  seg: Segment;
  offset: number;
  length: number;
  points: number;
  events: number;
  /** When it was appended (spool_fsync: interval), to judge whether its ack came promptly. */
  at?: number;
}

interface Segment {
  firstSeq: number;
  path: string;
  fd: number;
  size: number;
  /** Unacked records in this segment. */
  live: number;
}

interface Meta {
  nextSeq: number;
  droppedPoints: number;
  droppedEvents: number;
  droppedUnackedPoints: number;
}

export interface RecoveryReport {
  segments: number;
  records: number;
  unacked: number;
  /** Bytes cut from torn or corrupt tails. */
  truncatedBytes: number;
}

export class DiskSpool implements Spool {
  private readonly opts: Required<Omit<DiskSpoolOptions, 'log' | 'now'>> & { log?: Logger };
  private readonly now: () => number;
  private segments: Segment[] = [];
  private entries = new Map<number, Entry>();
  private meta: Meta = { nextSeq: 1, droppedPoints: 0, droppedEvents: 0, droppedUnackedPoints: 0 };
  /** Seqs sent on the current connection(s) and not yet acked (memory only). */
  private readonly sent = new Set<number>();
  private bytes = 0;
  private ackFd = -1;
  /** Batches appended since the last sync (interval policy), with when: synced only if still unacked when due. */
  private unsynced: { seq: number; at: number }[] = [];
  /** The last ack came within the sync interval of its append: no timer while that holds. */
  private promptAcks = false;
  /** How late the transport may read an ack that came (acksReadWithin). */
  private ackReadDelayMs = 0;
  private acksLogged = 0;
  private liveBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The payload appended last: the transport sends it next, without reading it back from the page cache. */
  private lastPayload: { seq: number; payload: Buffer } | undefined;
  readonly recovery: RecoveryReport = { segments: 0, records: 0, unacked: 0, truncatedBytes: 0 };

  constructor(opts: DiskSpoolOptions) {
    // Segments are the unit of dropping, so a small bound needs small segments.
    const segmentBytes = Math.max(16 * 1024, Math.min(4 * 1024 * 1024, Math.floor(opts.maxBytes / 8)));
    const { now, ...rest } = opts;
    this.opts = { ...rest, segmentBytes: opts.segmentBytes ?? segmentBytes, fsyncIntervalMs: opts.fsyncIntervalMs ?? 1000 };
    this.now = now ?? (() => performance.now());
    mkdirSync(opts.dir, { recursive: true, mode: 0o750 });
    this.recover();
    if (this.ackFd < 0) this.ackFd = openSync(join(opts.dir, 'acks.log'), 'a');
  }

  private recover(): void {
    const dir = this.opts.dir;
    try {
      this.meta = { ...this.meta, ...(JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Partial<Meta>) };
    } catch {
      // No or unreadable meta: counters start at zero, seqs continue from the segments.
    }
    const acked = new Set<number>();
    if (existsSync(join(dir, 'acks.log'))) {
      const buf = readFileSync(join(dir, 'acks.log'));
      for (let o = 0; o + 8 <= buf.length; o += 8) acked.add(Number(buf.readBigUInt64LE(o)));
    }
    const files = readdirSync(dir)
      .filter((f) => /^seg-\d+\.log$/.test(f))
      .sort((a, b) => Number(a.slice(4, -4)) - Number(b.slice(4, -4)));
    let maxSeq = this.meta.nextSeq - 1;
    for (const f of files) {
      const path = join(dir, f);
      const fd = openSync(path, 'r+');
      const seg: Segment = { firstSeq: Number(f.slice(4, -4)), path, fd, size: 0, live: 0 };
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(HEADER);
      let off = 0;
      while (off < size) {
        if (off + HEADER > size || readSync(fd, head, 0, HEADER, off) !== HEADER) break;
        const len = head.readUInt32LE(0);
        if (len > MAX_RECORD || off + HEADER + len > size) break;
        const payload = Buffer.alloc(len);
        readSync(fd, payload, 0, len, off + HEADER);
        if (crc32(payload, crc32(head.subarray(8))) !== head.readUInt32LE(4)) break;
        const seq = Number(head.readBigUInt64LE(8));
        this.recovery.records++;
        maxSeq = Math.max(maxSeq, seq);
        if (!acked.has(seq)) {
          this.entries.set(seq, { seq, seg, offset: off, length: len, points: head.readUInt32LE(16), events: head.readUInt32LE(20) });
          this.liveBytes += HEADER + len;
          seg.live++;
        }
        off += HEADER + len;
      }
      if (off < size) {
        this.recovery.truncatedBytes += size - off;
        this.opts.log?.warn({ segment: f, offset: off, cut: size - off }, 'spool: torn or corrupt tail cut off');
        ftruncateSync(fd, off);
      }
      seg.size = off;
      this.bytes += off;
      this.segments.push(seg);
    }
    this.recovery.segments = this.segments.length;
    this.recovery.unacked = this.entries.size;
    this.meta.nextSeq = maxSeq + 1;
    // Entries must iterate in seq order; segments were read in order, so they are.
    this.compact();
  }

  append(make: (seq: number) => { frame: string; points: number; events: number }): number {
    const seq = this.meta.nextSeq++;
    const r = make(seq);
    const payload = Buffer.from(r.frame);
    const head = Buffer.alloc(HEADER);
    head.writeUInt32LE(payload.length, 0);
    head.writeBigUInt64LE(BigInt(seq), 8);
    head.writeUInt32LE(r.points, 16);
    head.writeUInt32LE(r.events, 20);
    head.writeUInt32LE(crc32(payload, crc32(head.subarray(8))), 4);
    let seg = this.segments.at(-1);
    if (!seg || seg.size >= this.opts.segmentBytes) seg = this.newSegment(seq);
    const offset = seg.size;
    writeSync(seg.fd, Buffer.concat([head, payload]), 0, HEADER + payload.length, offset);
    this.lastPayload = { seq, payload };
    seg.size += HEADER + payload.length;
    seg.live++;
    this.bytes += HEADER + payload.length;
    const entry: Entry = { seq, seg, offset, length: payload.length, points: r.points, events: r.events };
    this.entries.set(seq, entry);
    this.liveBytes += HEADER + payload.length;
    if (this.opts.fsync === 'always') fsyncSync(seg.fd);
    else if (this.opts.fsync === 'interval') {
      const now = this.now();
      entry.at = now;
      // Something appended earlier still unacked past the interval: the collector is not
      // acking promptly any more, so sync now and go back to the timer.
      if (this.syncOverdue(now)) this.promptAcks = false;
      this.unsynced.push({ seq, at: now });
      if (!this.promptAcks) this.armSync();
    }
    this.enforceBound();
    return seq;
  }

  private armSync(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sync();
    }, this.opts.fsyncIntervalMs);
    this.timer.unref();
  }

  /** Sync if a batch still unacked has waited the whole interval; true if one had. */
  private syncOverdue(now: number): boolean {
    const first = this.unsynced.find((u) => this.entries.has(u.seq));
    if (!first || now - first.at < this.opts.fsyncIntervalMs) return false;
    this.sync();
    return true;
  }

  private newSegment(firstSeq: number): Segment {
    const path = join(this.opts.dir, `seg-${String(firstSeq).padStart(12, '0')}.log`);
    const fd = openSync(path, 'w+');
    const seg: Segment = { firstSeq, path, fd, size: 0, live: 0 };
    this.segments.push(seg);
    return seg;
  }

  /** Oldest data goes first: whole segments, with their unacked points counted as dropped. */
  private enforceBound(): void {
    while (this.bytes > this.opts.maxBytes && this.segments.length > 1) {
      const seg = this.segments[0]!;
      let points = 0;
      let unacked = 0;
      let events = 0;
      for (const e of this.entries.values()) {
        if (e.seg !== seg) break;
        if (this.sent.delete(e.seq)) unacked += e.points;
        else points += e.points;
        events += e.events;
        this.entries.delete(e.seq);
        this.liveBytes -= e.length + HEADER;
      }
      this.meta.droppedPoints += points;
      this.meta.droppedUnackedPoints += unacked;
      this.meta.droppedEvents += events;
      this.opts.log?.warn({ droppedPoints: points, droppedUnackedPoints: unacked, droppedEvents: events, totalDropped: this.meta.droppedPoints }, 'spool full: oldest data dropped');
      this.removeSegment(seg);
      this.saveMeta();
    }
  }

  private removeSegment(seg: Segment): void {
    closeSync(seg.fd);
    try {
      unlinkSync(seg.path);
    } catch {
      // already gone
    }
    this.bytes -= seg.size;
    this.segments = this.segments.filter((s) => s !== seg);
  }

  private saveMeta(): void {
    const tmp = join(this.opts.dir, 'meta.json.tmp');
    writeFileSync(tmp, JSON.stringify(this.meta));
    renameSync(tmp, join(this.opts.dir, 'meta.json'));
  }

  after(seq: number, limit: number): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    for (const e of this.entries.values()) {
      if (e.seq <= seq) continue;
      let buf = this.lastPayload?.seq === e.seq ? this.lastPayload.payload : undefined;
      if (!buf) {
        buf = Buffer.alloc(e.length);
        readSync(e.seg.fd, buf, 0, e.length, e.offset + HEADER);
      }
      out.push({ seq: e.seq, frame: buf, points: e.points, events: e.events });
      if (out.length >= limit) break;
    }
    return out;
  }

  first(): number | undefined {
    for (const s of this.entries.keys()) return s;
    return undefined;
  }

  ack(seq: number): boolean {
    const e = this.entries.get(seq);
    if (!e) return false;
    this.entries.delete(seq);
    if (this.lastPayload?.seq === seq) this.lastPayload = undefined;
    this.sent.delete(seq);
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(seq));
    writeSync(this.ackFd, b);
    this.acksLogged++;
    this.liveBytes -= e.length + HEADER;
    if (this.opts.fsync === 'interval') {
      const now = this.now();
      // Judged by the batch's append, whether or not its sync has come since (with acks
      // read at ticks, the first batch's timer fires before its ack is read).
      if (e.at !== undefined) this.promptAcks = now - e.at < this.opts.fsyncIntervalMs + this.ackReadDelayMs;
      // Everything waiting for the sync is acked: the sync would do nothing, so its timer
      // goes too. Otherwise what has waited the whole interval is synced now.
      if (this.unsynced.every((u) => !this.entries.has(u.seq))) {
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        this.unsynced = [];
      } else if (this.syncOverdue(now)) this.promptAcks = false;
      else if (!this.promptAcks) this.armSync();
    }
    e.seg.live--;
    // A fully acked segment that is not the one being written is deleted at once; the
    // ack log is rewritten now and then so it does not grow forever.
    if (e.seg.live === 0 && e.seg !== this.segments.at(-1)) {
      this.removeSegment(e.seg);
      if (this.acksLogged > 4096) this.compact();
    }
    return true;
  }

  /** Rewrite acks.log to hold only acks of records still on disk. */
  private compact(): void {
    const keep: number[] = [];
    // Acks of records still on disk must survive the rewrite; acks older than the first
    // segment refer to deleted records and can go.
    const live = new Set(this.entries.keys());
    const acksPath = join(this.opts.dir, 'acks.log');
    if (existsSync(acksPath)) {
      const buf = readFileSync(acksPath);
      const minSeq = this.segments[0]?.firstSeq ?? Number.MAX_SAFE_INTEGER;
      for (let o = 0; o + 8 <= buf.length; o += 8) {
        const s = Number(buf.readBigUInt64LE(o));
        if (s >= minSeq && !live.has(s)) keep.push(s);
      }
    }
    const out = Buffer.alloc(keep.length * 8);
    keep.forEach((s, i) => out.writeBigUInt64LE(BigInt(s), i * 8));
    if (this.ackFd >= 0) closeSync(this.ackFd);
    writeFileSync(`${acksPath}.tmp`, out);
    this.acksLogged = keep.length;
    renameSync(`${acksPath}.tmp`, acksPath);
    this.ackFd = this.closed ? -1 : openSync(acksPath, 'a');
    this.saveMeta();
  }

  /** fsync the segments that hold batches appended since the last sync and not yet acked. */
  private sync(): void {
    const segs = new Set<Segment>();
    for (const u of this.unsynced) {
      const e = this.entries.get(u.seq);
      if (e) segs.add(e.seg);
    }
    this.unsynced = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const seg of segs) fsyncSync(seg.fd);
  }

  acksReadWithin(ms: number): void {
    this.ackReadDelayMs = Math.max(0, ms);
  }

  acksStopped(): void {
    if (this.opts.fsync !== 'interval') return;
    this.promptAcks = false;
    if (this.unsynced.some((u) => this.entries.has(u.seq))) this.armSync();
  }

  markSent(seq: number): void {
    if (this.entries.has(seq)) this.sent.add(seq);
  }

  stats(): SpoolStats {
    return {
      batches: this.entries.size,
      bytes: this.liveBytes,
      droppedPoints: this.meta.droppedPoints,
      droppedEvents: this.meta.droppedEvents,
      droppedUnackedPoints: this.meta.droppedUnackedPoints,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.opts.fsync !== 'never') {
      this.sync();
      if (this.ackFd >= 0) fsyncSync(this.ackFd);
    }
    this.saveMeta();
    for (const s of this.segments) closeSync(s.fd);
    if (this.ackFd >= 0) closeSync(this.ackFd);
    this.ackFd = -1;
  }
}

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
//
// Writes are checked (issue 19): a short write is retried, and a write or sync that fails
// (a full disk, EIO) truncates the file back to its last whole record before anything
// else is appended, so nothing is appended after a hole and nothing torn is handed on as
// kept. A full disk is a state, not a crash: appends are refused (and counted as dropped,
// reason disk_full) while the file system is full or below the free-space floor
// (spool_min_free), logged once a minute, and resume by themselves when space returns.
// A spool opened on a full disk still opens (its ack log and meta file cannot be
// rewritten then): it is drained, and acks it cannot log stay in memory until they can.
// All file calls go through SpoolFs, so tests inject short writes and errors at each one.
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statfsSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import type { Spool, SpoolEntry, SpoolRecord, SpoolStats } from './types.ts';

/** The file calls the spool makes (node:fs by default; tests inject faults). */
export interface SpoolFs {
  mkdirSync(path: string, opts: { recursive: true; mode: number }): void;
  openSync(path: string, flags: string | number): number;
  closeSync(fd: number): void;
  /** Like node:fs: may write less than asked (returns how much); null position appends. */
  writeSync(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number;
  readSync(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
  fstatSync(fd: number): { size: number };
  readFileSync(path: string): Buffer;
  existsSync(path: string): boolean;
  readdirSync(path: string): string[];
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  /** Free space for unprivileged writers (bavail) and the size of the file system, in blocks of bsize. */
  statfsSync(path: string): { bsize: number; blocks: number; bavail: number };
}

export const nodeSpoolFs: SpoolFs = {
  mkdirSync: (p, o) => void mkdirSync(p, o),
  openSync: (p, f) => openSync(p, f),
  closeSync: (fd) => closeSync(fd),
  writeSync: (fd, b, o, l, p) => writeSync(fd, b, o, l, p),
  readSync: (fd, b, o, l, p) => readSync(fd, b, o, l, p),
  fsyncSync: (fd) => fsyncSync(fd),
  ftruncateSync: (fd, l) => ftruncateSync(fd, l),
  fstatSync: (fd) => fstatSync(fd),
  readFileSync: (p) => readFileSync(p),
  existsSync: (p) => existsSync(p),
  readdirSync: (p) => readdirSync(p),
  renameSync: (a, b) => renameSync(a, b),
  unlinkSync: (p) => unlinkSync(p),
  statfsSync: (p) => statfsSync(p),
};

/**
 * The free-space floor: 'auto' is 5 % of the file system or 256 MiB, whichever is
 * smaller; a number is bytes; "N%" a share of the file system; 0 means none (only a
 * full disk stops appends).
 */
export type MinFree = 'auto' | number | `${number}%`;

export function minFreeBytes(setting: MinFree, fsBytes: number): number {
  if (setting === 'auto') return Math.min(Math.floor(fsBytes * 0.05), 256 * 1024 * 1024);
  if (typeof setting === 'number') return setting;
  return Math.floor((fsBytes * Number(setting.slice(0, -1))) / 100);
}

/** Error codes that mean "the disk will not take it" (vs. a plain I/O error, counted the same). */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
/** A refused spool retries the disk at most this often (ms, on its monotonic clock). */
const RETRY_MS = 1000;
/** Disk-full and I/O warnings: at most one line per this many ms, with counts of what happened since. */
const LOG_EVERY_MS = 60_000;

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
}

const HEADER = 24;
/** meta.json is padded to this size (see saveMeta). */
const META_BYTES = 512;
const MAX_RECORD = 64 * 1024 * 1024;

export interface DiskSpoolOptions {
  dir: string;
  maxBytes: number;
  /** A new segment starts past this size; whole segments are the unit of deletion. */
  segmentBytes?: number;
  fsync: 'always' | 'interval' | 'never';
  fsyncIntervalMs?: number;
  /** Free space to leave on the file system (default 'auto': 5 % or 256 MiB, whichever is smaller). */
  minFree?: MinFree;
  log?: Logger;
  /** Monotonic clock, ms (tests). */
  now?: () => number;
  /** File calls (tests inject faults); node:fs by default. */
  fs?: SpoolFs;
  /**
   * What the disk refuses is dropped and counted (the agent: default). false: the caller
   * keeps it instead (the collector does not ack), so nothing is counted or saved per refusal.
   */
  countRefused?: boolean;
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
  /** Bytes of whole records: the next record goes here (anything past it is a torn write, overwritten or cut at start). */
  size: number;
  /** Unacked records in this segment. */
  live: number;
}

interface Meta {
  nextSeq: number;
  droppedPoints: number;
  droppedEvents: number;
  droppedUnackedPoints: number;
  droppedDiskFullPoints: number;
  droppedDiskFullEvents: number;
}

export interface RecoveryReport {
  segments: number;
  records: number;
  unacked: number;
  /** Bytes cut from torn or corrupt tails. */
  truncatedBytes: number;
}

/** What the disk refused since the last log line (logged at most once a minute). */
interface Refusals {
  batches: number;
  points: number;
  events: number;
  /** I/O errors met (writes, syncs, rewrites of the ack log and meta file). */
  errors: number;
  /** Writes the kernel took only in part (each retried; those that then failed were cut back). */
  shortWrites: number;
  lastError: string | undefined;
}

export class DiskSpool implements Spool {
  private readonly opts: Required<Omit<DiskSpoolOptions, 'log' | 'now' | 'fs' | 'countRefused'>> & { log?: Logger };
  private readonly countRefused: boolean;
  private readonly now: () => number;
  private readonly fs: SpoolFs;
  private segments: Segment[] = [];
  private entries = new Map<number, Entry>();
  private meta: Meta = { nextSeq: 1, droppedPoints: 0, droppedEvents: 0, droppedUnackedPoints: 0, droppedDiskFullPoints: 0, droppedDiskFullEvents: 0 };
  /** Seqs sent on the current connection(s) and not yet acked (memory only). */
  private readonly sent = new Set<number>();
  private bytes = 0;
  private ackFd = -1;
  /** Bytes of whole acks in acks.log: the next ack is written here. */
  private ackSize = 0;
  /** Acks not yet in acks.log (its write failed): written with the next one, or by the next rewrite. */
  private unloggedAcks: number[] = [];
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
  /** Appends are refused: since when, when the disk was last tried, and why. */
  private full: { since: number; triedAt: number; reason: string } | undefined;
  private refusals: Refusals = { batches: 0, points: 0, events: 0, errors: 0, shortWrites: 0, lastError: undefined };
  private loggedAt = -Infinity;
  private ioLoggedAt = -Infinity;
  /** Free space at the last statfs, the floor then, and bytes written since. */
  private space = { at: -Infinity, free: Infinity, floor: 0, written: 0 };
  /** meta.json could not be written: try again at the next occasion. */
  private metaDirty = false;
  readonly recovery: RecoveryReport = { segments: 0, records: 0, unacked: 0, truncatedBytes: 0 };

  constructor(opts: DiskSpoolOptions) {
    // Segments are the unit of dropping, so a small bound needs small segments.
    const segmentBytes = Math.max(16 * 1024, Math.min(4 * 1024 * 1024, Math.floor(opts.maxBytes / 8)));
    const { now, fs, countRefused, ...rest } = opts;
    this.countRefused = countRefused ?? true;
    this.opts = { ...rest, segmentBytes: opts.segmentBytes ?? segmentBytes, fsyncIntervalMs: opts.fsyncIntervalMs ?? 1000, minFree: opts.minFree ?? 'auto' };
    this.now = now ?? (() => performance.now());
    this.fs = fs ?? nodeSpoolFs;
    this.fs.mkdirSync(opts.dir, { recursive: true, mode: 0o750 });
    if (opts.segmentBytes === undefined) {
      // On a small file system, segments small enough that acked ones give space back.
      try {
        const st = this.fs.statfsSync(opts.dir);
        this.opts.segmentBytes = Math.max(16 * 1024, Math.min(this.opts.segmentBytes, Math.floor((Number(st.blocks) * Number(st.bsize)) / 16)));
      } catch {
        // no statfs: the size from the bound
      }
    }
    this.recover();
    if (this.ackFd < 0) this.openAckLog();
  }

  private get acksPath(): string {
    return join(this.opts.dir, 'acks.log');
  }

  /** Open acks.log for positional writes at ackSize (a torn ack past it is overwritten by the next). */
  private openAckLog(): void {
    try {
      this.ackFd = this.fs.openSync(this.acksPath, constants.O_RDWR | constants.O_CREAT);
      this.ackSize = Math.floor(this.fs.fstatSync(this.ackFd).size / 8) * 8;
    } catch (err) {
      // Read-only or full: acks are kept in memory (a restart sends those batches again).
      this.ackFd = -1;
      this.ioError('ack log open', err);
    }
  }

  private recover(): void {
    const dir = this.opts.dir;
    try {
      this.meta = { ...this.meta, ...(JSON.parse(this.fs.readFileSync(join(dir, 'meta.json')).toString('utf8')) as Partial<Meta>) };
    } catch {
      // No or unreadable meta: counters start at zero, seqs continue from the segments.
    }
    const acked = new Set<number>();
    if (this.fs.existsSync(this.acksPath)) {
      const buf = this.fs.readFileSync(this.acksPath);
      for (let o = 0; o + 8 <= buf.length; o += 8) acked.add(Number(buf.readBigUInt64LE(o)));
    }
    const files = this.fs
      .readdirSync(dir)
      .filter((f) => /^seg-\d+\.log$/.test(f))
      .sort((a, b) => Number(a.slice(4, -4)) - Number(b.slice(4, -4)));
    let maxSeq = this.meta.nextSeq - 1;
    for (const f of files) {
      const path = join(dir, f);
      const fd = this.fs.openSync(path, 'r+');
      const seg: Segment = { firstSeq: Number(f.slice(4, -4)), path, fd, size: 0, live: 0 };
      const size = this.fs.fstatSync(fd).size;
      const head = Buffer.alloc(HEADER);
      let off = 0;
      while (off < size) {
        if (off + HEADER > size || this.fs.readSync(fd, head, 0, HEADER, off) !== HEADER) break;
        const len = head.readUInt32LE(0);
        if (len > MAX_RECORD || off + HEADER + len > size) break;
        const payload = Buffer.alloc(len);
        if (this.fs.readSync(fd, payload, 0, len, off + HEADER) !== len) break;
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
        try {
          this.fs.ftruncateSync(fd, off);
        } catch (err) {
          // The next record is written at `off` all the same; what is left past it is cut next time.
          this.ioError('truncate at start', err);
        }
      }
      seg.size = off;
      this.bytes += off;
      this.segments.push(seg);
    }
    this.recovery.segments = this.segments.length;
    this.recovery.unacked = this.entries.size;
    this.meta.nextSeq = maxSeq + 1;
    // Entries must iterate in seq order; segments were read in order, so they are.
    // On a full disk the rewrite fails and the old ack log stays: the spool still opens.
    this.compact();
  }

  append(make: (seq: number) => { frame: string; points: number; events: number }): number | undefined {
    const now = this.now();
    const seq = this.meta.nextSeq;
    const r = make(seq);
    const payload = Buffer.from(r.frame);
    const size = HEADER + payload.length;
    if (!this.mayWrite(now, size)) {
      this.refuse(r, now, undefined);
      return undefined;
    }
    const head = Buffer.alloc(HEADER);
    head.writeUInt32LE(payload.length, 0);
    head.writeBigUInt64LE(BigInt(seq), 8);
    head.writeUInt32LE(r.points, 16);
    head.writeUInt32LE(r.events, 20);
    head.writeUInt32LE(crc32(payload, crc32(head.subarray(8))), 4);
    let seg = this.segments.at(-1);
    let fresh = false;
    try {
      if (!seg || seg.size >= this.opts.segmentBytes) {
        seg = this.newSegment(seq);
        fresh = true;
      }
      this.writeAll(seg.fd, Buffer.concat([head, payload]), seg.size);
      if (this.opts.fsync === 'always') this.fs.fsyncSync(seg.fd);
    } catch (err) {
      if (seg) this.rollback(seg, fresh);
      this.refuse(r, now, err);
      return undefined;
    }
    this.meta.nextSeq++;
    this.space.written += size;
    if (this.full) this.resume(now);
    const offset = seg.size;
    this.lastPayload = { seq, payload };
    seg.size += size;
    seg.live++;
    this.bytes += size;
    const entry: Entry = { seq, seg, offset, length: payload.length, points: r.points, events: r.events };
    this.entries.set(seq, entry);
    this.liveBytes += size;
    if (this.opts.fsync === 'interval') {
      entry.at = now;
      // Something appended earlier still unacked past the interval: the collector is not
      // acking promptly any more, so sync now and go back to the timer.
      if (this.syncOverdue(now)) this.promptAcks = false;
      this.unsynced.push({ seq, at: now });
      if (!this.promptAcks) this.armSync();
    }
    this.enforceBound();
    if (this.metaDirty) this.saveMeta();
    return seq;
  }

  /** Write all of buf at pos, retrying short writes; throws when the file takes no more. */
  private writeAll(fd: number, buf: Buffer, pos: number): void {
    let done = 0;
    let stalls = 0;
    while (done < buf.length) {
      const n = this.fs.writeSync(fd, buf, done, buf.length - done, pos + done);
      if (n > 0) {
        if (n < buf.length - done) this.refusals.shortWrites++;
        done += n;
        stalls = 0;
      } else if (++stalls >= 3) {
        throw Object.assign(new Error(`short write: ${done} of ${buf.length} bytes written`), { code: 'ENOSPC' });
      }
    }
  }

  /** A record did not make it whole: cut the segment back to its last whole record. */
  private rollback(seg: Segment, fresh: boolean): void {
    try {
      this.fs.ftruncateSync(seg.fd, seg.size);
    } catch (err) {
      // seg.size is unchanged, so the next record overwrites the torn bytes; a restart cuts
      // them. A record written whole whose sync failed would be read back at a restart,
      // though it was counted as dropped: spoil its header (best effort), and do not give
      // its seq to another record.
      this.ioError('truncate after a failed write', err);
      try {
        this.writeAll(seg.fd, Buffer.alloc(8), seg.size);
      } catch {
        // counted as dropped and maybe sent after a restart: over-counted, never lost uncounted
      }
      this.meta.nextSeq++;
      this.metaDirty = true;
    }
    if (fresh && seg.size === 0) this.removeSegment(seg);
  }

  /** May a record of `size` bytes be written now? No while the disk is full (retried once a second) or below the floor. */
  private mayWrite(now: number, size: number): boolean {
    if (this.full) {
      if (now - this.full.triedAt < RETRY_MS) return false;
      this.full.triedAt = now;
    }
    const floor = this.opts.minFree;
    if (floor === 0 && !this.full) return true;
    const sp = this.space;
    if (now - sp.at >= RETRY_MS || sp.written + size > sp.free - sp.floor) {
      try {
        const st = this.fs.statfsSync(this.opts.dir);
        sp.free = Number(st.bavail) * Number(st.bsize);
        sp.floor = minFreeBytes(floor, Number(st.blocks) * Number(st.bsize));
      } catch {
        // No statfs here: only a failing write tells.
        sp.free = Infinity;
        sp.floor = 0;
      }
      sp.at = now;
      sp.written = 0;
    }
    return sp.free - sp.written - size >= sp.floor;
  }

  /** The disk would not take this batch: count it as dropped (reason disk_full), log at most once a minute. */
  private refuse(r: { points: number; events: number }, now: number, err: unknown): void {
    const reason = err === undefined ? 'min_free' : codeOf(err);
    if (this.countRefused) {
      this.meta.droppedPoints += r.points;
      this.meta.droppedEvents += r.events;
      this.meta.droppedDiskFullPoints += r.points;
      this.meta.droppedDiskFullEvents += r.events;
      this.metaDirty = true;
    }
    const f = this.refusals;
    f.batches++;
    f.points += r.points;
    f.events += r.events;
    if (err !== undefined) {
      f.errors++;
      f.lastError = `${codeOf(err)}: ${(err as Error).message}`;
    }
    if (this.full) this.full.reason = reason;
    else this.full = { since: now, triedAt: now, reason };
    // Acked records may fill the segment being written: with no append there is no ack
    // to free it, so it goes now (the next append starts a new segment).
    const last = this.segments.at(-1);
    if (last && last.live === 0) this.removeSegment(last);
    if (now - this.loggedAt >= LOG_EVERY_MS) this.logFull(now);
    // At once: a restart while the disk stays full must still know what was refused.
    if (this.countRefused) this.saveMeta();
  }

  private logFull(now: number): void {
    const f = this.refusals;
    const code = this.full && !NO_SPACE.has(this.full.reason) && this.full.reason !== 'min_free' ? 'CANH_ERR_SPOOL_IO' : 'CANH_ERR_SPOOL_DISK_FULL';
    this.opts.log?.warn(
      {
        code,
        reason: this.full?.reason,
        refusedBatches: f.batches,
        refusedPoints: f.points,
        refusedEvents: f.events,
        ioErrors: f.errors,
        shortWrites: f.shortWrites,
        lastError: f.lastError,
        freeBytes: Number.isFinite(this.space.free) ? this.space.free : undefined,
        minFreeBytes: this.space.floor,
        totalDiskFullPoints: this.meta.droppedDiskFullPoints,
        dir: this.opts.dir,
      },
      'spool: the disk takes no more; new batches are refused (counted) until space returns (logged once a minute)',
    );
    this.loggedAt = now;
    this.refusals = { batches: 0, points: 0, events: 0, errors: 0, shortWrites: 0, lastError: undefined };
  }

  private resume(now: number): void {
    const f = this.refusals;
    // Within the minute of the last line it stays quiet (a disk hovering at the floor
    // would log at every retry); what was refused meanwhile goes into the next line.
    if (now - this.loggedAt >= LOG_EVERY_MS) {
      this.opts.log?.warn(
        {
          fullForMs: Math.round(now - this.full!.since),
          refusedPoints: f.points,
          refusedEvents: f.events,
          shortWrites: f.shortWrites,
          totalDiskFullPoints: this.meta.droppedDiskFullPoints,
        },
        'spool: space again; appending resumed',
      );
      this.loggedAt = now;
      this.refusals = { batches: 0, points: 0, events: 0, errors: 0, shortWrites: 0, lastError: undefined };
    }
    this.full = undefined;
    // Acks that could not be logged while the disk was full.
    if (this.unloggedAcks.length) this.writeAcks();
  }

  /** An I/O error that costs no data by itself (acks, meta, syncs): counted and logged with the disk-full line. */
  private ioError(what: string, err: unknown): void {
    const f = this.refusals;
    f.errors++;
    f.lastError = `${what}: ${codeOf(err)}: ${(err as Error).message}`;
    const now = this.now();
    // Its own minute: this line must not hold back the disk-full line, nor the other way round.
    if (now - this.ioLoggedAt >= LOG_EVERY_MS) {
      this.opts.log?.warn(
        { code: NO_SPACE.has(codeOf(err)) ? 'CANH_ERR_SPOOL_DISK_FULL' : 'CANH_ERR_SPOOL_IO', what, err: f.lastError, dir: this.opts.dir },
        'spool: a write failed; nothing kept was lost (logged once a minute)',
      );
      this.ioLoggedAt = now;
    }
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
    const fd = this.fs.openSync(path, 'w+');
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
      this.opts.log?.warn(
        { droppedPoints: points, droppedUnackedPoints: unacked, droppedEvents: events, totalDropped: this.meta.droppedPoints },
        'spool full: oldest data dropped',
      );
      this.removeSegment(seg);
      this.saveMeta();
    }
  }

  private removeSegment(seg: Segment): void {
    try {
      this.fs.closeSync(seg.fd);
    } catch {
      // closed is closed
    }
    try {
      this.fs.unlinkSync(seg.path);
    } catch {
      // already gone
    }
    this.bytes -= seg.size;
    this.segments = this.segments.filter((s) => s !== seg);
  }

  /** Replace a small file whole: written to a temporary name, checked, renamed over. */
  private replaceFile(path: string, data: Buffer, sync: boolean): void {
    const tmp = `${path}.tmp`;
    let fd = -1;
    try {
      fd = this.fs.openSync(tmp, 'w');
      this.writeAll(fd, data, 0);
      if (sync) this.fs.fsyncSync(fd);
      this.fs.closeSync(fd);
      fd = -1;
      this.fs.renameSync(tmp, path);
    } catch (err) {
      if (fd >= 0) {
        try {
          this.fs.closeSync(fd);
        } catch {
          // nothing more to do
        }
      }
      try {
        this.fs.unlinkSync(tmp);
      } catch {
        // never made
      }
      throw err;
    }
  }

  /**
   * Persist the counters. The file is padded to a fixed size, so when the disk is full
   * (no room for a new file to rename over it) it is overwritten in place, in blocks it
   * already has: the counts of what a full disk refused survive a restart. On failure the
   * old file stays and the next occasion tries again.
   */
  private saveMeta(): void {
    const path = join(this.opts.dir, 'meta.json');
    const json = JSON.stringify(this.meta);
    const data = Buffer.alloc(Math.max(META_BYTES, json.length + 1), ' ');
    data.write(json);
    try {
      this.replaceFile(path, data, false);
      this.metaDirty = false;
      return;
    } catch (err) {
      this.metaDirty = true;
      this.ioError('meta.json', err);
    }
    let fd = -1;
    try {
      fd = this.fs.openSync(path, 'r+');
      if (this.fs.fstatSync(fd).size >= data.length) {
        this.writeAll(fd, data, 0);
        this.metaDirty = false;
      }
    } catch {
      // no meta file yet, or the disk refuses even that: counted in memory, saved later
    } finally {
      if (fd >= 0) {
        try {
          this.fs.closeSync(fd);
        } catch {
          // closed is closed
        }
      }
    }
  }

  after(seq: number, limit: number): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    for (const e of this.entries.values()) {
      if (e.seq <= seq) continue;
      const frame = this.payload(e);
      if (!frame) continue;
      out.push({ seq: e.seq, frame, points: e.points, events: e.events });
      if (out.length >= limit) break;
    }
    return out;
  }

  index(seq: number, limit: number): SpoolEntry[] {
    const out: SpoolEntry[] = [];
    if (limit <= 0) return out;
    for (const e of this.entries.values()) {
      if (e.seq <= seq) continue;
      out.push({ seq: e.seq, points: e.points, events: e.events, bytes: e.length });
      if (out.length >= limit) break;
    }
    return out;
  }

  read(seq: number): Buffer | undefined {
    const e = this.entries.get(seq);
    return e && this.payload(e);
  }

  /** A record's frame, from memory when it is the one appended last, else from its segment. */
  private payload(e: Entry): Buffer | undefined {
    if (this.lastPayload?.seq === e.seq) return this.lastPayload.payload;
    const buf = Buffer.alloc(e.length);
    try {
      if (this.fs.readSync(e.seg.fd, buf, 0, e.length, e.offset + HEADER) !== e.length)
        throw Object.assign(new Error('short read: the record is no longer whole'), { code: 'EIO' });
    } catch (err) {
      // The disk cannot give it back (EIO): it is lost, so it is counted, not retried forever.
      this.lose(e, err);
      return undefined;
    }
    return buf;
  }

  /** A record that cannot be read back: dropped and counted with what the disk refused. */
  private lose(e: Entry, err: unknown): void {
    this.entries.delete(e.seq);
    this.sent.delete(e.seq);
    this.liveBytes -= e.length + HEADER;
    e.seg.live--;
    if (this.countRefused) {
      this.meta.droppedPoints += e.points;
      this.meta.droppedEvents += e.events;
      this.meta.droppedDiskFullPoints += e.points;
      this.meta.droppedDiskFullEvents += e.events;
      this.saveMeta();
    }
    this.ioError(`read of seq ${e.seq}`, err);
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
    this.unloggedAcks.push(seq);
    this.writeAcks();
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
    // While the disk is full the one being written goes too, or a spool in one segment
    // could never give its space back.
    if (e.seg.live === 0 && (e.seg !== this.segments.at(-1) || this.full)) {
      this.removeSegment(e.seg);
      if (this.acksLogged > 4096) this.compact();
    }
    return true;
  }

  /**
   * Log the acks not yet in acks.log. A failed write is cut back (best effort; either way
   * the next write starts at the last whole ack): the acks stay in memory and go with the
   * next one. A lost ack only means its batch is sent again, which InfluxDB stores once.
   */
  private writeAcks(): void {
    // Acks of records whose segment is gone are needed no more (a long full disk would
    // otherwise pile them up here).
    const minSeq = this.segments[0]?.firstSeq ?? Number.MAX_SAFE_INTEGER;
    if (this.unloggedAcks.length) this.unloggedAcks = this.unloggedAcks.filter((q) => q >= minSeq);
    if (this.ackFd < 0 || !this.unloggedAcks.length) return;
    const b = Buffer.alloc(this.unloggedAcks.length * 8);
    this.unloggedAcks.forEach((s, i) => b.writeBigUInt64LE(BigInt(s), i * 8));
    try {
      this.writeAll(this.ackFd, b, this.ackSize);
    } catch (err) {
      try {
        this.fs.ftruncateSync(this.ackFd, this.ackSize);
      } catch {
        // the torn ack is overwritten by the next write; a partial one is ignored when read
      }
      this.ioError('ack log', err);
      return;
    }
    this.ackSize += b.length;
    this.acksLogged += this.unloggedAcks.length;
    this.unloggedAcks = [];
  }

  /** Rewrite acks.log to hold only acks of records still on disk; false when the disk refused (the old log stays). */
  private compact(): boolean {
    const keep: number[] = [];
    // Acks of records still on disk must survive the rewrite; acks older than the first
    // segment refer to deleted records and can go.
    const live = new Set(this.entries.keys());
    const minSeq = this.segments[0]?.firstSeq ?? Number.MAX_SAFE_INTEGER;
    const take = (s: number) => {
      if (s >= minSeq && !live.has(s)) keep.push(s);
    };
    try {
      if (this.fs.existsSync(this.acksPath)) {
        const buf = this.fs.readFileSync(this.acksPath);
        for (let o = 0; o + 8 <= buf.length; o += 8) take(Number(buf.readBigUInt64LE(o)));
      }
    } catch (err) {
      this.ioError('ack log read', err);
      return false;
    }
    for (const s of this.unloggedAcks) take(s);
    const out = Buffer.alloc(keep.length * 8);
    keep.forEach((s, i) => out.writeBigUInt64LE(BigInt(s), i * 8));
    try {
      this.replaceFile(this.acksPath, out, false);
    } catch (err) {
      this.ioError('ack log rewrite', err);
      return false;
    }
    if (this.ackFd >= 0) {
      try {
        this.fs.closeSync(this.ackFd);
      } catch {
        // closed is closed
      }
    }
    this.ackFd = -1;
    this.unloggedAcks = [];
    this.acksLogged = keep.length;
    if (!this.closed) this.openAckLog();
    this.saveMeta();
    return true;
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
    for (const seg of segs) {
      try {
        this.fs.fsyncSync(seg.fd);
      } catch (err) {
        // Under `interval` these batches were already handed on; they stay in the spool
        // (and in the page cache) until acked. Only a crash of the OS now would cost them.
        this.ioError('sync', err);
      }
    }
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
      droppedDiskFullPoints: this.meta.droppedDiskFullPoints,
      droppedDiskFullEvents: this.meta.droppedDiskFullEvents,
      diskFull: this.full !== undefined,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.opts.fsync !== 'never') {
      this.sync();
      this.writeAcks();
      if (this.ackFd >= 0) {
        try {
          this.fs.fsyncSync(this.ackFd);
        } catch (err) {
          this.ioError('ack log sync', err);
        }
      }
    } else this.writeAcks();
    this.saveMeta();
    for (const s of this.segments) {
      try {
        this.fs.closeSync(s.fd);
      } catch {
        // closed is closed
      }
    }
    if (this.ackFd >= 0) {
      try {
        this.fs.closeSync(this.ackFd);
      } catch {
        // closed is closed
      }
    }
    this.ackFd = -1;
  }
}

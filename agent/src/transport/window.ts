// The send window: spooled batches leave in order, at most maxInFlight frames unacked on a
// connection, and a batch leaves the spool only when the ack of the frame that carried it
// arrives. A backlog (more batches waiting than the window lets out) leaves merged into
// fewer frames (frames.ts). What to send is chosen from the spool's index; only the frames
// that leave are read, so a backlog of thousands of batches waits on disk, not in memory.
import type { WebSocket } from 'ws';
import type { Spool, SpoolEntry } from '@canh/core';
import { MERGE_MAX, mergeable, mergedFrame } from './frames.ts';
import type { TransportOptions } from './options.ts';

export class SendWindow {
  /** Highest seq sent on this connection; everything up to it is in flight or acked. */
  private sentUpTo = 0;
  /** Every spooled batch in flight, whether sent alone or in a merged frame. */
  private readonly inFlight = new Set<number>();
  /** Frames in flight (the window counts these): the seq the frame carries → the batches in it. */
  private readonly frames = new Map<number, readonly number[]>();
  /** Batches that left merged into fewer frames since start. */
  merged = 0;
  /** Batches acked (and so removed from the spool) since start. */
  acked = 0;
  private readonly opts: TransportOptions;
  private readonly spool: Spool;
  /** Called before each frame leaves (the owner resumes reading the socket). */
  private readonly beforeSend: () => void;

  constructor(opts: TransportOptions, spool: Spool, beforeSend: () => void) {
    this.opts = opts;
    this.spool = spool;
    this.beforeSend = beforeSend;
  }

  /**
   * A new connection: nothing is in flight on it. Everything still in the spool is resent,
   * oldest first: the collector may have written it without the ack reaching us; replay
   * is harmless.
   */
  reset(): void {
    this.inFlight.clear();
    this.frames.clear();
    this.sentUpTo = 0;
  }

  /** Frames sent and not yet acked. */
  get size(): number {
    return this.frames.size;
  }

  /** Whether a frame carrying `seq` is in flight. */
  has(seq: number): boolean {
    return this.frames.has(seq);
  }

  /** Whether the collector's answer is needed before the next tick: the window is full, or batches wait to be sent. */
  needsAnswer(): boolean {
    return this.frames.size >= this.opts.maxInFlight || this.spool.index(this.sentUpTo, 1).length > 0;
  }

  /** For a log line about a bad ack: how far this connection has sent, and a few frames in flight. */
  describe(): { sentUpTo: number; inFlight: number[] } {
    return { sentUpTo: this.sentUpTo, inFlight: [...this.frames.keys()].slice(0, 8) };
  }

  /** The frame carrying `seq` is acked: its batches leave the spool. false (nothing changed) for a frame not in flight. */
  ack(seq: number): boolean {
    const batches = this.frames.get(seq);
    if (!batches) return false;
    for (const s of batches) {
      this.inFlight.delete(s);
      if (this.spool.ack(s)) this.acked++;
    }
    this.frames.delete(seq);
    return true;
  }

  /** The frame carrying `seq` was not made durable: it no longer counts as in flight. */
  drop(seq: number): void {
    for (const s of this.frames.get(seq) ?? [seq]) this.inFlight.delete(s);
    this.frames.delete(seq);
  }

  /** Rewind to just before the oldest unacked batch; those still in flight are skipped. */
  rewind(): void {
    const first = this.spool.first();
    if (first !== undefined) this.sentUpTo = Math.min(this.sentUpTo, first - 1);
  }

  /** Send what the window allows on `ws` (open, welcomed). */
  pump(ws: WebSocket): void {
    // send() has no backpressure signal; a large bufferedAmount means the socket is slow.
    if (ws.bufferedAmount > 8 * 1024 * 1024) return;
    const room = this.opts.maxInFlight - this.frames.size;
    if (room <= 0) return;
    const notInFlight = (r: SpoolEntry) => {
      if (!this.inFlight.has(r.seq)) return true;
      this.sentUpTo = Math.max(this.sentUpTo, r.seq);
      return false;
    };
    let waiting = this.spool.index(this.sentUpTo, room + 1 + this.inFlight.size).filter(notInFlight);
    // More waiting than the window lets out: a backlog. Look at as many batches as the free
    // slots' frames can hold, and merge them.
    const merge = waiting.length > room;
    if (merge) {
      const perFrame = Math.min(MERGE_MAX, Math.max(1, Math.ceil((this.opts.maxBatchPoints ?? 1000) / Math.max(1, waiting[0]!.points))));
      waiting = this.spool.index(this.sentUpTo, room * perFrame + this.inFlight.size).filter(notInFlight);
    }
    let i = 0;
    while (i < waiting.length && this.frames.size < this.opts.maxInFlight) {
      i += this.sendGroup(ws, merge ? mergeable(waiting, i, this.opts) : [waiting[i]!]);
    }
  }

  /**
   * Read the group's frames and send them as one (merged) frame; returns how many of the
   * group are done with. A frame the spool cannot give back was counted there as lost.
   */
  private sendGroup(ws: WebSocket, group: readonly SpoolEntry[]): number {
    const records: { seq: number; frame: string | Buffer; at: number }[] = [];
    group.forEach((r, at) => {
      const frame = this.spool.read(r.seq);
      if (frame !== undefined) records.push({ seq: r.seq, frame, at });
    });
    if (!records.length) return group.length;
    const merged = records.length > 1 ? mergedFrame(records[records.length - 1]!.seq, records) : undefined;
    if (records.length > 1 && merged === undefined) {
      // Not readable as batches (cannot happen for frames this agent wrote): they go one by one.
      this.sendFrame(ws, records[0]!.frame, [records[0]!.seq]);
      return records[0]!.at + 1;
    }
    if (records.length > 1) this.merged += records.length;
    this.sendFrame(
      ws,
      merged ?? records[0]!.frame,
      records.map((r) => r.seq),
    );
    return group.length;
  }

  private sendFrame(ws: WebSocket, frame: string | Buffer, seqs: number[]): void {
    // A batch that leaves between ticks (security events) has its ack read when it comes.
    this.beforeSend();
    // A spooled frame's UTF-8 bytes go as a text frame, without a decode and encode.
    ws.send(frame, { binary: false });
    for (const s of seqs) {
      this.spool.markSent(s);
      this.inFlight.add(s);
    }
    const last = seqs[seqs.length - 1]!;
    this.frames.set(last, seqs);
    this.sentUpTo = last;
  }
}

// A bounded in-memory spool: used by `canh-agent check`, by tests, and where no state
// folder is writable. Same contract as the disk spool, without surviving a restart.
import type { Spool, SpoolEntry, SpoolRecord, SpoolStats } from '@canh/core';

export class MemorySpool implements Spool {
  private readonly records = new Map<number, SpoolRecord>();
  private nextSeq: number;
  private bytes = 0;
  private droppedPoints = 0;
  private droppedEvents = 0;
  private droppedUnackedPoints = 0;
  private readonly sent = new Set<number>();
  private readonly maxBytes: number;

  constructor(opts: { maxBytes: number; firstSeq?: number }) {
    this.maxBytes = opts.maxBytes;
    this.nextSeq = opts.firstSeq ?? 1;
  }

  append(make: (seq: number) => { frame: string; points: number; events: number }): number {
    const seq = this.nextSeq++;
    const r = make(seq);
    const size = Buffer.byteLength(r.frame);
    // Oldest data goes first; the loss is counted and reported, never silent.
    for (const [s, old] of this.records) {
      if (this.bytes + size <= this.maxBytes) break;
      this.records.delete(s);
      this.bytes -= Buffer.byteLength(old.frame);
      if (this.sent.delete(s)) this.droppedUnackedPoints += old.points;
      else this.droppedPoints += old.points;
      this.droppedEvents += old.events;
    }
    this.records.set(seq, { seq, ...r });
    this.bytes += size;
    return seq;
  }

  after(seq: number, limit: number): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    for (const r of this.records.values()) {
      if (r.seq <= seq) continue;
      out.push(r);
      if (out.length >= limit) break;
    }
    return out;
  }

  index(seq: number, limit: number): SpoolEntry[] {
    return this.after(seq, limit).map((r) => ({ seq: r.seq, points: r.points, events: r.events, bytes: Buffer.byteLength(r.frame) }));
  }

  read(seq: number): string | Buffer | undefined {
    return this.records.get(seq)?.frame;
  }

  first(): number | undefined {
    for (const s of this.records.keys()) return s;
    return undefined;
  }

  ack(seq: number): boolean {
    const r = this.records.get(seq);
    if (!r) return false;
    this.records.delete(seq);
    this.sent.delete(seq);
    this.bytes -= Buffer.byteLength(r.frame);
    return true;
  }

  markSent(seq: number): void {
    if (this.records.has(seq)) this.sent.add(seq);
  }

  stats(): SpoolStats {
    return {
      batches: this.records.size,
      bytes: this.bytes,
      droppedPoints: this.droppedPoints,
      droppedEvents: this.droppedEvents,
      droppedUnackedPoints: this.droppedUnackedPoints,
      droppedDiskFullPoints: 0,
      droppedDiskFullEvents: 0,
      diskFull: false,
    };
  }

  close(): void {}
}

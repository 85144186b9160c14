// The collector's own spool: when InfluxDB is down or slow, lines the writer could not
// deliver are appended here (fsync before the agents get their acks) and drained back
// into InfluxDB when it answers again. Past its bound it refuses, the writer stops
// acking, and the agents' spools hold the rest: backpressure instead of loss.
//
// It reuses the agent's segment format (checksummed records, torn-tail recovery); a
// record here is a block of line protocol instead of a batch frame.
import type { Logger } from 'pino';
import { Backoff, DiskSpool } from '@canh/core';
import type { InfluxWriter } from './writer.ts';

export interface CollectorSpoolOptions {
  dir: string;
  maxBytes: number;
  /** Records drained per InfluxDB request. */
  drainBatch?: number;
}

export class CollectorSpool {
  private readonly spool: DiskSpool;
  private readonly writer: InfluxWriter;
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly drainBatch: number;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  private full = false;
  private delay = 0;
  private readonly backoff = new Backoff(500, 30_000);
  stored = 0;
  drained = 0;
  refusedFull = 0;

  constructor(opts: CollectorSpoolOptions, writer: InfluxWriter, log: Logger) {
    this.maxBytes = opts.maxBytes;
    this.drainBatch = opts.drainBatch ?? 20;
    this.writer = writer;
    this.log = log;
    // Never drop on overflow (that is the agent spool's job): store() refuses instead.
    this.spool = new DiskSpool({ dir: opts.dir, maxBytes: Number.MAX_SAFE_INTEGER, fsync: 'always', log });
    if (this.spool.recovery.unacked) log.info({ ...this.spool.recovery }, 'collector spool holds undelivered data from before the restart');
  }

  /** Durably keep these lines for later delivery; false when the spool is over its bound. */
  store(lines: readonly string[]): boolean {
    return this.storeText(lines.join('\n'), lines.length);
  }

  /** store() for `n` lines already joined by newlines. */
  storeText(text: string, n: number): boolean {
    if (this.spool.stats().bytes >= this.maxBytes) {
      if (!this.full) this.log.warn({ bytes: this.spool.stats().bytes }, 'collector spool full: not acking agents until InfluxDB drains it');
      this.full = true;
      this.refusedFull++;
      return false;
    }
    this.full = false;
    this.spool.append(() => ({ frame: text, points: n, events: 0 }));
    this.stored += n;
    return true;
  }

  get pendingBytes(): number {
    return this.spool.stats().bytes;
  }

  get pendingRecords(): number {
    return this.spool.stats().batches;
  }

  start(): void {
    const tick = () => {
      this.timer = setTimeout(() => void this.drain().finally(tick), this.delay || 500);
    };
    tick();
  }

  /** Send spooled records to InfluxDB in order until empty or InfluxDB fails again. */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        const records = this.spool.after(0, this.drainBatch);
        if (!records.length) break;
        const n = records.reduce((k, r) => k + r.points, 0);
        const result = await this.writer.post(records.map((r) => r.frame).join('\n'), n);
        if (result === 'retry') {
          this.delay = this.backoff.next();
          return;
        }
        this.delay = 0;
        this.backoff.reset();
        for (const r of records) this.spool.ack(r.seq);
        this.drained += n;
        if (!this.spool.first()) this.log.info({ drained: this.drained }, 'collector spool drained into InfluxDB');
      }
    } finally {
      this.draining = false;
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.spool.close();
  }
}

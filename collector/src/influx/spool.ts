// The collector's own spool: when InfluxDB is down or slow, lines the writer could not
// deliver are appended here (fsync before the agents get their acks) and drained back
// into InfluxDB when it answers again. Past its bound it refuses, the writer stops
// acking, and the agents' spools hold the rest: backpressure instead of loss.
//
// It reuses the agent's segment format (checksummed records, torn-tail recovery, checked
// writes); a record here is a block of line protocol instead of a batch frame, and the
// record's `events` number says its precision: 1 for ns (a batch carrying security
// events, event-times.ts), 0 for ms (every other record, and every one written before). A full
// disk (or one below spool.min_free) is a state: store() refuses, so the writer keeps the
// lines in memory up to its bound and then answers busy, and the agents keep the rest;
// the spool still drains, and takes data again when space returns.
import type { Logger } from 'pino';
import { Backoff, DiskSpool, type MinFree, type SpoolFs } from '@canh/core';
import type { InfluxWriter, Precision } from './writer.ts';

/** A record's `events` number for a text in ns; 0 is ms. */
const NS = 1;
const precisionOf = (r: { events: number }): Precision => (r.events === NS ? 'ns' : 'ms');

export interface CollectorSpoolOptions {
  dir: string;
  maxBytes: number;
  /** Free-space floor of the spool's file system (default auto: 5 % or 256 MiB, whichever is smaller). */
  minFree?: MinFree;
  /** Most records drained per InfluxDB request. */
  drainBatch?: number;
  /** Lines drained per InfluxDB request (influx.batch_size): a backlog of small batches leaves in full requests. */
  drainLines?: number;
  /** File calls (tests inject disk faults); node:fs by default. */
  fs?: SpoolFs;
}

export class CollectorSpool {
  private readonly spool: DiskSpool;
  private readonly writer: InfluxWriter;
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly drainBatch: number;
  private readonly drainLines: number;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  private full = false;
  private delay = 0;
  private readonly backoff = new Backoff(500, 30_000);
  private diskFullLoggedAt = -Infinity;
  private drainLoggedAt = -Infinity;
  drainFailures = 0;
  stored = 0;
  drained = 0;
  refusedFull = 0;
  /** Store calls the disk refused (full, below min_free, write errors): their batches were not acked. */
  refusedDiskFull = 0;

  constructor(opts: CollectorSpoolOptions, writer: InfluxWriter, log: Logger) {
    this.maxBytes = opts.maxBytes;
    this.drainBatch = opts.drainBatch ?? 500;
    this.drainLines = opts.drainLines ?? 5000;
    this.writer = writer;
    this.log = log;
    // Never drop on overflow (that is the agent spool's job): store() refuses instead.
    this.spool = new DiskSpool({
      dir: opts.dir,
      maxBytes: Number.MAX_SAFE_INTEGER,
      fsync: 'always',
      minFree: opts.minFree,
      fs: opts.fs,
      countRefused: false,
      log,
    });
    if (this.spool.recovery.unacked) log.info({ ...this.spool.recovery }, 'collector spool holds undelivered data from before the restart');
  }

  /** Durably keep these lines for later delivery; false when the spool is over its bound. */
  store(lines: readonly string[]): boolean {
    return this.storeText(lines.join('\n'), lines.length);
  }

  /** store() for `n` lines already joined by newlines, their times in `precision`. */
  storeText(text: string, n: number, precision: Precision = 'ms'): boolean {
    if (this.spool.stats().bytes >= this.maxBytes) {
      if (!this.full) this.log.warn({ bytes: this.spool.stats().bytes }, 'collector spool full: not acking agents until InfluxDB drains it');
      this.full = true;
      this.refusedFull++;
      return false;
    }
    this.full = false;
    // Only whole and synced records get a seq: anything else is refused, and not acked.
    if (this.spool.append(() => ({ frame: text, points: n, events: precision === 'ns' ? NS : 0 })) === undefined) {
      this.refusedDiskFull++;
      // Once a minute at most (the spool itself logs why, as often).
      const now = performance.now();
      if (now - this.diskFullLoggedAt >= 60_000) {
        this.diskFullLoggedAt = now;
        this.log.warn(
          { code: 'CANH_ERR_SPOOL_DISK_FULL', refused: this.refusedDiskFull },
          'collector spool: the disk takes no more; not acking agents for what InfluxDB has not taken (they keep it)',
        );
      }
      return false;
    }
    this.stored += n;
    return true;
  }

  /** Call `fn` with the text (and its precision) of every record not yet delivered, oldest first; sums what it returns. */
  forEachRecord(fn: (text: string, precision: Precision) => number): number {
    let sum = 0;
    let after = 0;
    for (;;) {
      const records = this.spool.after(after, 100);
      if (!records.length) return sum;
      for (const r of records) sum += fn(String(r.frame), precisionOf(r));
      after = records.at(-1)!.seq;
    }
  }

  /** The spool's disk refuses new records now (a gauge; it clears when space returns). */
  get diskFull(): boolean {
    return this.spool.stats().diskFull ?? false;
  }

  get pendingBytes(): number {
    return this.spool.stats().bytes;
  }

  get pendingRecords(): number {
    return this.spool.stats().batches;
  }

  start(): void {
    const tick = () => {
      // A read error (EIO) must not end the process: the records stay, the next tick tries again.
      this.timer = setTimeout(
        () =>
          void this.drain()
            .catch((err: Error) => this.drainFailed(err))
            .finally(tick),
        this.delay || 500,
      );
    };
    tick();
  }

  private drainFailed(err: Error): void {
    this.drainFailures++;
    const now = performance.now();
    if (now - this.drainLoggedAt < 60_000) return;
    this.drainLoggedAt = now;
    this.log.warn(
      { code: 'CANH_ERR_SPOOL_IO', err: err.message, failures: this.drainFailures },
      'collector spool: drain failed; retrying (logged once a minute)',
    );
  }

  /** Send spooled records to InfluxDB in order until empty or InfluxDB fails again. */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        const read = this.spool.after(0, this.drainBatch);
        if (!read.length) break;
        // As many as fit in one request of drainLines lines (at least one record), of one precision.
        const precision = precisionOf(read[0]!);
        let lines = read[0]!.points;
        let k = 1;
        while (k < read.length && lines + read[k]!.points <= this.drainLines && precisionOf(read[k]!) === precision) lines += read[k++]!.points;
        const records = read.slice(0, k);
        const n = records.reduce((k, r) => k + r.points, 0);
        const result = await this.writer.post(records.map((r) => r.frame).join('\n'), n, precision);
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

// The set of InfluxDB targets the collector writes to (influx.targets; one target when the
// config names only influx.url). Every target has its own writer and its own durable spool,
// so a target that is down or slow falls behind on its own disk and catches up when it
// answers again, while the others go on. A batch is acked to its agent once `write_quorum`
// targets hold it: InfluxDB accepted it, or the target's spool stored it (fsynced) —
// the spool counts, it drains into that target later. Replay is harmless (a point is keyed
// by measurement, tags and time), so sending a batch again to a target that has it is safe.
//
// Past the quorum a target may still miss a batch: its writer's queue full and its spool
// over its bound (or its disk full). That gap is counted per target (`lost_lines`) and
// logged with CANH_ERR_INFLUX_TARGET_GAP, never silent.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CanhError, type MinFree } from '@canh/core';
import { InfluxBusyError, InfluxWriter, type InfluxOptions, type Precision, type WriterStats } from './writer.ts';
import { CollectorSpool } from './spool.ts';

export interface InfluxTargetConfig {
  name: string;
  url: string;
  username?: string;
  password?: string;
}

export interface TargetsOptions {
  targets: readonly InfluxTargetConfig[];
  /** Targets that must hold a batch before its ack; default: all of them. */
  writeQuorum?: number;
  /** Everything of InfluxOptions but where and who (those are per target). */
  writer: Omit<InfluxOptions, 'url' | 'username' | 'password'>;
  spool: { stateDir: string; maxBytes: number; minFree?: MinFree };
}

/** One target's figures, for /healthz and the status page. */
export interface TargetStatus {
  name: string;
  url: string;
  healthy: boolean;
  queued_lines: number;
  spooled_records: number;
  spooled_bytes: number;
  /** Lines this target will never get (queue and spool both refused, past the quorum). */
  lost_lines: number;
  last_error: string | null;
}

/** The spool folder of target `index`: the first keeps the single-target folder, so adding a second target keeps what the first had spooled. */
export function targetSpoolDir(stateDir: string, index: number, name: string): string {
  return index === 0 ? join(stateDir, 'spool') : join(stateDir, `spool-${name}`);
}

export class InfluxTarget {
  readonly name: string;
  readonly url: string;
  readonly writer: InfluxWriter;
  readonly spool: CollectorSpool;
  lostLines = 0;
  /** The spool is closed (stop): nothing more goes into it. */
  closed = false;

  constructor(cfg: InfluxTargetConfig, writer: InfluxWriter, spool: CollectorSpool) {
    this.name = cfg.name;
    this.url = cfg.url;
    this.writer = writer;
    this.spool = spool;
  }

  /**
   * Hand `n` lines to this target (one of several): resolves when InfluxDB accepted them or
   * the spool stored them. A full write queue sends them to the spool at once (this target
   * is slower than the others: it catches up from disk instead of holding every agent
   * back); rejects only when neither takes them.
   */
  hold(text: string | Buffer, n: number, precision: Precision = 'ms'): Promise<void> {
    return this.writer.writeText(text, n, precision).catch((err: unknown) => {
      // Busy (queue full) or stopping with lines still queued: the spool keeps them.
      const spoolable = err instanceof InfluxBusyError || (err instanceof CanhError && err.code === 'CANH_ERR_INFLUX_STOPPED');
      if (spoolable && !this.closed && this.spool.storeText(String(text), n, precision)) return;
      throw err;
    });
  }

  status(): TargetStatus {
    const s = this.writer.stats;
    return {
      name: this.name,
      url: this.url,
      healthy: s.healthy,
      queued_lines: s.queued,
      spooled_records: this.spool.pendingRecords,
      spooled_bytes: this.spool.pendingBytes,
      lost_lines: this.lostLines,
      last_error: s.lastError,
    };
  }
}

export class QuorumError extends CanhError {
  constructor(held: number, quorum: number, cause: Error) {
    super(
      'CANH_ERR_INFLUX_QUORUM',
      `only ${held} of the ${quorum} InfluxDB targets the ack needs hold the batch (${cause.message}); the agent keeps it and sends it again`,
    );
  }
}

export class InfluxTargets {
  readonly targets: readonly InfluxTarget[];
  readonly quorum: number;
  private readonly log: Logger;
  private gapLoggedAt = -Infinity;
  /** Sum of the per-target figures; `healthy` only while every target is. */
  private readonly summed: WriterStats = { written: 0, refused: 0, requests: 0, failures: 0, queued: 0, lastError: null, healthy: true };

  constructor(opts: TargetsOptions, log: Logger) {
    if (!opts.targets.length) throw new Error('InfluxTargets: no target');
    this.log = log;
    this.quorum = Math.max(1, Math.min(opts.writeQuorum ?? opts.targets.length, opts.targets.length));
    this.targets = opts.targets.map((cfg, i) => {
      const tlog = opts.targets.length > 1 ? log.child({ target: cfg.name }) : log;
      const writer = new InfluxWriter({ ...opts.writer, url: cfg.url, username: cfg.username, password: cfg.password }, tlog);
      const spool = new CollectorSpool(
        {
          dir: targetSpoolDir(opts.spool.stateDir, i, cfg.name),
          maxBytes: opts.spool.maxBytes,
          minFree: opts.spool.minFree,
          drainLines: opts.writer.batchSize,
        },
        writer,
        opts.targets.length > 1 ? log.child({ component: 'spool', target: cfg.name }) : log.child({ component: 'spool' }),
      );
      writer.fallback = (text, n, precision) => spool.storeText(text, n, precision);
      return new InfluxTarget(cfg, writer, spool);
    });
  }

  /** The receiver's hook, called as any target makes progress. */
  set onProgress(fn: (() => void) | undefined) {
    for (const t of this.targets) t.writer.onProgress = fn;
  }

  get stats(): WriterStats {
    const s = this.summed;
    s.written = s.refused = s.requests = s.failures = s.queued = 0;
    s.healthy = true;
    s.lastError = null;
    for (const t of this.targets) {
      const w = t.writer.stats;
      s.written += w.written;
      s.refused += w.refused;
      s.requests += w.requests;
      s.failures += w.failures;
      s.queued = Math.max(s.queued, w.queued);
      s.healthy &&= w.healthy;
      if (!w.healthy && w.lastError) s.lastError = this.targets.length > 1 ? `${t.name}: ${w.lastError}` : w.lastError;
      else s.lastError ??= w.lastError;
    }
    return s;
  }

  /**
   * Lines the receiver may still queue before it holds agents back: the room of the
   * quorum-th roomiest target. A slow target past the quorum does not hold anyone back
   * (its queue overflows into its spool); one the quorum needs does.
   */
  get room(): number {
    if (this.targets.length === 1) return this.targets[0]!.writer.room;
    const rooms = this.targets.map((t) => t.writer.room).sort((a, b) => b - a);
    return rooms[this.quorum - 1]!;
  }

  /** Records waiting in the targets' spools, all together. */
  get pendingRecords(): number {
    return this.targets.reduce((n, t) => n + t.spool.pendingRecords, 0);
  }

  get pendingBytes(): number {
    return this.targets.reduce((n, t) => n + t.spool.pendingBytes, 0);
  }

  write(lines: readonly string[]): Promise<void> {
    return this.writeText(lines.join('\n'), lines.length);
  }

  /** Resolves once `quorum` targets hold the lines; rejects once that can no longer happen. */
  writeText(text: string | Buffer, n: number, precision: Precision = 'ms'): Promise<void> {
    // One target: the writer as it always was (a full queue answers busy, and the agents
    // keep their data: backpressure instead of a spool that grows with InfluxDB healthy).
    if (this.targets.length === 1) return this.targets[0]!.writer.writeText(text, n, precision);
    return new Promise((resolve, reject) => {
      let held = 0;
      let outcome: 'acked' | 'refused' | undefined;
      // Targets that failed before the outcome: a gap if the batch is acked without them.
      const early: [InfluxTarget, Error][] = [];
      for (const t of this.targets) {
        t.hold(text, n, precision).then(
          () => {
            held++;
            if (outcome || held < this.quorum) return;
            outcome = 'acked';
            resolve();
            for (const [ft, err] of early.splice(0)) this.gap(ft, n, err);
          },
          (err: Error) => {
            if (outcome === 'acked') this.gap(t, n, err);
            if (outcome) return;
            early.push([t, err]);
            // Not acked: the agent keeps the batch and sends it again, to every target.
            if (this.targets.length - early.length < this.quorum) {
              outcome = 'refused';
              reject(new QuorumError(held, this.quorum, err));
            }
          },
        );
      }
    });
  }

  private gap(t: InfluxTarget, n: number, err: Error): void {
    t.lostLines += n;
    const now = performance.now();
    if (now - this.gapLoggedAt < 60_000) return;
    this.gapLoggedAt = now;
    this.log.warn(
      { code: 'CANH_ERR_INFLUX_TARGET_GAP', target: t.name, lost_lines: t.lostLines, err: err.message },
      'an InfluxDB target missed data the other targets hold (its queue and its spool were both full); logged once a minute',
    );
  }

  /** Whether at least `quorum` targets answer a ping (the collector can ack without spooling). */
  async ping(): Promise<boolean> {
    return (await this.pingEach()).filter(Boolean).length >= this.quorum;
  }

  pingEach(): Promise<boolean[]> {
    return Promise.all(this.targets.map((t) => t.writer.ping()));
  }

  /** An InfluxQL query, answered by the first target that answers. */
  async query(q: string, db?: string, epoch: Precision = 'ms'): Promise<unknown> {
    let last: unknown;
    for (const t of this.targets) {
      try {
        return await t.writer.query(q, db, epoch);
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  async ensureDatabase(): Promise<void> {
    const results = await Promise.allSettled(this.targets.map((t) => t.writer.ensureDatabase()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }

  status(): TargetStatus[] {
    return this.targets.map((t) => t.status());
  }

  start(): void {
    for (const t of this.targets) {
      t.writer.start();
      t.spool.start();
    }
  }

  /** Flush every writer, then close the spools. Safe twice. */
  async stop(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.writer.stop()));
    // Lines the writers gave back at stop reach their spools first (hold's handlers).
    await new Promise((r) => setImmediate(r));
    for (const t of this.targets) {
      t.closed = true;
      t.spool.stop();
    }
  }
}

// Collects points and events from every input and turns them into `batch` messages in
// the spool: a batch is cut when it holds batch_size points or flush_interval has passed,
// and never grows past the collector's message-size limit. The flush timer is armed by
// the first point of a batch, so an agent with nothing to send is not woken each second;
// while held (a tick's gathers run, and the agent cuts the batch when they are done) it
// is not armed at all: a timer cleared a few milliseconds later still wakes the process
// at its deadline, as Node does not move libuv's timer later.
// Points are written in the protocol's `rows` spelling (each series once per batch).
import { RowsWriter, type Point, type SecurityEvent } from '@canh/protocol';
import type { Accumulator, PointOptions } from './inputs/types.ts';
import type { Spool } from '@canh/core';

export interface BatcherOptions {
  batchSize: number;
  flushIntervalMs: number;
  maxMessageBytes: number;
  /** Spool bytes not yet acked past which log readers wait (Accumulator.backlogged); default: never. */
  backlogBytes?: number;
  now?: () => number;
}

/** Every key is a field (the usual case: the list can be used as it is, not copied). */
function allIn(keys: readonly string[], fields: object): boolean {
  for (let i = 0; i < keys.length; i++) if (!(keys[i]! in fields)) return false;
  return true;
}

export class Batcher {
  private points: Point[] = [];
  private events: SecurityEvent[] = [];
  private rows = new RowsWriter();
  private eventsJson: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private held = false;
  private eventFlush: NodeJS.Immediate | undefined;
  private readonly now: () => number;
  /** Called after each batch lands in the spool, so the transport can send it. */
  onBatch: () => void = () => {};
  /** Delivery audit hook: sees every batch once it is in the spool. */
  onSpooled: ((seq: number, points: readonly Point[], events: readonly SecurityEvent[]) => void) | undefined;
  /** Delivery audit hook: a batch the spool could not keep (disk full), counted there as dropped. */
  onDropped: ((points: readonly Point[], events: readonly SecurityEvent[]) => void) | undefined;

  private readonly spool: Spool;
  private readonly opts: BatcherOptions;

  constructor(spool: Spool, opts: BatcherOptions) {
    this.spool = spool;
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.started = true;
    if (this.points.length || this.events.length) this.arm();
  }

  /**
   * Someone else will cut the batch soon (the agent, when a tick's gathers are done): do
   * not arm the flush timer until release().
   */
  hold(): void {
    this.held = true;
  }

  /** Back to the flush timer; armed now if points wait. */
  release(): void {
    this.held = false;
    if (this.points.length || this.events.length) this.arm();
  }

  private arm(): void {
    if (this.timer || !this.started || this.held) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /** An accumulator for one input: extra tags of that input, default time of the gather. */
  accumulator(inputName: string, extraTags?: Record<string, string>, timeOf?: () => number): Accumulator {
    return {
      addPoint: (name, tags, fields, opts?: PointOptions) => {
        const p: Point = { name, time: Math.round(opts?.time ?? timeOf?.() ?? this.now()), tags: extraTags ? { ...tags, ...extraTags } : tags, fields };
        // The input's own list when it holds only fields of this point (nothing changes a
        // point's lists once it is pushed), else a filtered copy.
        if (opts?.int?.length) p.int = allIn(opts.int, fields) ? (opts.int as string[]) : opts.int.filter((k) => k in fields);
        this.push(p, undefined);
      },
      addEvent: (e) => {
        const ev: SecurityEvent = {
          time: Math.round(e.time ?? this.now()),
          detector: e.detector ?? inputName,
          type: e.type,
          severity: e.severity,
          message: e.message,
          evidence: e.evidence ?? {},
          count: e.count ?? 1,
          ...(e.mitre ? { mitre: e.mitre } : {}),
        };
        this.push(undefined, ev);
      },
      backlogged: () => this.spool.stats().bytes >= (this.opts.backlogBytes ?? Infinity),
    };
  }

  /** Points and events that arrived after stop() (a gather that outlived the agent's
   *  stop): the spool is closing, so they are not kept; counted here for the stop log. */
  lateAfterStop = 0;
  /** Points with no field JSON can carry (every value NaN or ±Infinity): not sent, counted (`valueless_points`). */
  valueless = 0;
  private stopped = false;

  private push(p: Point | undefined, e: SecurityEvent | undefined): void {
    if (this.stopped) {
      this.lateAfterStop++;
      return;
    }
    // Each point is serialised once, here: the text both sizes the batch (so it stays
    // below the collector's frame limit) and becomes part of the frame at flush.
    const limit = this.opts.maxMessageBytes * 0.9;
    if (p) {
      let n = this.rows.add(p);
      if (n === 0) {
        this.valueless++; // no field with a value JSON can carry (all NaN): nothing to send
        return;
      }
      if (this.bytes + n > limit && this.points.length + this.events.length > 0) {
        this.rows.undo();
        this.flush();
        n = this.rows.add(p);
      }
      this.points.push(p);
      this.bytes += n;
    }
    if (e) {
      const json = JSON.stringify(e);
      if (this.bytes + json.length + 1 > limit) this.flush();
      this.events.push(e);
      this.eventsJson.push(json);
      this.bytes += json.length + 1;
    }
    this.arm();
    if (this.points.length + this.events.length >= this.opts.batchSize) this.flush();
    // A security event should not wait for the next flush: someone may have to act on
    // it. Events from one burst of log lines still travel in one batch.
    else if (e && !this.eventFlush) {
      this.eventFlush = setImmediate(() => {
        this.eventFlush = undefined;
        this.flush();
      });
    }
  }

  /** Cut a batch now (also at stop, so nothing measured stays in memory). */
  flush(): void {
    if (!this.points.length && !this.events.length) return;
    const points = this.points;
    const events = this.events;
    const rowsJson = this.rows.json();
    const eventsJson = this.eventsJson.join(',');
    this.points = [];
    this.events = [];
    this.rows = new RowsWriter();
    this.eventsJson = [];
    this.bytes = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const seq = this.spool.append((seq) => ({
      frame: `{"type":"batch","seq":${seq},${rowsJson},"events":[${eventsJson}]}`,
      points: points.length,
      events: events.length,
    }));
    // Not kept (the disk is full): the spool counted it as dropped; nothing to send.
    if (seq === undefined) {
      this.onDropped?.(points, events);
      return;
    }
    this.onSpooled?.(seq, points, events);
    this.onBatch();
  }

  stop(): void {
    this.stopped = true;
    if (this.eventFlush) clearImmediate(this.eventFlush);
    this.eventFlush = undefined;
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }
}

// Runs each polled input on its own interval, aligned to the interval's boundaries when
// round_interval is on (so every host samples at :00, :10, :20). A slow gather never
// overlaps itself: the next tick is skipped and counted instead. Aligned jobs of one
// interval share one timer and start together in its callback: one timer and one pass
// through Node's timer list per tick instead of one per input (the agent's defaults are
// seven jobs on one interval, each otherwise a timer callback of its own).
// Timers run on the monotonic clock; the wall clock only says where the next aligned tick
// is and stamps it. A wall clock that steps back never holds a tick until it catches up
// (docs/delivery.md, clock steps): the next tick is aligned on the clock as it is now.
// Two gathers of one input never carry one time (their points would share measurement,
// tags and time, and InfluxDB would keep one of them, silently): a gather that would be
// stamped at or less than one interval before the previous one (a timer seen early by the
// wall clock, a wall clock stepping back by less than an interval, an input added at the
// very millisecond of its interval's pending tick) is stamped 1 ms after it instead.
import type { Logger } from 'pino';
import { systemClock, type Clock } from '@canh/core';

export interface Job {
  name: string;
  intervalMs: number;
  run(scheduledAt: number): Promise<void>;
}

interface Group {
  intervalMs: number;
  jobs: Map<string, Job>;
  timer: NodeJS.Timeout | undefined;
  /** The last tick scheduled, so one tick never fires twice. */
  last: number;
}

/** How far before its tick a timer may fire, as seen by the wall clock; more is a step back. */
function earlySlack(intervalMs: number): number {
  return Math.min(1000, intervalMs / 2);
}

export class Scheduler {
  private timers = new Map<string, NodeJS.Timeout>();
  /** round_interval: aligned jobs by interval. */
  private groups = new Map<number, Group>();
  private running = new Set<string>();
  private stopped = false;
  skipped = 0;
  /** Gathers stamped 1 ms after their input's previous one instead of at or before it. */
  restamped = 0;
  /** Each job's last gather time. */
  private lastAt = new Map<string, number>();
  /** Called (at most once per event-loop turn) when a gather ends and none is running. */
  onIdle: () => void = () => {};
  /** Called when a gather starts and none was running: a tick begins. */
  onBusy: () => void = () => {};
  /** Called at the end of the turn a tick began in when some of its gathers still run. */
  onStillBusy: () => void = () => {};
  private idleSoon: NodeJS.Immediate | undefined;

  private readonly log: Logger;
  private readonly roundInterval: boolean;
  private readonly now: () => number;
  private readonly clock: Clock;

  constructor(log: Logger, roundInterval: boolean, clock: Clock = systemClock) {
    this.log = log;
    this.roundInterval = roundInterval;
    this.clock = clock;
    this.now = () => clock.wall();
  }

  private nextKey = 0;
  private removed = new Set<string>();

  /** Schedule a job; returns a key for remove(). */
  add(job: Job): string {
    const key = `${job.name}#${this.nextKey++}`;
    // First gather right away, so `canh-agent` shows data within one flush, unless the
    // first aligned tick is so close that the two would overlap.
    const now = this.now();
    const g0 = this.roundInterval ? this.groups.get(job.intervalMs) : undefined;
    // An interval already running has its next tick set (it may be due this very millisecond).
    const tick = g0 ? g0.last : Math.ceil((now + 1) / job.intervalMs) * job.intervalMs;
    const untilTick = this.roundInterval ? tick - now : job.intervalMs;
    if (untilTick > job.intervalMs / 2) void this.fire(key, job, now);
    if (this.roundInterval) {
      let g = g0;
      if (!g) {
        g = { intervalMs: job.intervalMs, jobs: new Map(), timer: undefined, last: Number.NEGATIVE_INFINITY };
        this.groups.set(job.intervalMs, g);
        this.scheduleGroup(g);
      }
      g.jobs.set(key, job);
      return key;
    }
    // Not aligned: each job on its own timer, an interval (of the monotonic clock) after its
    // last tick, stamped with the wall clock when it fires.
    let last = this.clock.mono();
    const schedule = () => {
      if (this.stopped || this.removed.has(key)) return;
      const next = Math.max(this.clock.mono(), last) + job.intervalMs;
      last = next;
      const t = setTimeout(
        () => {
          schedule();
          void this.fire(key, job, this.now());
        },
        Math.max(0, next - this.clock.mono()),
      );
      this.timers.set(key, t);
    };
    schedule();
    return key;
  }

  private scheduleGroup(g: Group): void {
    if (this.stopped) return;
    // Timers run on the monotonic clock and may fire a millisecond before the wall clock
    // reaches the tick; computing from `last` keeps one tick from firing twice with the
    // same timestamp (two points InfluxDB would store as one). But only that little: a wall
    // clock further behind `last` has stepped back, and waiting for it to reach `last`
    // again stopped every input for the length of the step.
    const wall = this.now();
    const now = g.last > wall && g.last - wall <= earlySlack(g.intervalMs) ? g.last : wall;
    const next = Math.ceil((now + 1) / g.intervalMs) * g.intervalMs;
    g.last = next;
    g.timer = setTimeout(
      () => {
        this.scheduleGroup(g);
        // forEach: a for-of over the map makes an [key, job] array per job.
        g.jobs.forEach((job, key) => void this.fire(key, job, next));
      },
      Math.max(0, next - this.now()),
    );
  }

  /** Stop scheduling a job (a gather in progress finishes). */
  remove(key: string): void {
    for (const [interval, g] of this.groups) {
      if (!g.jobs.delete(key) || g.jobs.size > 0) continue;
      if (g.timer) clearTimeout(g.timer);
      this.groups.delete(interval);
    }
    this.removed.add(key);
    this.lastAt.delete(key);
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  private async fire(key: string, job: Job, at: number): Promise<void> {
    if (this.running.has(key)) {
      this.skipped++;
      this.log.warn({ input: job.name }, 'previous gather still running; skipping this interval');
      return;
    }
    if (this.running.size === 0) {
      this.onBusy();
      this.checkSoon();
    }
    this.running.add(key);
    const last = this.lastAt.get(key);
    // Further back than an interval, the wall clock stepped back: its time, as documented.
    if (last !== undefined && at <= last && last - at < job.intervalMs) {
      at = last + 1;
      // Logged the first time only (nothing is lost; `restamped` counts them all).
      if (this.restamped++ === 0)
        this.log.info({ input: job.name, at }, "a gather would have carried its input's previous time; stamped 1 ms after it instead");
    }
    if (!this.removed.has(key)) this.lastAt.set(key, at);
    try {
      await job.run(at);
    } catch (err) {
      // Inputs report failed checks as data; a throw here is a bug in the input.
      this.log.error({ err, input: job.name }, 'gather failed');
    } finally {
      this.running.delete(key);
      if (this.running.size === 0) this.checkSoon();
    }
  }

  /**
   * Gathers of one tick start in the same turn of the event loop; the check phase of that
   * turn (or of the one where the last of them ends) sees them all done, or some still
   * running (a slow HTTP check, say).
   */
  private checkSoon(): void {
    if (this.idleSoon) return;
    this.idleSoon = setImmediate(() => {
      this.idleSoon = undefined;
      if (this.stopped) return;
      if (this.running.size === 0) this.onIdle();
      else this.onStillBusy();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.idleSoon) clearImmediate(this.idleSoon);
    this.idleSoon = undefined;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const g of this.groups.values()) if (g.timer) clearTimeout(g.timer);
    this.groups.clear();
  }
}

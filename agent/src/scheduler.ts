// Runs each polled input on its own interval, aligned to the interval's boundaries when
// round_interval is on (so every host samples at :00, :10, :20). A slow gather never
// overlaps itself: the next tick is skipped and counted instead.
import type { Logger } from 'pino';

export interface Job {
  name: string;
  intervalMs: number;
  run(scheduledAt: number): Promise<void>;
}

export class Scheduler {
  private timers = new Map<string, NodeJS.Timeout>();
  private running = new Set<string>();
  private stopped = false;
  skipped = 0;
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

  constructor(log: Logger, roundInterval: boolean, now: () => number = Date.now) {
    this.log = log;
    this.roundInterval = roundInterval;
    this.now = now;
  }

  private nextKey = 0;
  private removed = new Set<string>();

  /** Schedule a job; returns a key for remove(). */
  add(job: Job): string {
    const key = `${job.name}#${this.nextKey++}`;
    let last = Number.NEGATIVE_INFINITY;
    const schedule = () => {
      if (this.stopped || this.removed.has(key)) return;
      // Timers run on the monotonic clock and may fire a millisecond before the wall
      // clock reaches `next`; computing from `last` keeps one tick from firing twice
      // with the same timestamp (two points InfluxDB would store as one).
      const now = Math.max(this.now(), last);
      const next = this.roundInterval ? Math.ceil((now + 1) / job.intervalMs) * job.intervalMs : now + job.intervalMs;
      last = next;
      const t = setTimeout(() => {
        schedule();
        void this.fire(key, job, next);
      }, Math.max(0, next - this.now()));
      this.timers.set(key, t);
    };
    // First gather right away, so `canh-agent` shows data within one flush, unless the
    // first aligned tick is so close that the two would overlap.
    const now = this.now();
    const untilTick = this.roundInterval ? Math.ceil((now + 1) / job.intervalMs) * job.intervalMs - now : job.intervalMs;
    if (untilTick > job.intervalMs / 2) void this.fire(key, job, now);
    schedule();
    return key;
  }

  /** Stop scheduling a job (a gather in progress finishes). */
  remove(key: string): void {
    this.removed.add(key);
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
  }
}

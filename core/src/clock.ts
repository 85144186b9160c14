// The two clocks both processes read: the wall clock, which stamps points and can step either
// way (NTP correcting a hardware clock kept in local time, an operator's `date -s`), and
// the monotonic clock, which only moves forward and measures intervals. A step is seen as
// a change of the difference between the two.

export interface Clock {
  /** Wall-clock time, ms since the epoch: for timestamps only. */
  wall(): number;
  /** Monotonic time, ms from an arbitrary origin: for intervals. */
  mono(): number;
}

export const systemClock: Clock = { wall: () => Date.now(), mono: () => performance.now() };

/** A step smaller than this is NTP-sized noise (or a slow event loop), not worth an event. */
export const CLOCK_STEP_THRESHOLD_MS = 30_000;

/**
 * Watches the wall clock against the monotonic one. Each check compares with the last,
 * so slow drift (NTP slewing, ≤ 0.5 ms/s) never adds up to a step.
 */
export class ClockWatch {
  /** Steps larger than the threshold since start. */
  steps = 0;
  /** The last such step, ms: negative when the wall clock went back. */
  lastStepMs = 0;
  private offset: number;
  private readonly clock: Clock;
  private readonly thresholdMs: number;

  constructor(clock: Clock = systemClock, thresholdMs = CLOCK_STEP_THRESHOLD_MS) {
    this.clock = clock;
    this.thresholdMs = thresholdMs;
    this.offset = clock.wall() - clock.mono();
  }

  /** The step since the last check when it exceeds the threshold (signed ms), else undefined. */
  check(): number | undefined {
    const offset = this.clock.wall() - this.clock.mono();
    const step = offset - this.offset;
    this.offset = offset;
    if (Math.abs(step) <= this.thresholdMs) return undefined;
    this.steps++;
    this.lastStepMs = Math.round(step);
    return this.lastStepMs;
  }
}

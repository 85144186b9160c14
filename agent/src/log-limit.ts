// Rate limit for log lines a peer can cause at will (a malformed frame per frame): the
// first is logged, then at most one per window, each saying how many were left out since
// the last. A collector sending garbage must not fill the disk with the agent's log.

export class LogLimiter {
  /** Occurrences not logged since the last logged one. */
  private suppressed = 0;
  private lastAt = Number.NEGATIVE_INFINITY;
  private readonly windowMs: number;
  private readonly mono: () => number;

  constructor(windowMs = 60_000, mono: () => number = () => performance.now()) {
    this.windowMs = windowMs;
    this.mono = mono;
  }

  /** Whether this occurrence is to be logged, and how many were left out before it. */
  take(): { log: boolean; suppressed: number } {
    const now = this.mono();
    if (now - this.lastAt < this.windowMs) {
      this.suppressed++;
      return { log: false, suppressed: this.suppressed };
    }
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.lastAt = now;
    return { log: true, suppressed };
  }
}

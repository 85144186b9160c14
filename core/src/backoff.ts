// Exponential backoff with full jitter and a cap, so thousands of agents that lost the
// collector at the same moment do not all come back at the same moment.
export class Backoff {
  private attempt = 0;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(minMs: number, maxMs: number, random: () => number = Math.random) {
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.random = random;
  }

  next(): number {
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    // Never less than half the minimum, so a flapping link does not turn into a busy loop.
    return Math.max(this.minMs / 2, Math.round(this.random() * ceiling));
  }

  reset(): void {
    this.attempt = 0;
  }
}

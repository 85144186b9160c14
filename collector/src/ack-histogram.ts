// The collector's own view of ack latency: from the moment a batch's last byte was read
// (its `message` event) to the moment its ack is written, in fixed buckets counted since
// start. bench:connections reads it from /healthz at the start and end of a phase and
// takes the difference, so the collector's share of the agents' ack latency can be told
// from the load generators' (their event-loop lag adds to what they measure, not to this).
/** Upper bounds of the buckets, ms; a last, unbounded bucket follows. */
export const ACK_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000] as const;

export interface AckHistogramSnapshot {
  /** Upper bound (ms) of each bucket but the last, which is unbounded. */
  le_ms: readonly number[];
  /** Batches per bucket since start (length le_ms.length + 1). */
  counts: number[];
  count: number;
  sum_ms: number;
}

export class AckHistogram {
  private readonly counts = new Array<number>(ACK_BUCKETS_MS.length + 1).fill(0);
  private count = 0;
  private sumMs = 0;

  record(ms: number): void {
    let i = 0;
    while (i < ACK_BUCKETS_MS.length && ms > ACK_BUCKETS_MS[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sumMs += ms;
  }

  snapshot(): AckHistogramSnapshot {
    return { le_ms: ACK_BUCKETS_MS, counts: [...this.counts], count: this.count, sum_ms: Math.round(this.sumMs) };
  }
}

/**
 * The p-th percentile (0–100) of the batches between two snapshots, as the upper bound of
 * the bucket it falls in (Infinity for the last bucket); undefined when none were acked.
 */
export function percentileBetween(before: AckHistogramSnapshot | undefined, after: AckHistogramSnapshot, p: number): number | undefined {
  const counts = after.counts.map((c, i) => c - (before?.counts[i] ?? 0));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return undefined;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return after.le_ms[i] ?? Infinity;
  }
  return Infinity;
}

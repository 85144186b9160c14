// Rates from monotonically increasing counters. Counters wrap (32-bit SNMP counters
// every few minutes on a busy gigabit link) and reset (reboot, driver reload); neither
// may ever produce a negative or absurd rate.

export type CounterWidth = 32 | 64;

/**
 * Increase of a counter between two samples, or undefined when it cannot be known
 * (the counter reset). A decrease is read as a wrap only for 32-bit counters and only
 * when the wrapped delta is plausible (under half the counter's range); otherwise it is
 * a reset and the sample is skipped.
 */
export function counterDelta(prev: number, cur: number, width: CounterWidth): number | undefined {
  if (!Number.isFinite(prev) || !Number.isFinite(cur) || prev < 0 || cur < 0) return undefined;
  if (cur >= prev) return cur - prev;
  if (width === 32) {
    const wrapped = 2 ** 32 - prev + cur;
    if (wrapped < 2 ** 31) return wrapped;
  }
  return undefined;
}

/** Per-second rate, or undefined (reset, or no time elapsed). */
export function counterRate(prev: number, cur: number, elapsedMs: number, width: CounterWidth = 64): number | undefined {
  if (!(elapsedMs > 0)) return undefined;
  const d = counterDelta(prev, cur, width);
  return d === undefined ? undefined : (d * 1000) / elapsedMs;
}

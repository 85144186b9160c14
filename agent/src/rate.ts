// Rates from monotonically increasing counters. Counters wrap (32-bit SNMP counters
// every few minutes on a busy gigabit link) and reset (reboot, driver reload); neither
// may ever produce a negative or absurd rate.

export type CounterWidth = 32 | 64;

const RANGE_32 = 2 ** 32;
const RANGE_32N = 2n ** 32n;

/**
 * Increase of a counter between two samples, or undefined when it cannot be known
 * (the counter reset). A decrease is read as a wrap only for 32-bit counters, only when
 * both samples fit in 32 bits, and only when the wrapped delta is plausible (under half
 * the counter's range); otherwise it is a reset and the sample is skipped. Numbers for
 * counters read from /proc; bigints where 64-bit counters pass 2^53 (SNMP octets), so
 * the delta is exact and only it becomes a number.
 */
export function counterDelta(prev: number, cur: number, width: CounterWidth): number | undefined;
export function counterDelta(prev: bigint, cur: bigint, width: CounterWidth): bigint | undefined;
export function counterDelta(prev: number | bigint, cur: number | bigint, width: CounterWidth): number | bigint | undefined {
  if (typeof prev === 'bigint' || typeof cur === 'bigint') {
    const p = BigInt(prev);
    const c = BigInt(cur);
    if (p < 0n || c < 0n) return undefined;
    if (c >= p) return c - p;
    if (width === 32 && p < RANGE_32N && c < RANGE_32N) {
      const wrapped = RANGE_32N - p + c;
      if (wrapped < RANGE_32N / 2n) return wrapped;
    }
    return undefined;
  }
  if (!Number.isFinite(prev) || !Number.isFinite(cur) || prev < 0 || cur < 0) return undefined;
  if (cur >= prev) return cur - prev;
  if (width === 32 && prev < RANGE_32 && cur < RANGE_32) {
    const wrapped = RANGE_32 - prev + cur;
    if (wrapped < RANGE_32 / 2) return wrapped;
  }
  return undefined;
}

/** Per-second rate, or undefined (reset, or no time elapsed). */
export function counterRate(prev: number, cur: number, elapsedMs: number, width: CounterWidth = 64): number | undefined {
  if (!(elapsedMs > 0)) return undefined;
  const d = counterDelta(prev, cur, width);
  return d === undefined ? undefined : (d * 1000) / elapsedMs;
}

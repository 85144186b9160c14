import { describe, expect, it } from 'vitest';
import { counterDelta, counterRate } from './rate.ts';

describe('counter rates', () => {
  it('plain increase', () => {
    expect(counterRate(1000, 3000, 2000)).toBe(1000);
  });
  it('32-bit wrap gives the true delta', () => {
    expect(counterDelta(2 ** 32 - 100, 50, 32)).toBe(150);
    expect(counterRate(2 ** 32 - 1000, 1000, 1000, 32)).toBe(2000);
  });
  it('a drop too large to be a wrap is a reset: no rate', () => {
    expect(counterDelta(1_000_000, 5, 32)).toBeUndefined();
  });
  it('64-bit counters that go back are a reset (a wrap would take centuries)', () => {
    expect(counterDelta(10_000, 5, 64)).toBeUndefined();
  });
  it('never negative, never on zero or negative elapsed time', () => {
    expect(counterRate(5, 10, 0)).toBeUndefined();
    expect(counterRate(5, 10, -1000)).toBeUndefined();
    expect(counterRate(Number.NaN, 10, 1000)).toBeUndefined();
    expect(counterRate(-1, 10, 1000)).toBeUndefined();
  });
  it('a "32-bit" counter above 2^32 that goes back is a reset, not a negative wrap', () => {
    expect(counterDelta(5_000_000_000, 1, 32)).toBeUndefined();
    expect(counterDelta(5_000_000_000n, 1n, 32)).toBeUndefined();
  });
  it('bigints (64-bit SNMP octets past 2^53) give the same answers, exactly', () => {
    expect(counterDelta(2n ** 60n, 2n ** 60n + 3n, 64)).toBe(3n);
    expect(counterDelta(2n ** 32n - 1000n, 1000n, 32)).toBe(2000n);
    expect(counterDelta(1_000_000n, 5n, 32)).toBeUndefined();
    expect(counterDelta(10_000n, 5n, 64)).toBeUndefined();
    expect(counterDelta(-1n, 5n, 64)).toBeUndefined();
  });
});

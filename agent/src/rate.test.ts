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
});

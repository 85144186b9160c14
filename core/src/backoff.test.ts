import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';

describe('backoff', () => {
  it('grows exponentially to the cap, with full jitter', () => {
    const b = new Backoff(1000, 30_000, () => 1);
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000, 8000, 16000, 30000]);
    b.reset();
    expect(b.next()).toBe(1000);
  });
  it('never below half the minimum', () => {
    const b = new Backoff(1000, 30_000, () => 0);
    expect(b.next()).toBe(500);
  });
  it('spreads agents out', () => {
    const values = new Set(Array.from({ length: 50 }, () => new Backoff(1000, 60_000).next()));
    expect(values.size).toBeGreaterThan(10);
  });
});

import { describe, expect, it } from 'vitest';
import { AckHistogram, percentileBetween } from './ack-histogram.ts';

describe('ack histogram', () => {
  it('counts each latency in the first bucket that holds it, the last bucket unbounded', () => {
    const h = new AckHistogram();
    for (const ms of [0.3, 1, 1.5, 7, 900, 45_000]) h.record(ms);
    const s = h.snapshot();
    expect(s.count).toBe(6);
    expect(s.counts[0]).toBe(2); // ≤ 1 ms
    expect(s.counts[1]).toBe(1); // ≤ 2 ms
    expect(s.counts[3]).toBe(1); // ≤ 10 ms
    expect(s.counts[9]).toBe(1); // ≤ 1000 ms
    expect(s.counts[s.counts.length - 1]).toBe(1);
  });
  it('gives percentiles of what happened between two snapshots only', () => {
    const h = new AckHistogram();
    for (let i = 0; i < 100; i++) h.record(3000); // an earlier phase, slow
    const before = h.snapshot();
    for (let i = 0; i < 99; i++) h.record(4);
    h.record(150);
    const after = h.snapshot();
    expect(percentileBetween(before, after, 50)).toBe(5);
    expect(percentileBetween(before, after, 99)).toBe(5);
    expect(percentileBetween(before, after, 100)).toBe(200);
    expect(percentileBetween(undefined, after, 50)).toBe(200);
    expect(percentileBetween(undefined, after, 99)).toBe(5000);
    expect(percentileBetween(after, after, 99)).toBeUndefined();
  });
});

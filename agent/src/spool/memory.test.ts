import { describe, expect, it } from 'vitest';
import { MemorySpool } from './memory.ts';

const rec =
  (points: number, size = 100) =>
  () => ({ frame: 'x'.repeat(size), points, events: 0 });

describe('memory spool', () => {
  it('keeps batches in order until acked', () => {
    const s = new MemorySpool({ maxBytes: 10_000 });
    expect([s.append(rec(1)), s.append(rec(2)), s.append(rec(3))]).toEqual([1, 2, 3]);
    expect(s.after(1, 10).map((r) => r.seq)).toEqual([2, 3]);
    expect(s.ack(2)).toBe(true);
    expect(s.ack(2)).toBe(false);
    expect(s.after(0, 10).map((r) => r.seq)).toEqual([1, 3]);
    expect(s.first()).toBe(1);
    expect(s.stats()).toMatchObject({ batches: 2, bytes: 200, droppedPoints: 0 });
  });
  it('drops the oldest when full and counts what it dropped', () => {
    const s = new MemorySpool({ maxBytes: 250 });
    s.append(rec(10));
    s.append(rec(20));
    s.append(rec(30));
    expect(s.after(0, 10).map((r) => r.seq)).toEqual([2, 3]);
    expect(s.stats()).toMatchObject({ batches: 2, bytes: 200, droppedPoints: 10 });
  });
});

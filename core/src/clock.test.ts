import { describe, expect, it } from 'vitest';
import { ClockWatch } from './clock.ts';

describe('ClockWatch', () => {
  it('reports steps of the wall clock against the monotonic one, either way, and not drift', () => {
    let wall = 1_800_000_000_000;
    let mono = 5_000;
    const w = new ClockWatch({ wall: () => wall, mono: () => mono });
    const advance = (ms: number, step = 0) => {
      wall += ms + step;
      mono += ms;
      return w.check();
    };
    expect(advance(10_000)).toBeUndefined();
    expect(advance(10_000, -7 * 3600_000)).toBe(-7 * 3600_000);
    expect(advance(10_000, 5_000)).toBeUndefined(); // small: NTP-sized
    expect(advance(10_000, -90_000)).toBe(-90_000);
    expect(advance(10_000, 3600_000)).toBe(3600_000);
    // 20 s of drift, 1 s at a time, is never a step.
    for (let i = 0; i < 20; i++) expect(advance(10_000, 1000)).toBeUndefined();
    expect(w.steps).toBe(3);
    expect(w.lastStepMs).toBe(3600_000);
  });
});

// swap (page files) on Windows, from composed typeperf output (perf-counters/testdata/README.md).
import { describe, expect, it } from 'vitest';
import swap from './index.ts';
import { recorder } from '../testing.ts';
import { replay } from '../perf-counters/testing.ts';

describe('swap on Windows', () => {
  it('sizes the page files as the commit limit less physical memory, and uses % Usage; in and out absent', async () => {
    const r = replay('composed-server-en.csv', { totalMemory: 16e9 });
    const input = swap.create({}, r.ctx);
    await r.started;
    r.feed(1);
    const acc = recorder();
    await input.gather!(acc);
    const f = acc.points[0]!.fields;
    expect(f).toEqual({ total: 4.5e9, used: Math.round(4.5e9 * 0.075), free: 4.5e9 - Math.round(4.5e9 * 0.075), used_percent: 7.5, peak_used_percent: 9.25 });
    r.src.stop();
  });
});

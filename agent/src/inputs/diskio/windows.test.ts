// diskio on Windows, from composed typeperf output (perf-counters/testdata/README.md).
import { describe, expect, it } from 'vitest';
import diskio from './index.ts';
import { recorder } from '../testing.ts';
import { replay } from '../perf-counters/testing.ts';

describe('diskio on Windows', () => {
  it('sums reads, writes, bytes and busy time per physical disk from the rates, as /proc/diskstats counts them', async () => {
    const r = replay('composed-server-en.csv');
    const input = diskio.create(diskio.config.parse({}), r.ctx);
    await r.started;
    r.feed(1);
    const acc = recorder();
    await input.gather!(acc);
    expect(acc.points.map((p) => p.tags.name)).toEqual(['0 C:', '1 D:']);
    const c = acc.points[0]!.fields as Record<string, number>;
    // One 10-second row at 97.5 % idle: 250 ms busy; queue 0.05 → 500 ms weighted.
    expect(c.io_time).toBe(250);
    expect(c.weighted_io_time).toBe(500);
    expect(c.iops_in_progress).toBe(1);
    expect(c.reads).toBeGreaterThanOrEqual(50);
    expect(c.reads).toBeLessThanOrEqual(60);
    expect(c.read_time).toBe(Math.round(c.reads! * 2)); // 2 ms a read
    expect(c).not.toHaveProperty('merged_reads');
    r.feed(1);
    acc.points.length = 0;
    await input.gather!(acc);
    const again = acc.points[0]!.fields as Record<string, number>;
    expect(again.io_time).toBeGreaterThan(450);
    expect(again.reads).toBeGreaterThan(c.reads!);
    r.src.stop();
  });
});

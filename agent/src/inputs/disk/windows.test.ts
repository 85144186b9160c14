// disk on Windows, from composed typeperf output (perf-counters/testdata/README.md).
import { describe, expect, it } from 'vitest';
import disk from './index.ts';
import { recorder } from '../testing.ts';
import { replay } from '../perf-counters/testing.ts';
import { windowsDiskFields } from './windows.ts';
import type { Sample } from '../perf-counters/source.ts';

describe('disk on Windows', () => {
  it('reports each drive letter with size, free, used and used_percent; volumes without a letter and _Total left out', async () => {
    const r = replay('composed-server-en.csv');
    const input = disk.create(disk.config.parse({}), r.ctx);
    await r.started;
    r.feed(1);
    const acc = recorder();
    await input.gather!(acc);
    expect(acc.points.map((p) => p.tags)).toEqual([
      { path: 'C:', device: 'C:' },
      { path: 'D:', device: 'D:' },
    ]);
    const c = acc.points[0]!.fields as Record<string, number>;
    // 28011 MB free is 23.456789 % of 119415 MB.
    expect(c.free).toBe(28011 * 2 ** 20);
    expect(c.total).toBe(119415 * 2 ** 20);
    expect(c.used).toBe((119415 - 28011) * 2 ** 20);
    expect(c.used_percent).toBeCloseTo(76.543211, 6);
    for (const k of ['inodes_total', 'inodes_free', 'inodes_used']) expect(c).not.toHaveProperty(k);
    r.src.stop();
  });

  it('keeps the size learnt earlier once a volume is nearly full', () => {
    const sample = (share: number, free: number): Sample => ({
      seq: 1,
      time: undefined,
      dt: 10,
      values: new Map([
        ['LogicalDisk\u0000C:\u0000% Free Space', share],
        ['LogicalDisk\u0000C:\u0000Free Megabytes', free],
      ]),
      instances: new Map([['LogicalDisk', ['C:']]]),
    });
    const sizes = new Map<string, number>();
    expect(windowsDiskFields(sample(10, 10_000), 'C:', sizes)!.total).toBe(100_000 * 2 ** 20);
    expect(windowsDiskFields(sample(0, 0), 'C:', sizes)).toEqual({ total: 100_000 * 2 ** 20, free: 0, used: 100_000 * 2 ** 20, used_percent: 100 });
    // Never seen with free space: no size to send, only how full it is.
    expect(windowsDiskFields(sample(0, 0), 'C:', new Map())).toEqual({ free: 0, used_percent: 100 });
  });
});

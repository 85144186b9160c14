// mem on Windows, from composed typeperf output (perf-counters/testdata/README.md).
import { describe, expect, it } from 'vitest';
import mem from './index.ts';
import { recorder } from '../testing.ts';
import { replay } from '../perf-counters/testing.ts';

describe('mem on Windows', () => {
  it('sends total, available, used and their shares, free, cached and the commit charge; no Linux-only fields', async () => {
    const r = replay('composed-server-en.csv', { totalMemory: 16e9 });
    const input = mem.create({}, r.ctx);
    await r.started;
    r.feed(1);
    const acc = recorder();
    await input.gather!(acc);
    const f = acc.points[0]!.fields;
    expect(f).toMatchObject({
      total: 16e9,
      available: 6.1e9,
      used: 9.9e9,
      free: 1.2e9,
      cached: 1.1e8 + 2e8 + 3.5e9 + 1e9,
      committed_as: 9.8e9,
      commit_limit: 2.05e10,
      pool_paged: 4.2e8,
    });
    expect(f.used_percent).toBeCloseTo(61.875, 6);
    expect(f.available_percent).toBeCloseTo(38.125, 6);
    for (const k of ['buffered', 'slab', 'dirty', 'shared', 'swap_cached', 'huge_pages_total']) expect(f).not.toHaveProperty(k);
    expect(acc.points[0]!.int).toContain('total');
    r.src.stop();
  });
});

import { describe, expect, it } from 'vitest';
import mem from './index.ts';
import { memFields } from './parse.ts';
import { parseMeminfo } from '../procfs.ts';
import { fakeContext, hostContext, recorder, testdata } from '../testing.ts';
import type { InputContext } from '../types.ts';

const LINUX_FIELDS = [
  'total',
  'available',
  'used',
  'free',
  'cached',
  'buffered',
  'active',
  'inactive',
  'slab',
  'sreclaimable',
  'sunreclaim',
  'shared',
  'dirty',
  'write_back',
  'write_back_tmp',
  'page_tables',
  'swap_cached',
  'swap_total',
  'swap_free',
  'commit_limit',
  'committed_as',
  'high_total',
  'high_free',
  'low_total',
  'low_free',
  'mapped',
  'vmalloc_total',
  'vmalloc_used',
  'vmalloc_chunk',
  'huge_pages_total',
  'huge_pages_free',
  'huge_page_size',
  'used_percent',
  'available_percent',
];

async function gather(ctx: InputContext) {
  const acc = recorder();
  await mem.create(mem.config.parse({}), ctx).gather!(acc);
  return acc.points;
}

describe('mem', () => {
  it('reports every Linux field of Telegraf, bytes as ints, percentages as floats (captured meminfo)', async () => {
    const [p] = await gather(fakeContext({ root: testdata('mem', 'host') }));
    expect(p!.name).toBe('mem');
    expect(p!.tags).toEqual({});
    expect(Object.keys(p!.fields).sort()).toEqual([...LINUX_FIELDS].sort());
    expect([...p!.int].sort()).toEqual(LINUX_FIELDS.filter((f) => !f.endsWith('_percent')).sort());
    const f = p!.fields as Record<string, number>;
    // Captured: MemTotal 24684092 kB, MemFree 24197220, MemAvailable 24269212, Buffers 5024,
    // Cached 249032, SReclaimable 68948.
    expect(f.total).toBe(24684092 * 1024);
    expect(f.cached).toBe((249032 + 68948) * 1024);
    expect(f.used).toBe((24684092 - 24197220 - 5024 - 249032 - 68948) * 1024);
    expect(f.available).toBe(24269212 * 1024);
    expect(f.used_percent).toBeCloseTo((100 * f.used!) / f.total!);
    expect(f.huge_page_size).toBe(2048 * 1024);
    expect(f.high_total).toBe(0); // absent on 64-bit kernels
  });

  it('keeps HugePages_* as counts, not kB', () => {
    const f = memFields(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nHugePages_Total:  16\nHugePages_Free: 4\n'))!;
    expect(f.huge_pages_total).toBe(16);
    expect(f.huge_pages_free).toBe(4);
  });

  it('estimates available as free + cache on kernels without MemAvailable', () => {
    const f = memFields(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\nSReclaimable: 50 kB\n'))!;
    expect(f.available).toBe((100 + 250) * 1024);
    expect(f.used).toBe((1000 - 100 - 10 - 250) * 1024);
  });

  it('never reports negative used memory (container meminfo that does not add up)', () => {
    const f = memFields(parseMeminfo('MemTotal: 1000 kB\nMemFree: 900 kB\nCached: 500 kB\n'))!;
    expect(f.used).toBe(0);
  });

  it('skips garbage lines; a file without MemTotal is a coded error, not a TypeError', async () => {
    expect(parseMeminfo('MemTotal: 8 kB\nfoo\n: 3 kB\nBar: x kB\nTrunc').get('MemTotal')).toBe(8192);
    expect([...parseMeminfo('MemTotal: 8 kB\nfoo\n: 3 kB\nBar: x kB\nBaz: 1.5 kB\nHugePages_Free:  4\nHuge: 99999999999999999999 kB\nTrunc')]).toEqual([
      ['MemTotal', 8192],
      ['HugePages_Free', 4],
    ]);
    await expect(gather(fakeContext({ files: { '/proc/meminfo': 'MemFree: 10 kB\n\0garbage' } }))).rejects.toMatchObject({
      code: 'CANH_ERR_INPUT_BAD_DATA',
    });
    await expect(gather(fakeContext())).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_UNREADABLE' });
  });

  it('reads this machine: total > 0 and the parts fit in it', async () => {
    const f = (await gather(hostContext()))[0]!.fields as Record<string, number>;
    expect(f.total).toBeGreaterThan(0);
    expect(f.available).toBeGreaterThan(0);
    expect(f.available).toBeLessThanOrEqual(f.total!);
    expect(f.used! + f.free!).toBeLessThanOrEqual(f.total!);
    expect(f.used_percent).toBeGreaterThan(0);
    expect(f.used_percent).toBeLessThan(100);
  });
});

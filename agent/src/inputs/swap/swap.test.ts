import { describe, expect, it } from 'vitest';
import swap from './index.ts';
import { pageSizeFrom, parseKeyValues, swapFields } from './parse.ts';
import { parseMeminfo } from '../procfs.ts';
import { fakeContext, hostContext, recorder, testdata } from '../testing.ts';
import type { InputContext } from '../types.ts';

async function gather(ctx: InputContext) {
  const acc = recorder();
  await swap.create(swap.config.parse({}), ctx).gather!(acc);
  return acc.points;
}

const WITH_SWAP = {
  '/proc/meminfo': 'MemTotal: 4000 kB\nSwapTotal: 2048 kB\nSwapFree: 1536 kB\n',
  '/proc/vmstat': 'nr_free_pages 12\npswpin 10\npswpout 20\n',
  '/proc/self/status': 'Name:\tnode\nVmSize:\t  1048576 kB\n',
  '/proc/self/statm': '262144 1000 500 1 0 100 0\n',
};

describe('swap', () => {
  it('reports a host without swap (captured) as zeros, not an error', async () => {
    const [p] = await gather(fakeContext({ root: testdata('swap', 'host') }));
    expect(p).toMatchObject({ name: 'swap', tags: {}, fields: { total: 0, used: 0, free: 0, used_percent: 0, in: 0, out: 0 } });
    expect([...p!.int].sort()).toEqual(['free', 'in', 'out', 'total', 'used']);
  });

  it('converts swapped pages to bytes with the page size of the running kernel', async () => {
    const [p] = await gather(fakeContext({ files: WITH_SWAP }));
    expect(p!.fields).toEqual({ total: 2048 * 1024, free: 1536 * 1024, used: 512 * 1024, used_percent: 25, in: 10 * 4096, out: 20 * 4096 });
    const [arm] = await gather(fakeContext({ files: { ...WITH_SWAP, '/proc/self/statm': '16384 10 5 1 0 1 0\n' } }));
    expect(arm!.fields.in).toBe(10 * 65536);
  });

  it('falls back to 4096 when the page size cannot be worked out', async () => {
    expect(pageSizeFrom('VmSize: 1 kB', '7 1 1')).toBeUndefined();
    expect(pageSizeFrom('VmSize: 100 kB', '0 1 1')).toBeUndefined();
    expect(pageSizeFrom('garbage', '')).toBeUndefined();
    const [p] = await gather(fakeContext({ files: { ...WITH_SWAP, '/proc/self/statm': 'x' } }));
    expect(p!.fields.out).toBe(20 * 4096);
  });

  it('leaves in/out out when vmstat lacks them, and errors clearly without SwapTotal', async () => {
    const f = swapFields(parseMeminfo('SwapTotal: 0 kB\nSwapFree: 0 kB'), parseKeyValues('garbage line here\npswpin\n'), 4096);
    expect(f).toEqual({ total: 0, used: 0, free: 0, used_percent: 0 });
    await expect(gather(fakeContext({ files: { ...WITH_SWAP, '/proc/meminfo': 'MemTotal: 1 kB\n' } }))).rejects.toMatchObject({
      code: 'CANH_ERR_INPUT_BAD_DATA',
    });
  });

  it('reads this machine: used + free = total', async () => {
    const f = (await gather(hostContext()))[0]!.fields as Record<string, number>;
    expect(f.used! + f.free!).toBe(f.total);
    expect(f.in).toBeGreaterThanOrEqual(0);
    expect(f.out).toBeGreaterThanOrEqual(0);
  });
});

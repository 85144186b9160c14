import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import kernel from './index.ts';
import { parseKernelStat } from './parse.ts';
import { fakeContext, hostContext, recorder, testdata, type FakeOptions } from '../testing.ts';

async function gather(opts: FakeOptions) {
  const acc = recorder();
  await kernel.create(kernel.config.parse({}), fakeContext(opts)).gather!(acc);
  return acc.points;
}

describe('kernel', () => {
  it('reports the captured counters as ints', async () => {
    const [p] = await gather({ root: testdata('kernel', 'host') });
    expect(p).toMatchObject({
      name: 'kernel',
      tags: {},
      fields: { boot_time: 1795809728, context_switches: 927752, interrupts: 369824, processes_forked: 7833, entropy_avail: 256 },
    });
    expect([...p!.int].sort()).toEqual(Object.keys(p!.fields).sort());
  });

  it('sends disk_pages_in/out from the page line of old kernels, and skips garbage', () => {
    expect(parseKernelStat('page 5 6\nctxt x\nbtime 12\nintr\n\0\0\n')).toEqual({ disk_pages_in: 5, disk_pages_out: 6, boot_time: 12 });
  });

  it('leaves entropy_avail out when it cannot be read, and errors clearly on a stat without counters', async () => {
    const [p] = await gather({ files: { '/proc/stat': 'btime 10\nctxt 20\n' } });
    expect(p!.fields).toEqual({ boot_time: 10, context_switches: 20 });
    await expect(gather({ files: { '/proc/stat': 'cpu 1 2 3 4\n' } })).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_BAD_DATA' });
    await expect(gather({})).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_UNREADABLE' });
  });

  it('reads this machine: booted in the past, counters running', async () => {
    const acc = recorder();
    await kernel.create(kernel.config.parse({}), hostContext()).gather!(acc);
    const f = acc.points[0]!.fields as Record<string, number>;
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    expect(Math.abs(f.boot_time! + uptime - Date.now() / 1000)).toBeLessThan(5);
    expect(f.context_switches).toBeGreaterThan(0);
    expect(f.interrupts).toBeGreaterThan(0);
    expect(f.processes_forked).toBeGreaterThan(0);
  });
});

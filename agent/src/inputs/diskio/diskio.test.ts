import { describe, expect, it } from 'vitest';
import diskio from './index.ts';
import { parseDiskstats } from './parse.ts';
import { fakeContext, hostContext, recorder, testdata, type FakeOptions } from '../testing.ts';

async function gather(opts: FakeOptions, config: Record<string, unknown> = {}) {
  const acc = recorder();
  await diskio.create(diskio.config.parse(config), fakeContext(opts)).gather!(acc);
  return acc.points;
}

const STATS = [
  '   8       0 sda 100 5 2000 30 200 10 4000 60 1 70 90 0 0 0 0',
  '   8       1 sda1 50 0 1000 10 100 0 2000 20 0 30 30',
  '   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0 0 0 0 0',
  '   1       0 ram0 0 0 0 0 0 0 0 0 0 0 0',
  ' 259       0 nvme0n1 1 2 3',
  '   8      16 sdb x y z 1 2 3 4 5 6 7 8',
].join('\n');

describe('diskio', () => {
  it('reports every device of the captured diskstats but loop and ram, with Telegraf fields as ints', async () => {
    const points = await gather({ root: testdata('diskio', 'host') });
    expect(points.map((p) => p.tags.name)).toEqual(['vda', 'zram0']);
    const vda = points[0]!;
    expect(vda.name).toBe('diskio');
    // Captured: 254 0 vda 40437 9470 2671994 10515 6404 23275 1483112 3905 0 3860 14909 7755 42 263744 467 628 20
    expect(vda.fields).toEqual({
      reads: 40437,
      merged_reads: 9470,
      read_bytes: 2671994 * 512,
      read_time: 10515,
      writes: 6404,
      merged_writes: 23275,
      write_bytes: 1483112 * 512,
      write_time: 3905,
      iops_in_progress: 0,
      io_time: 3860,
      weighted_io_time: 14909,
    });
    expect(Object.keys(vda.fields).sort()).toEqual([...vda.int].sort());
  });

  it('maps the columns, counting bytes in 512-byte sectors, and skips short or garbage lines', () => {
    const parsed = parseDiskstats(STATS);
    expect(parsed.map((d) => d.name)).toEqual(['sda', 'sda1', 'loop0', 'ram0']);
    expect(parsed[0]!.fields).toEqual({
      reads: 100,
      merged_reads: 5,
      read_bytes: 2000 * 512,
      read_time: 30,
      writes: 200,
      merged_writes: 10,
      write_bytes: 4000 * 512,
      write_time: 60,
      iops_in_progress: 1,
      io_time: 70,
      weighted_io_time: 90,
    });
  });

  it('filters by devices globs (explicit devices win over ignore_devices) and ignore_devices', async () => {
    const files = { '/proc/diskstats': STATS };
    expect((await gather({ files }, { devices: ['sd?', 'loop*'] })).map((p) => p.tags.name)).toEqual(['sda', 'loop0']);
    expect((await gather({ files }, { ignore_devices: ['sd*'] })).map((p) => p.tags.name)).toEqual(['loop0', 'ram0']);
    expect((await gather({ files })).map((p) => p.tags.name)).toEqual(['sda', 'sda1']);
  });

  it('says clearly when /proc/diskstats is missing', async () => {
    await expect(gather({})).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_UNREADABLE' });
  });

  it('reads this machine: every device reported has non-negative integer counters', async () => {
    const acc = recorder();
    await diskio.create(diskio.config.parse({}), hostContext()).gather!(acc);
    expect(acc.points.length).toBeGreaterThan(0);
    for (const p of acc.points) {
      expect(p.tags.name).not.toMatch(/^(loop|ram)/);
      for (const v of Object.values(p.fields)) expect(Number.isSafeInteger(v) && (v as number) >= 0).toBe(true);
    }
    expect(acc.points.some((p) => (p.fields.reads as number) > 0)).toBe(true);
  });
});

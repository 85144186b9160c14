import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import cpu from './index.ts';
import { parseCpuStat } from './parse.ts';
import { fakeContext, hostContext, recorder, testdata } from '../testing.ts';
import type { InputContext } from '../types.ts';

const USAGE = [
  'usage_user',
  'usage_system',
  'usage_idle',
  'usage_nice',
  'usage_iowait',
  'usage_irq',
  'usage_softirq',
  'usage_steal',
  'usage_guest',
  'usage_guest_nice',
];
const sum = (f: Record<string, unknown>) => USAGE.reduce((s, k) => s + (f[k] as number), 0);

function setup(opts: Record<string, unknown> = {}) {
  const files: Record<string, string> = {};
  const ctx = fakeContext({ files });
  const input = cpu.create(cpu.config.parse(opts), ctx);
  const gather = async (stat: string) => {
    files['/proc/stat'] = stat;
    const acc = recorder();
    await input.gather!(acc);
    return acc;
  };
  return { gather };
}

describe('cpu', () => {
  it('sends nothing on the first gather, then usage per CPU and in total from captured samples', async () => {
    const { gather } = setup();
    expect((await gather(readFileSync(testdata('cpu', 'host/1/proc/stat'), 'utf8'))).points).toEqual([]);
    const acc = await gather(readFileSync(testdata('cpu', 'host/2/proc/stat'), 'utf8'));
    expect(acc.points.map((p) => p.tags.cpu)).toEqual(['cpu-total', 'cpu0', 'cpu1']);
    for (const p of acc.points) {
      expect(p.name).toBe('cpu');
      expect(Object.keys(p.fields).sort()).toEqual([...USAGE].sort());
      expect(p.int).toEqual([]);
      expect(sum(p.fields)).toBeCloseTo(100, 6);
      for (const k of USAGE) expect(p.fields[k]).toBeGreaterThanOrEqual(0);
    }
  });

  it('computes percentages of the interval, with guest time taken out of user', async () => {
    const { gather } = setup({ percpu: false });
    await gather('cpu  100 10 100 800 0 0 0 0 50 5\n');
    const acc = await gather('cpu  250 20 200 1550 40 5 5 0 90 6\n');
    const f = acc.points[0]!.fields;
    // total delta = 150+10+100+750+40+5+5 = 1060
    expect(f.usage_user).toBeCloseTo((100 * (150 - 40)) / 1060);
    expect(f.usage_nice).toBeCloseTo((100 * (10 - 1)) / 1060);
    expect(f.usage_system).toBeCloseTo((100 * 100) / 1060);
    expect(f.usage_idle).toBeCloseTo((100 * 750) / 1060);
    expect(f.usage_guest).toBeCloseTo((100 * 40) / 1060);
    expect(sum(f)).toBeCloseTo(100);
  });

  it('skips a CPU whose counters went backwards (reset), and recovers on the next sample', async () => {
    const { gather } = setup({ percpu: false });
    await gather('cpu 1000 0 1000 8000 0 0 0 0 0 0\n');
    expect((await gather('cpu 10 0 10 80 0 0 0 0 0 0\n')).points).toEqual([]);
    const acc = await gather('cpu 20 0 20 160 0 0 0 0 0 0\n');
    expect(acc.points[0]!.fields.usage_idle).toBeCloseTo(80);
  });

  it('never sends a negative share when one column steps back (iowait on NO_HZ kernels)', async () => {
    const { gather } = setup({ percpu: false });
    await gather('cpu 100 0 100 800 50 0 0 0 0 0\n');
    const f = (await gather('cpu 200 0 200 1600 49 0 0 0 0 0\n')).points[0]!.fields;
    expect(f.usage_iowait).toBe(0);
    expect(sum(f)).toBeCloseTo(100);
  });

  it('sends time_* seconds from the first gather with collect_cpu_time, and *_active with report_active', async () => {
    const { gather } = setup({ collect_cpu_time: true, report_active: true, percpu: false });
    const first = (await gather('cpu 100 0 100 800 0 0 0 0 0 0\n')).points;
    expect(first).toHaveLength(1);
    expect(first[0]!.fields).toMatchObject({ time_user: 1, time_system: 1, time_idle: 8, time_active: 2 });
    const f = (await gather('cpu 200 0 100 900 0 0 0 0 0 0\n')).points[0]!.fields;
    expect(f.usage_active).toBeCloseTo(50);
    expect(f.time_user).toBe(2);
  });

  it('skips garbage and truncated lines, and accepts old kernels with fewer columns', () => {
    const parsed = parseCpuStat('cpu 1 2 3 4\ncpu0 a b c d\ncpux 1 2 3 4\ncpu1 5 6\ncpu2 1 2 3 4 5 6 7 8 9 10 11\nintr 5\n\n');
    expect(parsed.map((c) => c.cpu)).toEqual(['cpu-total', 'cpu2']);
    expect(parsed[0]).toMatchObject({ user: 1, nice: 2, system: 3, idle: 4, steal: 0, guest: 0 });
  });

  it('rejects a file without cpu lines, and a missing file, with a coded error', async () => {
    const { gather } = setup();
    await expect(gather('garbage\n\0\0\0')).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_BAD_DATA' });
    const input = cpu.create(cpu.config.parse({}), fakeContext());
    await expect(input.gather!(recorder())).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_UNREADABLE' });
  });

  it('reads this machine: usage adds up to 100 after two gathers', async () => {
    const ctx: InputContext = hostContext();
    const input = cpu.create(cpu.config.parse({}), ctx);
    await input.gather!(recorder());
    await sleep(300);
    const acc = recorder();
    await input.gather!(acc);
    const total = acc.find('cpu', { cpu: 'cpu-total' })[0];
    expect(total).toBeDefined();
    expect(sum(total!.fields)).toBeCloseTo(100, 3);
    expect(acc.points.length).toBe(1 + parseCpuStat(readFileSync('/proc/stat', 'utf8')).length - 1);
  });
});

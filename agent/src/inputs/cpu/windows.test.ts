// cpu on Windows, from captured typeperf output (perf-counters/testdata/README.md).
import { describe, expect, it } from 'vitest';
import cpu from './index.ts';
import { recorder } from '../testing.ts';
import { replay } from '../perf-counters/testing.ts';

describe('cpu on Windows', () => {
  it('sends Telegraf usage_* per CPU and in total from a captured "\\Processor(*)\\*" run', async () => {
    const r = replay('captured-processor-all-gs-1-win.csv');
    const input = cpu.create({ percpu: true, totalcpu: true, collect_cpu_time: false, report_active: true }, r.ctx);
    await r.started;
    const acc = recorder();
    await input.gather!(acc);
    expect(acc.points).toEqual([]); // nothing before typeperf's first row
    r.feed(2);
    await input.gather!(acc);
    expect(acc.points.map((p) => p.tags.cpu)).toEqual(['cpu0', 'cpu1', 'cpu-total']);
    // The newest row, 18:20:52.733: _Total 0.078556 % busy, user 0, privileged 0.078003 of which DPC 0.078003.
    const total = acc.find('cpu', { cpu: 'cpu-total' })[0]!.fields;
    expect(total.usage_idle).toBeCloseTo(99.921444, 6);
    expect(total.usage_active).toBeCloseTo(0.078556, 6);
    expect(total.usage_user).toBe(0);
    expect(total.usage_softirq).toBeCloseTo(0.078003, 6);
    expect(total.usage_system).toBe(0);
    // No Windows meaning: absent, not zero.
    for (const f of ['usage_iowait', 'usage_steal', 'usage_nice', 'usage_guest', 'usage_guest_nice']) expect(total).not.toHaveProperty(f);
    r.src.stop();
  });

  it('splits privileged time into system, irq and softirq so the parts add up to the busy share', async () => {
    const r = replay('composed-server-en.csv');
    const input = cpu.create({ percpu: false, totalcpu: true, collect_cpu_time: false, report_active: false }, r.ctx);
    await r.started;
    r.feed(1);
    const acc = recorder();
    await input.gather!(acc);
    expect(acc.points).toHaveLength(1);
    const f = acc.points[0]!.fields as Record<string, number>;
    const sum = f.usage_user! + f.usage_system! + f.usage_irq! + f.usage_softirq! + f.usage_idle!;
    // The composed rows keep % Processor Time = % User Time + % Privileged Time, as the captures do.
    expect(sum).toBeCloseTo(100, 4);
    expect(f.usage_system).toBeLessThan(f.usage_user!);
    r.src.stop();
  });
});

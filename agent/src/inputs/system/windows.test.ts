// system on Windows, from composed typeperf output (perf-counters/testdata/README.md).
import { describe, expect, it } from 'vitest';
import system from './index.ts';
import { recorder } from '../testing.ts';
import { replay } from '../perf-counters/testing.ts';

describe('system on Windows', () => {
  it('sends uptime, its format and the CPU count; no load averages or users', async () => {
    const r = replay('composed-server-en.csv');
    const input = system.create({}, r.ctx);
    await r.started;
    r.feed(1);
    const acc = recorder();
    await input.gather!(acc);
    expect(acc.points[0]!.fields).toEqual({ n_cpus: 4, processor_queue_length: 2, uptime: 345678, uptime_format: '4 days,  0:01' });
    r.src.stop();
  });
});

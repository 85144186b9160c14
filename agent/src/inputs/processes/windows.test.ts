// processes on Windows, from composed typeperf output (perf-counters/testdata/README.md).
import { describe, expect, it } from 'vitest';
import processes from './index.ts';
import { recorder } from '../testing.ts';
import { replay } from '../perf-counters/testing.ts';

describe('processes on Windows', () => {
  it('sends the number of processes and threads; Linux process states are absent, not zero', async () => {
    const r = replay('composed-server-en.csv');
    const input = processes.create({}, r.ctx);
    await r.started;
    r.feed(1);
    const acc = recorder();
    await input.gather!(acc);
    expect(acc.points[0]!.fields).toEqual({ total: 131, total_threads: 1720 });
    r.src.stop();
  });
});

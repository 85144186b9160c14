// The `processes` input on Windows: how many processes and threads exist, from the System
// object of the shared typeperf (../perf-counters). Windows has no per-process state of
// Linux's kind (running, sleeping, blocked, zombie...): those fields are absent, not zero.
import type { Input, InputContext } from '../types.ts';
import type { CounterRequest } from '../perf-counters/names.ts';
import { counterSource, newSamples } from '../perf-counters/gather.ts';
import { sampleValue, type Sample } from '../perf-counters/source.ts';

export const PROCESSES_COUNTERS: readonly CounterRequest[] = [
  { object: 'System', counter: 'Processes' },
  { object: 'System', counter: 'Threads' },
];

export function windowsProcessesFields(s: Sample): Record<string, number> | undefined {
  const total = sampleValue(s, 'System', undefined, 'Processes');
  const threads = sampleValue(s, 'System', undefined, 'Threads');
  if (total === undefined) return undefined;
  const out: Record<string, number> = { total: Math.round(total) };
  if (threads !== undefined) out.total_threads = Math.round(threads);
  return out;
}

export function windowsProcesses(ctx: InputContext): Input {
  const src = counterSource(ctx, PROCESSES_COUNTERS);
  const cursor = { seq: src.latestSeq };
  return {
    async gather(acc) {
      const s = (await newSamples(ctx, src, cursor)).at(-1);
      const fields = s && windowsProcessesFields(s);
      if (fields) acc.addPoint('processes', {}, fields, { int: ['total', 'total_threads'] });
    },
  };
}

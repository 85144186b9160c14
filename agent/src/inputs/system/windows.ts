// The `system` input on Windows: uptime and CPU count from the shared typeperf
// (../perf-counters). Windows keeps no load average (load1, load5, load15 are absent); its
// nearest figure, the threads ready and waiting for a CPU, is sent as the Windows-only
// processor_queue_length. Logged-in users need the Terminal Services object, which has no
// fixed index: n_users and n_unique_users are absent.
import type { Input, InputContext } from '../types.ts';
import type { CounterRequest } from '../perf-counters/names.ts';
import { counterSource, newSamples } from '../perf-counters/gather.ts';
import { sampleValue, type Sample } from '../perf-counters/source.ts';
import { formatUptime } from './parse.ts';

export const SYSTEM_COUNTERS: readonly CounterRequest[] = [
  { object: 'System', counter: 'System Up Time' },
  { object: 'System', counter: 'Processor Queue Length' },
  // Its instances are the CPUs.
  { object: 'Processor', counter: '% Processor Time', instance: '*' },
];

export function windowsSystemFields(s: Sample): Record<string, number | string> | undefined {
  const up = sampleValue(s, 'System', undefined, 'System Up Time');
  if (up === undefined || up < 0) return undefined;
  const uptime = Math.floor(up);
  const fields: Record<string, number | string> = {};
  const cpus = (s.instances.get('Processor') ?? []).filter((i) => /^\d+$/.test(i)).length;
  if (cpus > 0) fields.n_cpus = cpus;
  const queue = sampleValue(s, 'System', undefined, 'Processor Queue Length');
  if (queue !== undefined) fields.processor_queue_length = Math.round(queue);
  Object.assign(fields, { uptime, uptime_format: formatUptime(uptime) });
  return fields;
}

export function windowsSystem(ctx: InputContext): Input {
  const src = counterSource(ctx, SYSTEM_COUNTERS);
  const cursor = { seq: src.latestSeq };
  return {
    async gather(acc) {
      const s = (await newSamples(ctx, src, cursor)).at(-1);
      const fields = s && windowsSystemFields(s);
      if (fields) acc.addPoint('system', {}, fields, { int: ['n_cpus', 'processor_queue_length', 'uptime'] });
    },
  };
}

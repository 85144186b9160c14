// The `swap` input on Windows: the page files. Their size is not a counter: it is the
// commit limit less physical memory (the commit limit is RAM plus every page file), and
// how much of it is used is "\Paging File(_Total)\% Usage" — the arithmetic gopsutil
// (under Telegraf) uses on Windows. in and out (bytes swapped since boot) have no
// Windows counter of the same meaning (Pages Input/sec also counts mapped files): absent.
import type { Input, InputContext } from '../types.ts';
import type { CounterRequest } from '../perf-counters/names.ts';
import { counterSource, newSamples, pct } from '../perf-counters/gather.ts';
import { sampleValue, type Sample } from '../perf-counters/source.ts';

export const SWAP_COUNTERS: readonly CounterRequest[] = [
  { object: 'Memory', counter: 'Commit Limit' },
  { object: 'Paging File', counter: '% Usage', instance: '_Total' },
  { object: 'Paging File', counter: '% Usage Peak', instance: '_Total' },
];

export function windowsSwapFields(s: Sample, physical: number): Record<string, number> | undefined {
  const limit = sampleValue(s, 'Memory', undefined, 'Commit Limit');
  if (limit === undefined || !(physical > 0)) return undefined;
  const total = Math.max(0, Math.round(limit - physical));
  // No page file: no Paging File instance, and nothing in use.
  const usage = total > 0 ? pct(sampleValue(s, 'Paging File', '_Total', '% Usage') ?? 0) : 0;
  const used = Math.round((total * usage) / 100);
  const out: Record<string, number> = { total, used, free: total - used, used_percent: usage };
  const peak = sampleValue(s, 'Paging File', '_Total', '% Usage Peak');
  if (peak !== undefined) out.peak_used_percent = pct(peak);
  return out;
}

export function windowsSwap(ctx: InputContext): Input {
  const src = counterSource(ctx, SWAP_COUNTERS);
  const cursor = { seq: src.latestSeq };
  return {
    async gather(acc) {
      const s = (await newSamples(ctx, src, cursor)).at(-1);
      const fields = s && windowsSwapFields(s, ctx.totalMemory?.() ?? 0);
      if (fields) acc.addPoint('swap', {}, fields, { int: ['total', 'used', 'free'] });
    },
  };
}

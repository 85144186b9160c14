// The `mem` input on Windows: the Memory object from the shared typeperf
// (../perf-counters) plus the physical memory size (os.totalmem(): GlobalMemoryStatusEx,
// no counter holds it), under Telegraf's Linux field names where the meaning is the same.
import type { Input, InputContext } from '../types.ts';
import type { CounterRequest } from '../perf-counters/names.ts';
import { counterSource, newSamples } from '../perf-counters/gather.ts';
import { sampleValue, type Sample } from '../perf-counters/source.ts';

const M = 'Memory';
const NAMES = [
  'Available Bytes',
  'Committed Bytes',
  'Commit Limit',
  'Free & Zero Page List Bytes',
  'Modified Page List Bytes',
  'Standby Cache Core Bytes',
  'Standby Cache Normal Priority Bytes',
  'Standby Cache Reserve Bytes',
  'Pool Paged Bytes',
  'Pool Nonpaged Bytes',
  'Pages/sec',
  'Page Faults/sec',
];
export const MEM_COUNTERS: readonly CounterRequest[] = NAMES.map((counter) => ({ object: M, counter }));

export const WINDOWS_MEM_INT_FIELDS: readonly string[] = [
  'total',
  'available',
  'used',
  'free',
  'cached',
  'committed_as',
  'commit_limit',
  'pool_paged',
  'pool_nonpaged',
];

export function windowsMemFields(s: Sample, total: number): Record<string, number> | undefined {
  const get = (c: string) => sampleValue(s, M, undefined, c);
  const available = get('Available Bytes');
  if (available === undefined || !(total > 0)) return undefined;
  const used = Math.max(0, total - available);
  const out: Record<string, number> = {
    total,
    available,
    used,
    used_percent: (100 * used) / total,
    available_percent: (100 * Math.min(available, total)) / total,
  };
  const set = (field: string, v: number | undefined) => {
    if (v !== undefined) out[field] = Math.round(v);
  };
  // free: pages holding nothing (the free and zeroed lists); cached: file pages that can be
  // given back (the standby lists) or are waiting to be written (the modified list), as
  // Linux's page cache holds clean and dirty file pages.
  set('free', get('Free & Zero Page List Bytes'));
  const standby = ['Standby Cache Core Bytes', 'Standby Cache Normal Priority Bytes', 'Standby Cache Reserve Bytes'].map(get);
  const modified = get('Modified Page List Bytes');
  if (standby.every((v) => v !== undefined) && modified !== undefined) set('cached', standby.reduce((a, b) => a! + b!, 0)! + modified);
  set('committed_as', get('Committed Bytes'));
  set('commit_limit', get('Commit Limit'));
  set('pool_paged', get('Pool Paged Bytes'));
  set('pool_nonpaged', get('Pool Nonpaged Bytes'));
  const pages = get('Pages/sec');
  const faults = get('Page Faults/sec');
  if (pages !== undefined) out.pages_per_sec = pages;
  if (faults !== undefined) out.page_faults_per_sec = faults;
  return out;
}

export function windowsMem(ctx: InputContext): Input {
  const src = counterSource(ctx, MEM_COUNTERS);
  const cursor = { seq: src.latestSeq };
  return {
    async gather(acc) {
      const s = (await newSamples(ctx, src, cursor)).at(-1);
      const total = ctx.totalMemory?.() ?? 0;
      const fields = s && windowsMemFields(s, total);
      if (fields) acc.addPoint('mem', {}, fields, { int: WINDOWS_MEM_INT_FIELDS });
    },
  };
}

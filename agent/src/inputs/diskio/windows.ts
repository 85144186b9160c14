// The `diskio` input on Windows: each physical disk (the PhysicalDisk object's instances,
// "0 C:", "1 D: E:", named as Windows shows them; _Total left out), from the shared typeperf
// (../perf-counters). typeperf gives per-second rates, not the counts since boot that
// /proc/diskstats has, so the counts are summed here from the rates times the seconds each
// sample covers, from the agent's start: a restart of the agent is a counter reset, which
// rate queries (non_negative_derivative) already skip. merged_reads and merged_writes have
// no Windows counter: absent.
import type { Input, InputContext } from '../types.ts';
import type { CounterRequest } from '../perf-counters/names.ts';
import { compileGlobs } from '../glob.ts';
import { Totals, counterSource, newSamples, pct, whole } from '../perf-counters/gather.ts';
import { sampleValue, type Sample } from '../perf-counters/source.ts';

const D = 'PhysicalDisk';
export const DISKIO_COUNTERS: readonly CounterRequest[] = [
  'Disk Reads/sec',
  'Disk Writes/sec',
  'Disk Read Bytes/sec',
  'Disk Write Bytes/sec',
  'Avg. Disk sec/Read',
  'Avg. Disk sec/Write',
  'Current Disk Queue Length',
  'Avg. Disk Queue Length',
  '% Idle Time',
].map((counter) => ({ object: D, counter, instance: '*' }));

const INT_FIELDS: readonly string[] = [
  'reads',
  'writes',
  'read_bytes',
  'write_bytes',
  'read_time',
  'write_time',
  'io_time',
  'weighted_io_time',
  'iops_in_progress',
];

/** Adds one sample of one disk to its totals (the same units as /proc/diskstats: counts, bytes, ms). */
export function addDiskSample(t: Totals, s: Sample, disk: string): void {
  const get = (c: string) => sampleValue(s, D, disk, c);
  const reads = get('Disk Reads/sec');
  const writes = get('Disk Writes/sec');
  const idle = get('% Idle Time');
  if (reads === undefined || writes === undefined) return;
  t.add(disk, 'reads', reads * s.dt);
  t.add(disk, 'writes', writes * s.dt);
  t.add(disk, 'read_bytes', (get('Disk Read Bytes/sec') ?? 0) * s.dt);
  t.add(disk, 'write_bytes', (get('Disk Write Bytes/sec') ?? 0) * s.dt);
  // Time spent on reads: the average read's seconds times the reads of the interval.
  t.add(disk, 'read_time', (get('Avg. Disk sec/Read') ?? 0) * reads * s.dt * 1000);
  t.add(disk, 'write_time', (get('Avg. Disk sec/Write') ?? 0) * writes * s.dt * 1000);
  if (idle !== undefined) t.add(disk, 'io_time', ((100 - pct(idle)) / 100) * s.dt * 1000);
  // The average queue length is weighted time over elapsed time, so this is Linux's weighted_io_time.
  t.add(disk, 'weighted_io_time', (get('Avg. Disk Queue Length') ?? 0) * s.dt * 1000);
}

export function windowsDiskio(config: { devices: string[]; ignore_devices: string[] }, ctx: InputContext): Input {
  const src = counterSource(ctx, DISKIO_COUNTERS);
  const cursor = { seq: src.latestSeq };
  const totals = new Totals();
  const wanted = compileGlobs(config.devices);
  const ignored = compileGlobs(config.ignore_devices);
  const keep = config.devices.length > 0 ? wanted : (name: string) => !ignored(name);
  return {
    async gather(acc) {
      const samples = await newSamples(ctx, src, cursor);
      const seen = new Set<string>();
      for (const s of samples) {
        for (const disk of s.instances.get(D) ?? []) {
          if (disk === '_Total' || !keep(disk)) continue;
          addDiskSample(totals, s, disk);
          seen.add(disk);
        }
      }
      const last = samples.at(-1);
      for (const disk of seen) {
        const fields: Record<string, number> = {};
        for (const f of INT_FIELDS) if (f !== 'iops_in_progress') fields[f] = whole(totals.get(disk, f));
        const q = last && sampleValue(last, D, disk, 'Current Disk Queue Length');
        if (q !== undefined) fields.iops_in_progress = Math.round(q);
        acc.addPoint('diskio', { name: disk }, fields, { int: INT_FIELDS });
      }
    },
  };
}

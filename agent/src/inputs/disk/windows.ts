// The `disk` input on Windows: each volume with a drive letter (the LogicalDisk object's
// "C:", "D:" instances; volumes without a letter and _Total are left out), from the shared
// typeperf (../perf-counters). "Free Megabytes" is the free space; "% Free Space" is free
// over size, so the size is free / share. The size of a nearly full volume cannot be read
// that way to the megabyte, so the size is taken while at least 1 % is free and kept.
// The path and device tags are the drive ("C:"); fstype, mode and the inode fields have no
// counter (NTFS has no inode table to fill): absent.
import type { Input, InputContext } from '../types.ts';
import type { CounterRequest } from '../perf-counters/names.ts';
import { counterSource, newSamples, pct } from '../perf-counters/gather.ts';
import { sampleValue, type Sample } from '../perf-counters/source.ts';

const L = 'LogicalDisk';
const MB = 1024 * 1024;
export const DISK_COUNTERS: readonly CounterRequest[] = [
  { object: L, counter: '% Free Space', instance: '*' },
  { object: L, counter: 'Free Megabytes', instance: '*' },
];

/** Space fields of one drive; `sizes` keeps each drive's size (MB) from when it could be read. */
export function windowsDiskFields(s: Sample, drive: string, sizes: Map<string, number>): Record<string, number> | undefined {
  const freeShare = sampleValue(s, L, drive, '% Free Space');
  const freeMb = sampleValue(s, L, drive, 'Free Megabytes');
  if (freeShare === undefined || freeMb === undefined) return undefined;
  if (freeShare >= 1) sizes.set(drive, Math.round((freeMb * 100) / freeShare));
  let sizeMb = sizes.get(drive);
  if (sizeMb === undefined && freeShare > 0) sizeMb = Math.round((freeMb * 100) / freeShare);
  const usedPercent = pct(100 - freeShare);
  const free = Math.round(freeMb) * MB;
  if (sizeMb === undefined) return { free, used_percent: usedPercent };
  const total = Math.max(sizeMb * MB, free);
  return { total, free, used: total - free, used_percent: usedPercent };
}

export function windowsDisk(config: { mount_points: string[] }, ctx: InputContext): Input {
  const src = counterSource(ctx, DISK_COUNTERS);
  const cursor = { seq: src.latestSeq };
  const wanted = new Set(config.mount_points.map((p) => p.toUpperCase()));
  const sizes = new Map<string, number>();
  return {
    async gather(acc) {
      const s = (await newSamples(ctx, src, cursor)).at(-1);
      if (!s) return;
      for (const drive of s.instances.get(L) ?? []) {
        if (!/^[A-Za-z]:$/.test(drive) || (wanted.size > 0 && !wanted.has(drive.toUpperCase()))) continue;
        const fields = windowsDiskFields(s, drive, sizes);
        if (fields) acc.addPoint('disk', { path: drive, device: drive }, fields, { int: ['total', 'free', 'used'] });
      }
    },
  };
}

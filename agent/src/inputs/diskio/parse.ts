// Parsing /proc/diskstats into Telegraf's `diskio` fields (one record per block device).
import { fields, uint } from '../procfs.ts';

/** The kernel counts sectors in 512-byte units whatever the device's real sector size. */
const SECTOR = 512;

export interface DiskStat {
  name: string;
  fields: Record<string, number>;
}

export const DISKIO_INT_FIELDS: readonly string[] = [
  'reads',
  'writes',
  'read_bytes',
  'write_bytes',
  'read_time',
  'write_time',
  'io_time',
  'weighted_io_time',
  'iops_in_progress',
  'merged_reads',
  'merged_writes',
];

/**
 * One entry per line with the 11 classic counters (kernels since 2.6 print 14 or more
 * columns; 4.18 added discards, 5.5 flushes, which Telegraf does not send).
 */
export function parseDiskstats(text: string): DiskStat[] {
  const out: DiskStat[] = [];
  for (const line of text.split('\n')) {
    const f = fields(line);
    if (f.length < 14) continue;
    const n = f.slice(3, 14).map(uint);
    if (n.some((v) => v === undefined)) continue;
    const [reads, mergedReads, sectorsRead, readTime, writes, mergedWrites, sectorsWritten, writeTime, inProgress, ioTime, weighted] = n as number[];
    out.push({
      name: f[2]!,
      fields: {
        reads: reads!,
        writes: writes!,
        read_bytes: sectorsRead! * SECTOR,
        write_bytes: sectorsWritten! * SECTOR,
        read_time: readTime!,
        write_time: writeTime!,
        io_time: ioTime!,
        weighted_io_time: weighted!,
        iops_in_progress: inProgress!,
        merged_reads: mergedReads!,
        merged_writes: mergedWrites!,
      },
    });
  }
  return out;
}

// Telegraf's `swap` fields from /proc/meminfo and /proc/vmstat, and the page size that
// turns vmstat's page counts into bytes.
import { fields, uint } from '../procfs.ts';

/** "key value" lines (/proc/vmstat) into a map; lines that are not that are skipped. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = fields(line);
    const n = uint(v);
    if (k !== undefined && n !== undefined) out.set(k, n);
  }
  return out;
}

/**
 * The kernel's page size, from our own process: statm counts pages, status counts kB of
 * the same mappings. Node has no getpagesize(), and 4096 is wrong on 64 KiB arm64 and
 * ppc64 kernels. Undefined when the files make no sense.
 */
export function pageSizeFrom(status: string, statm: string): number | undefined {
  const kb = uint(/^VmSize:\s*(\d+)\s*kB/m.exec(status)?.[1]);
  const pages = uint(fields(statm)[0]);
  if (!kb || !pages) return undefined;
  // The two files are read a moment apart and the mappings may grow in between, so the
  // ratio is rounded to the nearest power of two.
  const size = 2 ** Math.round(Math.log2((kb * 1024) / pages));
  return size >= 4096 && size <= 1024 * 1024 ? size : undefined;
}

export const SWAP_INT_FIELDS: readonly string[] = ['total', 'used', 'free', 'in', 'out'];

/** meminfo as parsed by procfs.ts's parseMeminfo (bytes); vmstat in pages. */
export function swapFields(meminfo: Map<string, number>, vmstat: Map<string, number>, pageSize: number): Record<string, number> | undefined {
  const total = meminfo.get('SwapTotal');
  const free = meminfo.get('SwapFree');
  if (total === undefined || free === undefined) return undefined;
  const used = Math.max(0, total - free);
  const out: Record<string, number> = { total, used, free, used_percent: total > 0 ? (100 * used) / total : 0 };
  const sin = vmstat.get('pswpin');
  const sout = vmstat.get('pswpout');
  if (sin !== undefined) out.in = sin * pageSize;
  if (sout !== undefined) out.out = sout * pageSize;
  return out;
}

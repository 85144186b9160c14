// Parsing /proc/meminfo into Telegraf's `mem` fields, computed the way gopsutil (which
// Telegraf uses) computes them, so the numbers match a Telegraf host's to the byte. The
// parsing of /proc/meminfo itself (parseMeminfo) is in ../procfs.ts, shared with swap.

// Telegraf field ← meminfo key, for the fields that are just a copy.
const COPIED: Record<string, string> = {
  total: 'MemTotal',
  free: 'MemFree',
  buffered: 'Buffers',
  active: 'Active',
  inactive: 'Inactive',
  slab: 'Slab',
  sreclaimable: 'SReclaimable',
  sunreclaim: 'SUnreclaim',
  shared: 'Shmem',
  dirty: 'Dirty',
  write_back: 'Writeback',
  write_back_tmp: 'WritebackTmp',
  page_tables: 'PageTables',
  swap_cached: 'SwapCached',
  swap_total: 'SwapTotal',
  swap_free: 'SwapFree',
  commit_limit: 'CommitLimit',
  committed_as: 'Committed_AS',
  high_total: 'HighTotal',
  high_free: 'HighFree',
  low_total: 'LowTotal',
  low_free: 'LowFree',
  mapped: 'Mapped',
  vmalloc_total: 'VmallocTotal',
  vmalloc_used: 'VmallocUsed',
  vmalloc_chunk: 'VmallocChunk',
  huge_pages_total: 'HugePages_Total',
  huge_pages_free: 'HugePages_Free',
  huge_page_size: 'Hugepagesize',
};
const COPIED_FIELDS = Object.keys(COPIED);

export const MEM_INT_FIELDS: readonly string[] = [...Object.keys(COPIED), 'available', 'used', 'cached'];

/** Telegraf's mem fields, or undefined when there is no usable MemTotal. */
export function memFields(m: Map<string, number>): Record<string, number> | undefined {
  const total = m.get('MemTotal');
  if (!total) return undefined;
  const get = (k: string) => m.get(k) ?? 0;
  const out: Record<string, number> = {};
  // Absent keys (HighTotal on 64-bit kernels) are 0, as in gopsutil, so every host
  // sends the same set of fields.
  for (let i = 0; i < COPIED_FIELDS.length; i++) out[COPIED_FIELDS[i]!] = get(COPIED[COPIED_FIELDS[i]!]!);
  // gopsutil counts reclaimable slab as cache, and "used" as what is neither free nor cache.
  const cached = get('Cached') + get('SReclaimable');
  // Kernels before 3.14 have no MemAvailable; gopsutil's simple estimate is free + cache.
  const available = m.get('MemAvailable') ?? get('MemFree') + cached;
  // In some containers (lxcfs) the parts add up to more than the total; gopsutil's
  // unsigned subtraction would wrap to 16 EiB, we say 0.
  const used = Math.max(0, total - get('MemFree') - get('Buffers') - cached);
  out.cached = cached;
  out.available = available;
  out.used = used;
  out.used_percent = (100 * used) / total;
  out.available_percent = (100 * available) / total;
  return out;
}

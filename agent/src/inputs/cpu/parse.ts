// Parsing /proc/stat's cpu lines and turning two samples into Telegraf's usage_*
// percentages. Pure functions, so the arithmetic is tested without a kernel.
import { fields, uint } from '../procfs.ts';

/** Cumulative CPU time of one CPU (or all), in USER_HZ ticks as /proc/stat prints them. */
export interface CpuTimes {
  /** "cpu0", "cpu1"... or "cpu-total" for the aggregate line, as Telegraf tags them. */
  cpu: string;
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  guest: number;
  guestNice: number;
}

const COLUMNS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guestNice'] as const;
type Column = (typeof COLUMNS)[number];

/** USER_HZ: 100 on every Linux architecture that matters (the kernel fixes it for ABI reasons). */
export const TICKS_PER_SECOND = 100;

/**
 * The cpu lines of /proc/stat. Old kernels print fewer columns (no steal, guest); the
 * missing ones count as zero. A line that is not numbers is skipped, not trusted.
 */
export function parseCpuStat(text: string): CpuTimes[] {
  const out: CpuTimes[] = [];
  // Only the cpu lines are taken out of the text: /proc/stat has a dozen others (intr,
  // ctxt, softirq...), each a string a split would make at every gather.
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const at = start;
    start = end + 1;
    if (!text.startsWith('cpu', at)) continue;
    const line = text.slice(at, end);
    // Indexed loops, no destructuring or callbacks: under --lite-mode each of those is
    // an allocation and an interpreted call per value.
    const f = fields(line);
    const label = f[0];
    if (!label || !/^cpu\d*$/.test(label) || f.length < 5) continue;
    const t: CpuTimes = {
      cpu: label === 'cpu' ? 'cpu-total' : label,
      user: 0,
      nice: 0,
      system: 0,
      idle: 0,
      iowait: 0,
      irq: 0,
      softirq: 0,
      steal: 0,
      guest: 0,
      guestNice: 0,
    };
    const n = Math.min(COLUMNS.length, f.length - 1);
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const v = uint(f[i + 1]);
      if (v === undefined) ok = false;
      else t[COLUMNS[i]!] = v;
    }
    if (ok) out.push(t);
  }
  return out;
}

// guest and guest_nice are already inside user and nice, so they stay out of the total
// (the kernel and Telegraf agree on this).
function total(t: CpuTimes): number {
  return t.user + t.nice + t.system + t.idle + t.iowait + t.irq + t.softirq + t.steal;
}

/**
 * Telegraf's usage_* fields (percent of the interval) from two samples of one CPU, or
 * undefined when nothing can be said: no time passed, or the counters went backwards
 * (CPU hot-plugged, or a new boot under a restored state).
 */
export function cpuUsage(prev: CpuTimes, cur: CpuTimes, reportActive: boolean): Record<string, number> | undefined {
  const rawTotal = total(cur) - total(prev);
  if (!(rawTotal > 0)) return undefined;
  // A single column may step back a tick (iowait does on NO_HZ kernels); a negative
  // percentage would be nonsense, so such a column counts as zero.
  const d = (k: Column) => Math.max(0, cur[k] - prev[k]);
  const dTotal = d('user') + d('nice') + d('system') + d('idle') + d('iowait') + d('irq') + d('softirq') + d('steal');
  if (dTotal === 0) return undefined;
  const pct = (v: number) => (100 * v) / dTotal;
  const usage: Record<string, number> = {
    usage_user: pct(Math.max(0, d('user') - d('guest'))),
    usage_system: pct(d('system')),
    usage_idle: pct(d('idle')),
    usage_nice: pct(Math.max(0, d('nice') - d('guestNice'))),
    usage_iowait: pct(d('iowait')),
    usage_irq: pct(d('irq')),
    usage_softirq: pct(d('softirq')),
    usage_steal: pct(d('steal')),
    usage_guest: pct(d('guest')),
    usage_guest_nice: pct(d('guestNice')),
  };
  if (reportActive) usage.usage_active = pct(dTotal - d('idle'));
  return usage;
}

/** Telegraf's time_* fields: cumulative seconds (collect_cpu_time). */
export function cpuTimeFields(t: CpuTimes, reportActive: boolean): Record<string, number> {
  const s = (v: number) => v / TICKS_PER_SECOND;
  const out: Record<string, number> = {
    time_user: s(t.user),
    time_system: s(t.system),
    time_idle: s(t.idle),
    time_nice: s(t.nice),
    time_iowait: s(t.iowait),
    time_irq: s(t.irq),
    time_softirq: s(t.softirq),
    time_steal: s(t.steal),
    time_guest: s(t.guest),
    time_guest_nice: s(t.guestNice),
  };
  if (reportActive) out.time_active = s(total(t) - t.idle);
  return out;
}

// Parsing the kernel-wide counters of /proc/stat into Telegraf's `kernel` fields.
import { fields, uint } from '../procfs.ts';

// Telegraf field ← first number on the /proc/stat line with this label.
const LINES: Record<string, string> = {
  btime: 'boot_time',
  ctxt: 'context_switches',
  intr: 'interrupts',
  processes: 'processes_forked',
};

export function parseKernelStat(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [label, first, second] = fields(line);
    if (label === undefined) continue;
    const field = LINES[label];
    if (field) {
      const n = uint(first);
      if (n !== undefined) out[field] = n;
    } else if (label === 'page') {
      // Only kernels before 2.6 print paging here; Telegraf sends it when present.
      const pin = uint(first);
      const pout = uint(second);
      if (pin !== undefined && pout !== undefined) Object.assign(out, { disk_pages_in: pin, disk_pages_out: pout });
    }
  }
  return out;
}

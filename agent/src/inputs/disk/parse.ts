// Parsing the mount table (/proc/self/mounts) and turning statfs numbers into Telegraf's
// `disk` fields, with gopsutil's arithmetic (free is what non-root users may still use).

export interface Mount {
  device: string;
  path: string;
  fstype: string;
  options: string[];
}

// The kernel writes space, tab, newline and backslash in mount paths as \040, \011,
// \012 and \134.
function unescapeMount(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Device, mount point, type and options: the first four fields of a mount table line. */
const LINE = /^(\S+)[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)/gm;

/**
 * The mount table; lines with fewer than four fields are skipped. One regular expression
 * over the text: under the agent's interpreter-only V8 it costs about half of splitting
 * each line into fields (bench:agent, fifth round).
 */
export function parseMounts(text: string): Mount[] {
  const out: Mount[] = [];
  LINE.lastIndex = 0;
  for (let m = LINE.exec(text); m !== null; m = LINE.exec(text)) {
    out.push({ device: unescapeMount(m[1]!), path: unescapeMount(m[2]!), fstype: m[3]!, options: m[4]!.split(',') });
  }
  return out;
}

/** Telegraf's `mode` tag: "ro", "rw", or "unknown". */
export function mountMode(options: readonly string[]): string {
  if (options.includes('ro')) return 'ro';
  if (options.includes('rw')) return 'rw';
  return 'unknown';
}

export interface Statfs {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

export const DISK_INT_FIELDS: readonly string[] = ['total', 'free', 'used', 'inodes_total', 'inodes_free', 'inodes_used'];

export function diskFields(s: Statfs): Record<string, number> {
  const total = s.blocks * s.bsize;
  const free = s.bavail * s.bsize;
  const used = Math.max(0, s.blocks - s.bfree) * s.bsize;
  const inodesUsed = Math.max(0, s.files - s.ffree);
  // used + free, not total: the blocks reserved for root are neither, and `df` (and
  // Telegraf) leave them out of the percentage, so 100 % means "users cannot write".
  return {
    total,
    free,
    used,
    used_percent: used + free > 0 ? (100 * used) / (used + free) : 0,
    inodes_total: s.files,
    inodes_free: s.ffree,
    inodes_used: inodesUsed,
    inodes_used_percent: inodesUsed + s.ffree > 0 ? (100 * inodesUsed) / (inodesUsed + s.ffree) : 0,
  };
}

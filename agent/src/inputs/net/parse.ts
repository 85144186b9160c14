// Parsing /proc/net/dev (per-interface counters), /proc/net/snmp (protocol counters)
// and sysfs interface flags into Telegraf's `net` fields, plus per-second rates.
import { counterRate } from '../../rate.ts';
import { fields, int, uint } from '../procfs.ts';

export const COUNTERS = ['bytes_sent', 'bytes_recv', 'packets_sent', 'packets_recv', 'err_in', 'err_out', 'drop_in', 'drop_out'] as const;
export type Counters = Record<(typeof COUNTERS)[number], number>;
const RATE_KEYS: readonly string[] = COUNTERS.map((k) => `${k}_rate`);

export interface NetDev {
  name: string;
  counters: Counters;
}

/**
 * Interface counters. Lines are "name: 8 receive columns 8 transmit columns"; old
 * kernels put no space after the colon. The two header lines have no colon+numbers and
 * fall out naturally.
 */
export function parseNetDev(text: string): NetDev[] {
  const out: NetDev[] = [];
  const v: number[] = [];
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const at = start;
    start = end + 1;
    const colon = text.indexOf(':', at);
    if (colon === -1 || colon >= end) continue;
    const name = text.slice(at, colon).trim();
    if (!name || !countersOf(text, colon + 1, end, v)) continue;
    out.push({
      name,
      counters: {
        bytes_recv: v[0]!,
        packets_recv: v[1]!,
        err_in: v[2]!,
        drop_in: v[3]!,
        bytes_sent: v[8]!,
        packets_sent: v[9]!,
        err_out: v[10]!,
        drop_out: v[11]!,
      },
    });
  }
  return out;
}

/**
 * The first 12 columns of a /proc/net/dev line after its colon, [from, end), into `v`:
 * false unless there are 12 or more columns and the first 12 are whole numbers. Columns
 * separated by spaces, as the kernel prints them, are read where they stand (no string
 * per column); a line with tabs or carriage returns is split as fields() splits it.
 */
function countersOf(text: string, from: number, end: number, v: number[]): boolean {
  const rest = text.slice(from, end);
  if (rest.includes('\t') || rest.includes('\r')) {
    const f = fields(rest);
    if (f.length < 12) return false;
    for (let i = 0; i < 12; i++) {
      const x = uint(f[i]);
      if (x === undefined) return false;
      v[i] = x;
    }
    return true;
  }
  let i = 0;
  let col = 0;
  const n = rest.length;
  while (col < 12) {
    while (i < n && rest.charCodeAt(i) === 32) i++;
    if (i === n) return false;
    const first = i;
    let x = 0;
    let digits = true;
    for (let c = rest.charCodeAt(i); i < n && c !== 32; c = rest.charCodeAt(++i)) {
      if (c < 48 || c > 57) digits = false;
      else x = x * 10 + (c - 48);
    }
    // Not a whole number: the line is skipped (as it is with fewer than 12 columns).
    if (!digits) return false;
    // Fifteen digits and fewer are exact; longer ones as uint() reads them.
    if (i - first > 15) {
      const big = uint(rest.slice(first, i));
      if (big === undefined) return false;
      x = big;
    }
    v[col++] = x;
  }
  return true;
}

/** `<counter>_rate` per second from the previous sample; a reset leaves that rate out. */
export function netRates(prev: Counters, cur: Counters, elapsedMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < COUNTERS.length; i++) {
    const k = COUNTERS[i]!;
    const r = counterRate(prev[k], cur[k], elapsedMs, 64);
    if (r !== undefined) out[RATE_KEYS[i]!] = r;
  }
  return out;
}

/**
 * /proc/net/snmp comes in line pairs, "Tcp: ActiveOpens ..." then "Tcp: 85 ...";
 * each value becomes "<proto>_<name>" in lower case, as Telegraf names them. A pair
 * whose lengths differ is skipped rather than misaligned.
 */
export function parseSnmp(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split('\n').filter((l) => l.includes(':'));
  for (let i = 0; i + 1 < lines.length; i++) {
    const head = headerOf(lines[i]!);
    const values = fields(lines[i + 1]!);
    if (!head.proto || head.proto !== values[0]) continue;
    i++;
    if (head.keys.length !== values.length - 1) continue;
    for (let j = 0; j < head.keys.length; j++) {
      const v = int(values[j + 1]);
      if (v !== undefined) out[head.keys[j]!] = v;
    }
  }
  return out;
}

/**
 * A header line of /proc/net/snmp ("Tcp: RtoAlgorithm RtoMin ...") as its protocol and
 * field names ("tcp_rtoalgorithm"...). The kernel prints the same header lines at every
 * read, so each is worked out once (this was half the cost of a parse).
 */
const headers = new Map<string, { proto: string | undefined; keys: string[] }>();
function headerOf(line: string): { proto: string | undefined; keys: string[] } {
  let h = headers.get(line);
  if (h) return h;
  const [proto, ...names] = fields(line);
  const p = proto?.slice(0, -1).toLowerCase();
  h = { proto, keys: names.map((name) => `${p}_${name.toLowerCase()}`) };
  // A kernel prints a handful of header lines; on a garbled file the map stops growing at
  // 64 entries (lines past that are worked out each time, as before).
  if (headers.size < 64) headers.set(line, h);
  return h;
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

/** /sys/class/net/<if>/flags ("0x1003"). */
export function parseFlags(text: string): { up: boolean; loopback: boolean } | undefined {
  const s = text.trim();
  if (!/^0x[0-9a-f]+$/i.test(s)) return undefined;
  const f = parseInt(s, 16);
  return { up: (f & IFF_UP) !== 0, loopback: (f & IFF_LOOPBACK) !== 0 };
}

// Parsing what Telegraf's `system` input reports: load averages (/proc/loadavg), uptime
// (/proc/uptime), logged-in users (the binary utmp file) and its uptime_format string.
import { fields } from '../procfs.ts';

/** load1, load5, load15, or undefined when the file is not three numbers. */
export function parseLoadavg(text: string): { load1: number; load5: number; load15: number } | undefined {
  const [a, b, c] = fields(text).map((s) => (/^\d+(\.\d+)?$/.test(s) ? Number(s) : NaN));
  if (a === undefined || b === undefined || c === undefined || [a, b, c].some(Number.isNaN)) return undefined;
  return { load1: a, load5: b, load15: c };
}

/** Whole seconds since boot (Telegraf sends an int). */
export function parseUptime(text: string): number | undefined {
  const first = fields(text)[0];
  return first !== undefined && /^\d+(\.\d+)?$/.test(first) ? Math.floor(Number(first)) : undefined;
}

/** Online CPUs: the cpuN lines of /proc/stat. */
export function countCpus(stat: string): number {
  // The lines that start with "cpu" are looked at, not every line of the text.
  let n = 0;
  for (let start = 0; start < stat.length;) {
    let end = stat.indexOf('\n', start);
    if (end === -1) end = stat.length;
    if (stat.startsWith('cpu', start) && CPU_LINE.test(stat.slice(start, end))) n++;
    start = end + 1;
  }
  return n;
}
const CPU_LINE = /^cpu\d+\s/;

/** glibc's struct utmp on x86_64 and arm64 (and every 64-bit glibc with 32-bit time fields). */
export const UTMP_RECORD_SIZE = 384;
const USER_PROCESS = 7;
const UT_USER_OFFSET = 44;
const UT_USER_SIZE = 32;

/**
 * User names of the USER_PROCESS records (one per login session), as gopsutil reads
 * them; a trailing partial record (the file written while we read) is ignored.
 */
export function parseUtmpUsers(buf: Uint8Array): string[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const decoder = new TextDecoder();
  const users: string[] = [];
  for (let off = 0; off + UTMP_RECORD_SIZE <= buf.byteLength; off += UTMP_RECORD_SIZE) {
    if (view.getInt16(off, true) !== USER_PROCESS) continue;
    const name = buf.subarray(off + UT_USER_OFFSET, off + UT_USER_OFFSET + UT_USER_SIZE);
    const nul = name.indexOf(0);
    users.push(decoder.decode(nul === -1 ? name : name.subarray(0, nul)));
  }
  return users;
}

/** Telegraf's uptime_format: "5 days, 16:51", "1 day,  2:05", " 0:03". */
export function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor(seconds / 3600) % 24;
  const minutes = Math.floor(seconds / 60) % 60;
  const d = days === 0 ? '' : `${days} day${days > 1 ? 's' : ''}, `;
  return `${d}${String(hours).padStart(2, ' ')}:${String(minutes).padStart(2, '0')}`;
}

// Reading /proc and /sys for the host inputs: one place that turns a failed read into
// an error a user can act on, and tells "the process is gone" apart from real trouble.
import { CanhError } from '@canh/core';
import type { InputContext } from './types.ts';

/** Read a file every gather depends on; a failure names the file and what to check. */
export async function readRequired(ctx: InputContext, path: string): Promise<string> {
  try {
    return await ctx.readFile(path);
  } catch (err) {
    throw unreadable(path, err);
  }
}

export function unreadable(path: string, err: unknown): CanhError {
  return new CanhError(
    'CANH_ERR_INPUT_UNREADABLE',
    `cannot read ${path} (${errCode(err)}): is procfs/sysfs mounted there? In a container set HOST_PROC/HOST_SYS`,
    { cause: err },
  );
}

/** Read a file whose absence is normal (an interface without a speed, an old kernel). */
export async function readOptional(ctx: InputContext, path: string): Promise<string | undefined> {
  try {
    return await ctx.readFile(path);
  } catch {
    return undefined;
  }
}

/** The content of a file turned out not to be what the kernel writes there. */
export function badData(path: string, what: string): CanhError {
  return new CanhError('CANH_ERR_INPUT_BAD_DATA', `${path}: ${what}; is this a Linux procfs?`);
}

export function errCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : String(err);
}

/** A /proc/<pid> file that vanished because the process exited while we read it. */
export function isGone(err: unknown): boolean {
  const code = errCode(err);
  return code === 'ENOENT' || code === 'ESRCH';
}

/**
 * A non-negative decimal integer as the kernel prints it, or undefined. Number() alone
 * would accept "", " ", "0x1f" and "1e3", which /proc never means.
 */
export function uint(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Like uint() but allows a sign: /proc/net/snmp has Tcp MaxConn -1. */
export function int(s: string | undefined): number | undefined {
  if (s === undefined || !/^-?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Split on runs of whitespace, dropping empty leading/trailing pieces. */
export function fields(line: string): string[] {
  // /proc separates its columns with spaces: a split on one space is V8's fastest split
  // (2.4 times the regular expression's speed under the agent's --lite-mode, where
  // regular expressions are interpreted), and the runs of spaces that align columns
  // leave empty pieces to drop. Tabs and line ends take the general path.
  if (line.includes('\t') || line.includes('\n') || line.includes('\r')) return line.match(/\S+/g) ?? [];
  const parts = line.split(' ');
  return parts.includes('') ? parts.filter((f) => f !== '') : parts;
}

/** "Name:   123 kB" or "Name:   123": a line of /proc/meminfo. */
const LINE = /^([^:\n]+):[ \t]*(\d+)(?:[ \t]+(\S+))?[ \t]*$/gm;

/**
 * /proc/meminfo as bytes (the "kB" lines, ×1024) or plain counts (HugePages_*). One
 * regular expression over the whole text: under the agent's interpreter-only V8 it costs
 * about a third of splitting each line (bench:agent, fifth round). A line that is not a
 * name and a whole number is skipped.
 */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  LINE.lastIndex = 0;
  for (let m = LINE.exec(text); m !== null; m = LINE.exec(text)) {
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n)) continue;
    out.set(m[1]!, m[3] === 'kB' ? n * 1024 : n);
  }
  return out;
}

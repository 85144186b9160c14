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

/**
 * readRequired at once where the context reads the file at once (readFileNow: procfs and
 * sysfs), a promise otherwise. A gather awaits only a promise: an await of a string still
 * costs a turn of the microtask queue (and a promise) under the agent's interpreter.
 */
export function readRequiredNow(ctx: InputContext, path: string): string | Promise<string> {
  let text: string | undefined;
  try {
    text = ctx.readFileNow?.(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  return text ?? readRequired(ctx, path);
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
/** One line alone, for the lines the scan below leaves to the expression. */
const ONE_LINE = /^([^:\n]+):[ \t]*(\d+)(?:[ \t]+(\S+))?[ \t]*$/;
/** The names of the last text parsed, by line: the kernel prints the same ones each time. */
let lastNames: string[] = [];

/**
 * /proc/meminfo as bytes (the "kB" lines, ×1024) or plain counts (HugePages_*). A line
 * that is not a name and a whole number is skipped. The kernel's lines ("Name:  123 kB",
 * "Name:  123") are scanned with indexOf and charCodeAt, their names taken from the last
 * parse when they are the same: under the agent's interpreter-only V8 the expression's
 * match arrays and captured strings were most of an agent's allocations each interval
 * (and so of its young-generation collections). Any other line (and a text with line
 * ends other than \n) goes through the expression, which says what a line is.
 */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  if (text.includes('\r') || text.includes('\u2028') || text.includes('\u2029')) {
    LINE.lastIndex = 0;
    for (let m = LINE.exec(text); m !== null; m = LINE.exec(text)) setMeminfo(out, m[1]!, m[2]!, m[3]);
    return out;
  }
  const prev = lastNames;
  const names: string[] = [];
  for (let start = 0, line = 0; start < text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', start);
    const value = colon > start && colon < end ? scanMeminfoValue(text, colon + 1, end) : -1;
    if (value >= 0) {
      const known = prev[line];
      const name = known !== undefined && known.length === colon - start && text.startsWith(known, start) ? known : text.slice(start, colon);
      names[line] = name;
      out.set(name, value);
    } else if (value === -1) {
      const m = ONE_LINE.exec(text.slice(start, end));
      if (m) setMeminfo(out, m[1]!, m[2]!, m[3]);
    }
    start = end + 1;
  }
  lastNames = names;
  return out;
}

function setMeminfo(out: Map<string, number>, name: string, digits: string, unit: string | undefined): void {
  const n = Number(digits);
  if (Number.isSafeInteger(n)) out.set(name, unit === 'kB' ? n * 1024 : n);
}

/**
 * The value of a meminfo line after its colon, [from, end): blanks, digits, then nothing
 * or blanks, "kB" and blanks. -1: another shape (the expression decides); -2: a number
 * too large to be exact (skipped, as the expression's lines are).
 */
function scanMeminfoValue(text: string, from: number, end: number): number {
  let i = from;
  let c = text.charCodeAt(i);
  while (i < end && (c === 32 || c === 9)) c = text.charCodeAt(++i);
  const digits = i;
  let n = 0;
  while (i < end && c >= 48 && c <= 57) {
    n = n * 10 + (c - 48);
    c = text.charCodeAt(++i);
  }
  if (i === digits) return -1;
  // Fifteen digits and fewer are exact; longer ones as Number() reads them.
  if (i - digits > 15) n = Number(text.slice(digits, i));
  if (!Number.isSafeInteger(n)) return -2;
  if (i === end) return n;
  const blanks = i;
  while (i < end && (c === 32 || c === 9)) c = text.charCodeAt(++i);
  if (i === end) return n;
  if (i === blanks || c !== 107 /* k */ || text.charCodeAt(i + 1) !== 66 /* B */) return -1;
  i += 2;
  c = text.charCodeAt(i);
  while (i < end && (c === 32 || c === 9)) c = text.charCodeAt(++i);
  return i === end ? n * 1024 : -1;
}

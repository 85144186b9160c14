// Parsing /proc/<pid>/stat into a process state and thread count, and tallying them
// into Telegraf's `processes` fields.
import { fields, int } from '../procfs.ts';

export interface ProcStat {
  state: string;
  threads: number | undefined;
}

/**
 * State and thread count of one process. The command name sits in parentheses and may
 * itself hold spaces and ")", so the fields are counted from the last ")".
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const f = fields(text.slice(close + 1));
  const state = f[0];
  if (state === undefined || state.length !== 1) return undefined;
  // num_threads is field 20 of proc(5), the 18th after the command name.
  return { state, threads: int(f[17]) };
}

/** The fields Telegraf sends on Linux, all zero, so an absent state still reads 0. */
export function emptyCounts(): Record<string, number> {
  return { blocked: 0, zombies: 0, stopped: 0, running: 0, sleeping: 0, total: 0, unknown: 0, dead: 0, paging: 0, total_threads: 0, idle: 0 };
}

// proc(5) state letters → Telegraf field. "P" (parked) exists since Linux 3.9 and
// Telegraf only sends the field when it sees one.
const STATES: Record<string, string> = {
  R: 'running',
  S: 'sleeping',
  D: 'blocked',
  Z: 'zombies',
  X: 'dead',
  x: 'dead',
  T: 'stopped',
  t: 'stopped',
  W: 'paging',
  I: 'idle',
  P: 'parked',
};

export function tally(counts: Record<string, number>, p: ProcStat): void {
  const field = STATES[p.state] ?? 'unknown';
  counts[field] = (counts[field] ?? 0) + 1;
  counts.total = (counts.total ?? 0) + 1;
  if (p.threads !== undefined && p.threads > 0) counts.total_threads = (counts.total_threads ?? 0) + p.threads;
}

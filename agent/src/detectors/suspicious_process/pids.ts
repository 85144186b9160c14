// Which listed processes may be new since the last gather, without reading every process's
// start time. The kernel hands pids out in increasing order from a cursor (the last pid
// handed out: the fifth field of /proc/loadavg), wrapping at pid_max; a pid listed at two
// gathers can only belong to another process the second time if the cursor swept over it
// in between. The number of forks since boot (/proc/stat `processes`, threads included, as
// threads take pids too) bounds how far the cursor went: when it cannot have come full
// circle, every pid outside the stretch it swept is still the same process.

/** The pid allocator as seen at one gather. */
export interface PidClock {
  /** The last pid handed out (in the reader's pid namespace). */
  cursor: number;
  /** Forks (processes and threads) since boot. */
  forks: number;
  /** Threads alive, each holding a pid. */
  threads: number;
}

/** "0.10 0.20 0.30 1/277 9397": the threads alive and the last pid handed out. */
export function parseLoadavg(text: string): { cursor: number; threads: number } | undefined {
  const m = /^\S+ \S+ \S+ \d+\/(\d+) (\d+)\s*$/.exec(text);
  return m ? { threads: Number(m[1]), cursor: Number(m[2]) } : undefined;
}

/** The `processes` line of /proc/stat: forks since boot. */
export function parseForks(stat: string): number | undefined {
  const at = stat.indexOf('\nprocesses ');
  if (at < 0) return undefined;
  const end = stat.indexOf('\n', at + 1);
  const n = Number(stat.slice(at + 11, end < 0 ? undefined : end));
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

// After a wrap the kernel hands out pids from 300 on (RESERVED_PIDS): a margin for the sweep.
const RESERVED = 300;

/**
 * The pids the cursor may have handed out between two gathers: `all` when it may have come
 * full circle (or the clocks make no sense), otherwise a test of one pid.
 */
export function sweptSince(before: PidClock, now: PidClock, pidMax: number): 'all' | ((pid: number) => boolean) {
  const forks = now.forks - before.forks;
  if (forks < 0 || !(pidMax > RESERVED)) return 'all';
  if (forks === 0) return now.cursor === before.cursor ? () => false : 'all';
  // The cursor passes each pid it hands out and each pid in use it skips: at most the forks,
  // plus the threads alive before, plus those forked since.
  const travel = 2 * forks + Math.max(before.threads, now.threads) + RESERVED;
  if (travel >= pidMax) return 'all';
  // Forks elsewhere (the count is the host's; in a child pid namespace the cursor is its own),
  // none here: the cursor cannot have come full circle back to where it was.
  if (now.cursor === before.cursor) return () => false;
  const from = before.cursor;
  const to = now.cursor;
  return to > from ? (pid) => pid > from && pid <= to : (pid) => pid > from || pid <= to;
}

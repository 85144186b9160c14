// What the benchmarks read about processes and the machine: CPU time and RSS from
// /proc, the machine description that goes next to every figure, and the common way
// a benchmark ends (figures as its last lines, exit code 1 when a target is missed).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface CpuSample {
  /** Own user+system CPU time, ms. */
  selfMs: number;
  /** CPU time of waited-for children (cutime+cstime), ms. */
  childrenMs: number;
  at: number;
}

/** utime+stime and cutime+cstime of a process from /proc/<pid>/stat. */
export function cpuOf(pid: number): CpuSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ".
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state); utime is field 14 → f[11].
  const t = ticksPerSecond();
  const ms = (i: number) => (Number(f[i]) * 1000) / t;
  return { selfMs: ms(11) + ms(12), childrenMs: ms(13) + ms(14), at: Date.now() };
}

/**
 * CPU of a process and all its children, ms: own, reaped children (cutime+cstime), and
 * children still alive (their own utime+stime+cutime+cstime from /proc/<child>/stat), so
 * a long-lived helper process (a ping kept running) is counted as much as one that exits.
 * The difference of two samples is the CPU spent between them: a child alive at the
 * first sample and reaped before the second moves from `liveChildrenMs` into `childrenMs`
 * with its whole total, and its part before the first sample cancels out.
 */
export interface CpuTreeSample extends CpuSample {
  liveChildrenMs: number;
  liveChildren: number[];
}

export function cpuTreeOf(pid: number): CpuTreeSample {
  const own = cpuOf(pid);
  let liveChildrenMs = 0;
  const liveChildren: number[] = [];
  for (const c of childrenOf(pid)) {
    try {
      const s = cpuOf(c);
      liveChildrenMs += s.selfMs + s.childrenMs;
      liveChildren.push(c);
    } catch {
      // exited between the listing and the read: its time is in our cutime once reaped
    }
  }
  return { ...own, liveChildrenMs, liveChildren };
}

/** Resident set size in bytes (VmRSS), or 0 when the process is gone. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Direct children of a process (all its threads'), by pid. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
      } catch {
        // thread ended meanwhile
      }
    }
  } catch {
    // process ended
  }
  return out;
}

export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** Samples RSS of a pid every interval; keeps max and last. */
export class RssWatch {
  max = 0;
  last = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(pid: number, intervalMs = 500) {
    const tick = () => {
      const r = rssOf(pid);
      if (r) {
        this.last = r;
        this.max = Math.max(this.max, r);
      }
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

export function machine(): string {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? '?';
  let mem = '?';
  try {
    const line = execFileSync('free', ['-h'], { encoding: 'utf8' })
      .split('\n')
      .find((l) => l.startsWith('Mem:'));
    mem = line?.split(/\s+/)[1] ?? '?';
  } catch {
    // free missing
  }
  let nproc = String(cpus().length);
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // nproc missing
  }
  return `nproc ${nproc}, RAM ${mem}, ${model}, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`;
}

export const MiB = 1024 * 1024;
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: not a number`);
  return n;
}

export interface Target {
  what: string;
  ok: boolean;
  /** Why a miss says nothing about Canh (the load generators were saturated): printed INCONCLUSIVE, not MISSED. */
  inconclusive?: string;
}

/** Print the closing figures (last lines of the output) and set the exit code. */
export function finish(bench: string, figures: string[], targets: Target[]): void {
  console.log('');
  console.log(`== ${bench} — ${machine()}`);
  for (const f of figures) console.log(f);
  for (const t of targets) console.log(t.ok ? `MET    ${t.what}` : t.inconclusive ? `INCONCLUSIVE ${t.what}: ${t.inconclusive}` : `MISSED ${t.what}`);
  const missed = targets.filter((t) => !t.ok && !t.inconclusive).length;
  const inconclusive = targets.filter((t) => !t.ok && t.inconclusive).length;
  console.log(
    missed
      ? `RESULT ${bench}: ${missed} target(s) missed`
      : inconclusive
        ? `RESULT ${bench}: inconclusive (${inconclusive} target(s) not measurable on this run)`
        : `RESULT ${bench}: all targets met`,
  );
  // 3: nothing missed, but not everything could be measured.
  process.exitCode = missed ? 1 : inconclusive ? 3 : 0;
}

/** Percentile of a sparse histogram {valueMs: count}. */
export function percentile(hist: Map<number, number>, p: number): number {
  let total = 0;
  for (const c of hist.values()) total += c;
  if (!total) return NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const k of [...hist.keys()].sort((a, b) => a - b)) {
    seen += hist.get(k)!;
    if (seen >= rank) return k;
  }
  return NaN;
}

export function mergeHist(into: Map<number, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into.set(Number(k), (into.get(Number(k)) ?? 0) + v);
}

/**
 * CPU time a process has run, in ms, from the scheduler's own accounting: the sum of
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds on the CPU, per thread). /proc/<pid>/stat
 * counts in clock ticks (10 ms) charged to whoever runs when the tick fires, which for a
 * process that wakes for a fraction of a millisecond every 10 s is a coin toss per tick;
 * this is exact. Threads that ended are not in it (Node's and collectd's threads live as
 * long as the process). Undefined when the kernel does not provide schedstat.
 */
export function runtimeMsOf(pid: number): number | undefined {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // thread ended meanwhile
      }
    }
  } catch {
    return undefined;
  }
  return Number.isFinite(ns) ? ns / 1e6 : undefined;
}

/** runtimeMsOf the process plus its live children (and theirs), plus reaped children's cutime+cstime (ticks). */
export function treeRuntimeMsOf(pid: number): number | undefined {
  const own = runtimeMsOf(pid);
  if (own === undefined) return undefined;
  let total = own + cpuOf(pid).childrenMs;
  for (const c of childrenOf(pid)) total += treeRuntimeMsOf(c) ?? 0;
  return total;
}

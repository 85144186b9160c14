// The running suspicious_process detector: which processes to look at in one gather, what
// each one runs, and the events. A process is looked at in full once, when it first appears;
// after that a gather reads only its executable link (an exec keeps the pid), as long as its
// pid cannot have been handed out again (pids.ts). The loops and the events are here; what a
// path means is in parse.ts, where programs may not come from in locations.ts.
import { closeSync, openSync, readFileSync, readSync as readFd, readdirSync, readlinkSync } from 'node:fs';
import { readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { z } from 'zod';
import type { Accumulator, InputContext } from '../../inputs/types.ts';
import { baselineStore, type BaselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { groupFindings, sample } from '../group-findings.ts';
import { parsePasswd } from '../passwd.ts';
import {
  formatCmdline,
  interpreterOf,
  isLoader,
  judgeExe,
  loadedProgram,
  parseStartTime,
  parseStatus,
  scriptArg,
  STDIN,
  stripDeleted,
  type Interpreter,
  type Verdict,
} from './parse.ts';
import { writableLocations } from './locations.ts';
import { parseForks, parseLoadavg, sweptSince, type PidClock } from './pids.ts';
import type { config } from './index.ts';

type Config = z.infer<typeof config>;

const BaselineSchema = shape.object({ reported: shape.array(shape.string) });
type Baseline = shape.Infer<typeof BaselineSchema>;

type Via = 'exe' | 'loader' | 'interpreter' | 'stdin';

/** What a process runs, as far as it matters here. */
interface Program {
  path: string;
  via: Via;
  interpreter?: Interpreter;
}

/** What is known of one listed pid. */
interface Tracked {
  /** /proc/<pid>/exe; null when it cannot be read (a kernel thread; another user's process without root). */
  exe: string | null;
  /** Start time (clock ticks since boot), read when needed: interpreters, the loader, reported processes. */
  start?: string;
  /** For interpreters and the loader: what they run (null: nothing to judge). */
  program?: Program | null;
  /** `pid:start` of a process whose program is suspicious. */
  key?: string;
}

interface Finding {
  pid: number;
  exe: string;
  program: Program;
  verdict: Verdict;
  cmdline: string;
  user: string;
  uid?: number;
  ppid?: number;
  inode?: number;
}

// /proc is in memory: read synchronously on the hot path, as a trip through the thread pool
// costs more than the read.
function readSync(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
// /proc/<pid>/stat is a few hundred bytes: one read into a kept buffer, without
// readFileSync's fstat and second read.
const statBuf = Buffer.alloc(4096);
function readStat(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const n = readFd(fd, statBuf, 0, statBuf.length, 0);
    return n < statBuf.length ? statBuf.toString('latin1', 0, n) : readSync(path);
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}
/** A /proc entry that is a process: digits only (without a regular expression, which the agent's V8 interprets). */
function isPid(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function linkSync(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null; // a kernel thread, a process gone, or not ours to inspect
  }
}

const MITRE_BY_INTERPRETER: Partial<Record<Interpreter, string>> = { shell: 'T1059.004', busybox: 'T1059.004', python: 'T1059.006', node: 'T1059.007' };

/** What one process or a group of one program is reported with, whichever it is. */
function programEvidence(f: Finding): Record<string, string> {
  return { exe: f.exe.slice(0, 1024), program: f.program.path.slice(0, 1024), via: f.program.via, cmdline: f.cmdline, user: f.user, reason: f.verdict.reason };
}

function describe(f: Finding): string {
  const p = f.program;
  const how =
    p.via === 'loader'
      ? ` through the dynamic loader ${f.exe}`
      : p.via === 'interpreter'
        ? ` with ${f.exe}`
        : p.via === 'stdin'
          ? ` on the standard input of ${f.exe}`
          : '';
  return `runs ${stripDeleted(p.path)}${how}; the file ${f.verdict.why}`;
}

function emit(acc: Accumulator, findings: Finding[], maxPerExe: number): void {
  const { single, grouped } = groupFindings(findings, (f) => f.program.path, maxPerExe);
  for (const f of single) {
    acc.addEvent({
      type: 'suspicious_process',
      severity: f.verdict.severity,
      mitre: f.verdict.mitre,
      message: `process ${f.pid} (user ${f.user}) ${describe(f)}`.slice(0, 2000),
      evidence: {
        pid: f.pid,
        ...programEvidence(f),
        ...(f.program.interpreter ? { interpreter: f.program.interpreter } : {}),
        ...(f.inode !== undefined ? { exe_inode: f.inode } : {}),
        ...(f.uid !== undefined ? { uid: f.uid } : {}),
        ...(f.ppid !== undefined ? { ppid: f.ppid } : {}),
      },
    });
  }
  for (const g of grouped) {
    const f = g.items[0]!;
    acc.addEvent({
      type: 'suspicious_process',
      severity: f.verdict.severity,
      mitre: f.verdict.mitre,
      message: `${g.items.length} processes ${describe(f)}`.slice(0, 2000),
      evidence: {
        ...programEvidence(f),
        pids: sample(
          g.items.map((x) => String(x.pid)),
          20,
        ),
      },
      count: g.items.length,
    });
  }
}

export class ProcessWatch {
  private readonly cfg: Config;
  private readonly ctx: InputContext;
  private readonly store: BaselineStore<Baseline>;
  private readonly allowExes: Set<string>;
  private readonly allowDirs: string[];
  private reported: Set<string> | undefined;
  private dirs: string[] = [];
  private dirsAt = -Infinity;
  private names = new Map<number, string>();
  private readonly tracked = new Map<string, Tracked>();
  private clock: PidClock | undefined;
  private pidMax = 0;
  /** Only the agent's own /proc tells the pid cursor of the namespace it lists (not a HOST_PROC mounted from elsewhere). */
  private readonly ownProc: boolean;
  /** procRoot without a trailing slash. */
  private readonly proc: string;
  /** Gathers that looked at every process in full (tests and the README's cost figures). */
  fullPasses = 0;

  constructor(cfg: Config, ctx: InputContext) {
    this.cfg = cfg;
    this.ctx = ctx;
    this.store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log: ctx.log });
    this.allowExes = new Set(cfg.allow_exes);
    this.allowDirs = cfg.allow_dirs.map((d) => (d.endsWith('/') ? d : `${d}/`));
    this.ownProc = ctx.procRoot === '/proc';
    this.proc = join(ctx.procRoot, '.');
  }

  private allowed(path: string): boolean {
    return this.allowExes.has(path) || this.allowDirs.some((d) => path.startsWith(d));
  }

  private async refreshHost(): Promise<void> {
    const text = await this.ctx.readFile('/etc/passwd').catch(() => '');
    const users = parsePasswd(text).users;
    this.names = new Map(users.map((u) => [u.uid, u.name]));
    this.dirs = await writableLocations(
      this.ctx,
      this.cfg.dirs,
      users.map((u) => u.home),
      this.cfg.host_dirs,
    );
    this.pidMax = Number(await this.ctx.readFile(join(this.ctx.procRoot, 'sys/kernel/pid_max')).catch(() => '0')) || 0;
    this.dirsAt = this.ctx.now();
    this.ctx.log.debug({ dirs: this.dirs }, 'suspicious_process folders');
  }

  /** The pid allocator now (undefined when it cannot be read, or is not the listed namespace's). */
  private async readClock(): Promise<PidClock | undefined> {
    if (!this.ownProc) return undefined;
    const load = parseLoadavg(await this.ctx.readFile('/proc/loadavg').catch(() => ''));
    const forks = parseForks(await this.ctx.readFile('/proc/stat').catch(() => ''));
    return load && forks !== undefined ? { ...load, forks } : undefined;
  }

  /** The program behind a loader or an interpreter; null when it runs nothing judged. */
  private async programOf(dir: string, exe: string): Promise<Program | null> {
    if (isLoader(exe)) {
      const maps = await this.ctx.readFile(join(dir, 'maps')).catch(() => '');
      const path = loadedProgram(maps, exe);
      return path ? { path, via: 'loader' } : null;
    }
    const kind = interpreterOf(exe);
    if (!kind) return null;
    const argv = (await this.ctx.readFile(join(dir, 'cmdline')).catch(() => '')).replace(/\0+$/, '').split('\0');
    const script = scriptArg(kind, argv);
    // Code on the command line (`bash -c '… < /tmp/list'`): its standard input is data.
    if (script === null) return null;
    if (script === STDIN) {
      // `bash < /dev/shm/x.sh`; `curl … | sh` is a pipe: nothing to judge.
      const stdin = await readlink(join(dir, 'fd', '0')).catch(() => '');
      return stdin.startsWith('/') || stdin.startsWith('/memfd:') ? { path: stdin, via: 'stdin', interpreter: kind } : null;
    }
    let path = script;
    if (!isAbsolute(path)) {
      const cwd = await readlink(join(dir, 'cwd')).catch(() => undefined);
      if (!cwd) return null;
      path = join(cwd, path);
    }
    // A symlink elsewhere pointing into /tmp counts as /tmp; a deleted script keeps its name.
    path = await realpath(path).catch(() => path);
    return { path, via: 'interpreter', interpreter: kind };
  }

  /**
   * Judges what one process runs. `prev`: what was known of this pid, reused when it is the
   * same process (same start time) running the same executable.
   */
  private async examine(dir: string, exe: string, prev: Tracked | undefined): Promise<{ t: Tracked; program?: Program; verdict?: Verdict }> {
    const t: Tracked = { exe };
    let program: Program = { path: exe, via: 'exe' };
    let verdict = this.allowed(stripDeleted(exe)) ? undefined : judgeExe(exe, this.dirs);
    if (!verdict && (isLoader(exe) || interpreterOf(exe))) {
      t.start = parseStartTime(readStat(`${dir}/stat`));
      t.program = prev && prev.start === t.start && prev.exe === exe && prev.program !== undefined ? prev.program : await this.programOf(dir, exe);
      if (t.program && !this.allowed(stripDeleted(t.program.path))) {
        const v = judgeExe(t.program.path, this.dirs);
        // A deleted script or loaded file under a system folder is an upgrade, not news.
        if (v && v.severity !== 'low') {
          program = t.program;
          verdict = program.interpreter && v.reason === 'temp_dir' ? { ...v, mitre: MITRE_BY_INTERPRETER[program.interpreter] ?? 'T1059' } : v;
        }
      }
    }
    if (!verdict) return { t };
    t.start ??= parseStartTime(readStat(`${dir}/stat`));
    // One process is one event: its file being deleted later does not make it new.
    t.key = `${dir.slice(dir.lastIndexOf('/') + 1)}:${t.start ?? '?'}`;
    return { t, program, verdict };
  }

  /** The evidence of a process about to be reported. */
  private async finding(pid: string, exe: string, program: Program, verdict: Verdict): Promise<Finding> {
    const dir = join(this.ctx.procRoot, pid);
    const status = parseStatus(await this.ctx.readFile(join(dir, 'status')).catch(() => ''));
    const cmdline = formatCmdline(await this.ctx.readFile(join(dir, 'cmdline')).catch(() => ''), this.cfg.max_cmdline);
    const inode = await stat(join(dir, 'exe')).then(
      (s) => s.ino,
      () => undefined,
    );
    const user = status.uid === undefined ? 'unknown' : (this.names.get(status.uid) ?? String(status.uid));
    return { pid: Number(pid), exe, program, verdict, cmdline, user, uid: status.uid, ppid: status.ppid, inode };
  }

  /**
   * Looks at the listed processes: in full those that may be new (`fresh`), otherwise only
   * whether their executable changed. Returns the keys of suspicious processes alive and the
   * findings not reported before.
   */
  private async look(pids: string[], fresh: (pid: string) => boolean): Promise<{ alive: Set<string>; findings: Finding[] }> {
    const alive = new Set<string>();
    const findings: Finding[] = [];
    for (const pid of pids) {
      const prev = this.tracked.get(pid);
      const again = prev !== undefined && !fresh(pid);
      // A kernel thread stays one (and an unreadable process unreadable) while its pid is its own.
      if (again && prev.exe === null) continue;
      // A template, not path.join: this runs for every process every gather.
      const dir = `${this.proc}/${pid}`;
      const exe = linkSync(`${dir}/exe`);
      if (again && exe === prev.exe) {
        if (prev.key) alive.add(prev.key);
        continue;
      }
      if (exe === null) {
        this.tracked.set(pid, { exe });
        continue;
      }
      const r = await this.examine(dir, exe, prev);
      this.tracked.set(pid, r.t);
      if (!r.t.key || !r.program || !r.verdict) continue;
      alive.add(r.t.key);
      if (this.reported!.has(r.t.key)) continue;
      findings.push(await this.finding(pid, exe, r.program, r.verdict));
      this.reported!.add(r.t.key);
    }
    return { alive, findings };
  }

  async gather(acc: Accumulator): Promise<void> {
    this.reported ??= new Set(((await this.store.load())?.reported ?? []).map((k) => k.split(':').slice(0, 2).join(':')));
    // The host's folders may have changed: every process is judged again against them.
    let full = false;
    if (this.ctx.now() - this.dirsAt >= this.cfg.host_dirs_refresh) {
      await this.refreshHost();
      full = true;
    }
    // Read before the listing: a process forked in between is not in the last listing either.
    const clock = await this.readClock();
    let pids: string[];
    try {
      pids = readdirSync(this.proc).filter(isPid);
    } catch (err) {
      this.ctx.log.warn({ err, code: 'CANH_ERR_PROC_UNREADABLE' }, 'cannot list processes; is procfs mounted (HOST_PROC)?');
      return;
    }
    const swept = !full && this.clock && clock ? sweptSince(this.clock, clock, this.pidMax) : 'all';
    this.clock = clock;
    if (swept === 'all') this.fullPasses++;
    const { alive, findings } = await this.look(pids, swept === 'all' ? () => true : (pid) => swept(Number(pid)));
    const listed = new Set(pids);
    for (const pid of this.tracked.keys()) if (!listed.has(pid)) this.tracked.delete(pid);
    emit(acc, findings, this.cfg.max_events_per_exe);
    // Forget processes that have ended, so the baseline stays small.
    let changed = findings.length > 0;
    for (const k of this.reported) {
      if (!alive.has(k)) {
        this.reported.delete(k);
        changed = true;
      }
    }
    if (changed) await this.store.save({ reported: [...this.reported] });
  }
}

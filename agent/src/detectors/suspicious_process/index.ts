// suspicious_process: reports processes whose program lives in a world-writable or temporary
// folder, runs from memory only (memfd), or was deleted after start — the usual footprint of
// a dropped payload, cryptominer or web-shell child. The program is what really runs, never
// argv[0]: the executable (/proc/<pid>/exe), the file the dynamic loader mapped when the
// executable is the loader (`ld-linux.so /dev/shm/x`), or the script a known interpreter
// reads (`python3 /tmp/x.py`, `bash < /dev/shm/x.sh`). Each process (pid + start time) is
// reported once, across agent restarts too.
import { closeSync, openSync, readFileSync, readSync as readFd, readdirSync, readlinkSync } from 'node:fs';
import { readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { defineInput } from '../../inputs/types.ts';
import { baselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { groupFindings, sample } from '../group-findings.ts';
import { parsePasswd } from '../passwd.ts';
import { duration } from '@canh/core';
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

const absDir = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), 'must be an absolute path');

const config = z.object({
  /** Folders a program should never run from, besides those found on the host. */
  dirs: z.array(absDir).default(['/tmp', '/var/tmp', '/dev/shm', '/run/lock', '/var/crash']),
  /** Add the host's memory file systems, world-writable sticky folders and users' ~/.cache. */
  host_dirs: z.boolean().default(true),
  /** How often the host's folders are looked for again. */
  host_dirs_refresh: duration({ min: 1000 }).default(600_000),
  /** Programs allowed anyway (exact paths of executables, loaded programs or scripts). */
  allow_exes: z.array(z.string().min(1)).default([]),
  /** Folders whose programs are allowed anyway (a browser cache under ~/.cache, say). */
  allow_dirs: z.array(absDir).default([]),
  /** Longest command line kept as evidence (characters). */
  max_cmdline: z.number().int().min(16).max(4096).default(512),
  /** More processes than this of one program in one gather become one event. */
  max_events_per_exe: z.number().int().min(1).default(5),
  state_name: z
    .string()
    .regex(/^[a-z0-9_.-]+$/i)
    .default('suspicious_process'),
});

const BaselineSchema = shape.object({ reported: shape.array(shape.string) });

type Via = 'exe' | 'loader' | 'interpreter' | 'stdin';

/** What a process runs, as far as it matters here. */
interface Program {
  path: string;
  via: Via;
  interpreter?: Interpreter;
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

// /proc is in memory: read synchronously on the hot path (one per process per gather),
// as a trip through the thread pool costs more than the read.
function readSync(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
// /proc/<pid>/stat is a few hundred bytes (the name in it is at most 16): one read into a
// kept buffer, without readFileSync's fstat and second read (this runs for every
// interpreter process at every gather).
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
function linkSync(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined; // a kernel thread, a process gone, or not ours to inspect
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

export default defineInput({
  name: 'suspicious_process',
  description: 'Processes whose program (executable, loaded file or interpreted script) is in a world-writable folder, in memory only, or deleted',
  platforms: ['linux'],
  config,
  // eslint-disable-next-line max-lines-per-function -- longer than 80 lines, still to split (issue 20)
  create(cfg, ctx) {
    const store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log: ctx.log });
    const allowExes = new Set(cfg.allow_exes);
    const allowDirs = cfg.allow_dirs.map((d) => (d.endsWith('/') ? d : `${d}/`));
    const allow = { has: (p: string) => allowExes.has(p) || allowDirs.some((d) => p.startsWith(d)) };
    let reported: Set<string> | undefined;
    let dirs: string[] = [];
    let dirsAt = -Infinity;
    let names = new Map<number, string>();
    // Per pid: the start time and what that process runs, for interpreters and the loader
    // (their cmdline and maps are read once per process, not every gather).
    const programs = new Map<string, { start: string | undefined; exe: string; program: Program | null }>();

    const refreshHost = async () => {
      const text = await ctx.readFile('/etc/passwd').catch(() => '');
      const users = parsePasswd(text).users;
      names = new Map(users.map((u) => [u.uid, u.name]));
      dirs = await writableLocations(
        ctx,
        cfg.dirs,
        users.map((u) => u.home),
        cfg.host_dirs,
      );
      dirsAt = ctx.now();
      ctx.log.debug({ dirs }, 'suspicious_process folders');
    };

    /** The program behind a loader or an interpreter; null when it runs nothing judged. */
    const programOf = async (dir: string, exe: string): Promise<Program | null> => {
      if (isLoader(exe)) {
        const maps = await ctx.readFile(join(dir, 'maps')).catch(() => '');
        const path = loadedProgram(maps, exe);
        return path ? { path, via: 'loader' } : null;
      }
      const kind = interpreterOf(exe);
      if (!kind) return null;
      const argv = (await ctx.readFile(join(dir, 'cmdline')).catch(() => '')).replace(/\0+$/, '').split('\0');
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
    };

    return {
      // eslint-disable-next-line max-lines-per-function -- longer than 80 lines, still to split (issue 20)
      async gather(acc) {
        if (!reported) reported = new Set(((await store.load())?.reported ?? []).map((k) => k.split(':').slice(0, 2).join(':')));
        if (ctx.now() - dirsAt >= cfg.host_dirs_refresh) await refreshHost();
        let pids: string[];
        try {
          pids = readdirSync(ctx.procRoot).filter((n) => /^\d+$/.test(n));
        } catch (err) {
          ctx.log.warn({ err, code: 'CANH_ERR_PROC_UNREADABLE' }, 'cannot list processes; is procfs mounted (HOST_PROC)?');
          return;
        }
        const alive = new Set<string>();
        const seenPids = new Set(pids);
        const findings: Finding[] = [];
        for (const pid of pids) {
          const dir = join(ctx.procRoot, pid);
          // Kernel threads have no exe; other users' processes need root: both are skipped.
          const exe = linkSync(`${dir}/exe`);
          if (!exe) continue;
          let program: Program = { path: exe, via: 'exe' };
          let verdict = allow.has(stripDeleted(exe)) ? undefined : judgeExe(exe, dirs);
          let start: string | undefined;
          if (!verdict && (isLoader(exe) || interpreterOf(exe))) {
            start = parseStartTime(readStat(`${dir}/stat`));
            let known = programs.get(pid);
            if (!known || known.start !== start || known.exe !== exe) {
              known = { start, exe, program: await programOf(dir, exe) };
              programs.set(pid, known);
            }
            if (known.program && !allow.has(stripDeleted(known.program.path))) {
              const v = judgeExe(known.program.path, dirs);
              // A deleted script or loaded file under a system folder is an upgrade, not news.
              if (v && v.severity !== 'low') {
                program = known.program;
                verdict = program.interpreter && v.reason === 'temp_dir' ? { ...v, mitre: MITRE_BY_INTERPRETER[program.interpreter] ?? 'T1059' } : v;
              }
            }
          }
          if (!verdict) continue;
          start ??= parseStartTime(readStat(`${dir}/stat`));
          // One process is one event: its file being deleted later does not make it new.
          const key = `${pid}:${start ?? '?'}`;
          alive.add(key);
          if (reported.has(key)) continue;
          const status = parseStatus(await ctx.readFile(join(dir, 'status')).catch(() => ''));
          const cmdline = formatCmdline(await ctx.readFile(join(dir, 'cmdline')).catch(() => ''), cfg.max_cmdline);
          const inode = await stat(join(dir, 'exe')).then(
            (s) => s.ino,
            () => undefined,
          );
          const user = status.uid === undefined ? 'unknown' : (names.get(status.uid) ?? String(status.uid));
          findings.push({ pid: Number(pid), exe, program, verdict, cmdline, user, uid: status.uid, ppid: status.ppid, inode });
          reported.add(key);
        }
        for (const pid of programs.keys()) if (!seenPids.has(pid)) programs.delete(pid);
        const { single, grouped } = groupFindings(findings, (f) => f.program.path, cfg.max_events_per_exe);
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
        // Forget processes that have ended, so the baseline stays small.
        let changed = findings.length > 0;
        for (const k of reported) {
          if (!alive.has(k)) {
            reported.delete(k);
            changed = true;
          }
        }
        if (changed) await store.save({ reported: [...reported] });
      },
    };
  },
});

// Pure logic of suspicious_process: what makes an executable path suspicious, and parsing
// of /proc/<pid>/status, stat and cmdline.
import type { Severity } from '@canh/protocol';

export interface Verdict {
  reason: 'temp_dir' | 'deleted' | 'memfd';
  severity: Severity;
  mitre: string;
  /** What is wrong with the file, to follow "the file": "is in /tmp, a world-writable folder". */
  why: string;
}

const DELETED = ' (deleted)';
// Where package managers put binaries: a deleted one there is most likely a daemon still
// running the old version after an upgrade, not an attacker.
const SYSTEM_PREFIXES = ['/usr/', '/bin/', '/sbin/', '/lib/', '/lib64/', '/opt/', '/snap/'];

export const stripDeleted = (p: string): string => (p.endsWith(DELETED) ? p.slice(0, -DELETED.length) : p);

// Each folder with its "/" appended, made once per list (the list is the same object from
// one host refresh to the next): judging every process at every gather then allocates nothing.
const prefixesOf = new WeakMap<readonly string[], (string | undefined)[]>();

/** The most specific listed folder holding `path`: the folder itself and what is under it ("/" holds everything). */
function holder(path: string, dirs: readonly string[]): string | undefined {
  let prefixes = prefixesOf.get(dirs);
  if (!prefixes || prefixes.length !== dirs.length) {
    prefixes = dirs.map((d) => (d === '/' ? undefined : d.endsWith('/') ? d : `${d}/`));
    prefixesOf.set(dirs, prefixes);
  }
  let best: string | undefined;
  for (let i = 0; i < dirs.length; i++) {
    const d = dirs[i]!;
    const p = prefixes[i];
    if ((p === undefined || path.startsWith(p)) && (!best || d.length > best.length)) best = d;
  }
  return best;
}

/**
 * Judges the file a process runs: its executable as /proc/<pid>/exe shows it (with
 * " (deleted)"), the program the dynamic loader mapped, or the script an interpreter reads.
 */
export function judgeExe(exe: string, dirs: readonly string[]): Verdict | undefined {
  const deleted = exe.endsWith(DELETED);
  const path = stripDeleted(exe);
  if (path.startsWith('/memfd:')) {
    return { reason: 'memfd', severity: 'high', mitre: 'T1620', why: 'exists in memory only (memfd), a fileless-malware technique' };
  }
  const dir = holder(path, dirs);
  if (dir)
    return {
      reason: 'temp_dir',
      severity: 'high',
      mitre: 'T1059',
      why: `is in ${dir}, a world-writable folder${deleted ? ', and was deleted after the process started' : ''}`,
    };
  if (deleted) {
    if (SYSTEM_PREFIXES.some((p) => path.startsWith(p))) {
      return { reason: 'deleted', severity: 'low', mitre: 'T1036', why: 'was deleted (likely replaced by a package upgrade: restart the service)' };
    }
    return { reason: 'deleted', severity: 'high', mitre: 'T1036', why: 'was deleted after the process started' };
  }
  return undefined;
}

// ---- the program behind the executable -------------------------------------------------

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** The ELF dynamic loader (glibc ld-linux*, ld.so, ld64.so, musl's ld-musl-*). */
export function isLoader(exe: string): boolean {
  return /^(ld-linux[\w.-]*\.so(\.\d+)*|ld\.so(\.\d+)*|ld64\.so(\.\d+)*|ld-musl-[\w.-]+\.so(\.\d+)*)$/.test(base(stripDeleted(exe)));
}

/**
 * File mappings with execute permission in /proc/<pid>/maps, in address order, each once.
 * Paths are as the kernel prints them (" (deleted)" kept; "\012" for a newline).
 */
export function execMappings(maps: string): string[] {
  const out: string[] = [];
  for (const line of maps.split('\n')) {
    // address perms offset dev inode path — the path may hold spaces.
    const m = /^[0-9a-f]+-[0-9a-f]+ (\S{4}) [0-9a-f]+ \S+ (\d+)\s+(.+)$/.exec(line);
    if (!m || m[1]![2] !== 'x' || m[2] === '0') continue;
    const path = m[3]!;
    if (!path.startsWith('/') || out.includes(path)) continue;
    out.push(path);
  }
  return out;
}

const SHARED_LIB = /\.so(\.\d+)*( \(deleted\))?$/;

/**
 * What a process started as `ld-linux.so PROGRAM` runs: the first executable file mapping
 * that is neither the loader nor a shared library; failing that (`ld.so /tmp/x.so`), the
 * first one that is not the loader.
 */
export function loadedProgram(maps: string, loader: string): string | undefined {
  const files = execMappings(maps).filter((p) => stripDeleted(p) !== stripDeleted(loader) && !isLoader(p));
  return files.find((p) => !SHARED_LIB.test(p)) ?? files[0];
}

export type Interpreter = 'python' | 'perl' | 'ruby' | 'php' | 'node' | 'shell' | 'busybox' | 'lua' | 'tcl';

const INTERPRETERS: [RegExp, Interpreter][] = [
  [/^python[\d.]*[dmu]?$/, 'python'],
  [/^pypy[\d.]*$/, 'python'],
  [/^perl[\d.]*$/, 'perl'],
  [/^ruby[\d.]*$/, 'ruby'],
  [/^php[\d.]*(-cli|-cgi)?$/, 'php'],
  [/^(node|nodejs|bun|deno)$/, 'node'],
  [/^(bash|sh|dash|ash|zsh|ksh|ksh93|mksh|yash|fish|csh|tcsh|rbash)$/, 'shell'],
  [/^busybox$/, 'busybox'],
  [/^lua[\d.]*$/, 'lua'],
  [/^(tclsh|wish)[\d.]*$/, 'tcl'],
];

/** The interpreter an executable is, judged by its real path (never by argv[0]). */
export function interpreterOf(exe: string): Interpreter | undefined {
  const name = base(stripDeleted(exe));
  return INTERPRETERS.find(([re]) => re.test(name))?.[1];
}

// Options whose next argument is a value, not the script; and those that take the program
// text itself (then there is no script file to judge).
const VALUE_OPTS: Record<Interpreter, string[]> = {
  python: ['-W', '-X', '-Q'],
  perl: ['-I', '-M', '-m', '-x'],
  ruby: ['-I', '-r', '-C', '-E', '-K', '-F'],
  php: ['-c', '-d', '-z', '-B', '-R', '-F', '-E'],
  node: ['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--env-file', '--title', '--input-type'],
  shell: ['-o', '+o', '-O', '+O', '--rcfile', '--init-file'],
  busybox: [],
  lua: ['-l'],
  tcl: ['-encoding'],
};
const CODE_OPTS: Record<Interpreter, string[]> = {
  python: ['-c', '-m'],
  perl: ['-e', '-E'],
  ruby: ['-e'],
  php: ['-r'],
  node: ['-e', '--eval', '-p', '--print'],
  shell: ['-c'],
  busybox: [],
  lua: ['-e'],
  tcl: [],
};
const SHELL_APPLETS = new Set(['sh', 'ash', 'hush', 'bash']);

/** The program of an interpreter comes on its standard input (`bash < x.sh`, `curl … | sh`). */
export const STDIN = '-';

/**
 * The script file an interpreter runs, from its argument vector: the first argument that is
 * not an option (`php -f FILE` names it explicitly). `STDIN` when it reads its program from
 * standard input (no script argument, `-`, `sh -s`); `null` when it runs code given on the
 * command line (`-c`, `-e`, `-m`) or a busybox applet that is not a shell.
 */
export function scriptArg(kind: Interpreter, argv: readonly string[]): string | null {
  let args = argv.slice(1);
  if (kind === 'busybox') {
    // busybox APPLET ARGS...: only its shells run scripts.
    if (!args[0] || !SHELL_APPLETS.has(args[0])) return null;
    args = args.slice(1);
    kind = 'shell';
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1] ?? STDIN;
    if (a === '-') return STDIN;
    if (kind === 'php' && a === '-f') return args[i + 1] ?? null;
    if (!a.startsWith('-') && !(kind === 'shell' && a.startsWith('+'))) return a;
    const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (CODE_OPTS[kind].includes(flag)) return null;
    // Bundled short flags ending in c (sh -ec 'code', python -Bc 'code').
    if (!a.startsWith('--') && (kind === 'shell' || kind === 'python') && /^-[a-zA-Z]*c$/.test(a)) return null;
    if (kind === 'shell' && a === '-s') return STDIN;
    if (VALUE_OPTS[kind].includes(flag) && !a.includes('=')) i++;
  }
  return STDIN;
}

// ---- where programs should not come from -----------------------------------------------

const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** Mount points of memory file systems (tmpfs, ramfs) mounted read-write, from /proc/mounts. */
export function memoryMounts(mounts: string): string[] {
  const out: string[] = [];
  for (const line of mounts.split('\n')) {
    const f = line.split(' ');
    if (f.length < 4 || !['tmpfs', 'ramfs'].includes(f[2]!)) continue;
    if (f[3]!.split(',').includes('ro')) continue;
    const at = unescapeMount(f[1]!);
    if (at.startsWith('/') && !out.includes(at)) out.push(at);
  }
  return out;
}

/** Mount points as a list (all types), to look for world-writable sticky folders at their top. */
export function mountPoints(mounts: string): string[] {
  return [
    ...new Set(
      mounts
        .split('\n')
        .map((l) => l.split(' ')[1])
        .filter((p): p is string => !!p && p.startsWith('/'))
        .map(unescapeMount),
    ),
  ];
}

/** Real uid, parent pid and name from /proc/<pid>/status. */
export function parseStatus(text: string): { uid?: number; ppid?: number; name?: string } {
  const out: { uid?: number; ppid?: number; name?: string } = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const k = line.slice(0, i);
    const v = line.slice(i + 1).trim();
    if (k === 'Uid') {
      const n = Number(v.split(/\s+/)[0]);
      if (Number.isInteger(n)) out.uid = n;
    } else if (k === 'PPid') {
      const n = Number(v);
      if (Number.isInteger(n)) out.ppid = n;
    } else if (k === 'Name') out.name = v;
  }
  return out;
}

/** Start time (clock ticks since boot, field 22) from /proc/<pid>/stat; tells pid reuse apart. */
export function parseStartTime(stat: string): string | undefined {
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const v = rest[19];
  return v && /^\d+$/.test(v) ? v : undefined;
}

/** Arguments joined by spaces, control characters made visible, bounded. */
export function formatCmdline(raw: string, max = 512): string {
  const s = raw
    .replace(/\0+$/, '')
    .replace(/\0/g, ' ')
    .replace(/[\x00-\x1f\x7f]/g, '?');
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

// The real operating system behind InputContext: node:fs for /proc and /sys, a bounded
// child process for the few inputs that must exec (ping, wevtutil).
import { readFile, readdir, statfs } from 'node:fs/promises';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statfsSync, unlinkSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { ExecOptions, ExecResult, InputContext, LongProcess } from './inputs/types.ts';
import { fileState } from './state.ts';
import { CounterSource } from './inputs/perf-counters/source.ts';

const MAX_OUTPUT = 4 * 1024 * 1024;

export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let grace: NodeJS.Timeout | undefined;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          if (!opts.graceMs) return void child.kill('SIGKILL');
          child.kill('SIGINT');
          grace = setTimeout(() => child.kill('SIGKILL'), opts.graceMs);
        }, opts.timeoutMs)
      : undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(err.message), timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** A program kept running, its output split into lines (a partial last line waits for the rest). */
/** Splits chunks into lines; a partial last line waits for the rest. */
function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let rest = '';
  return (d: string) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop() ?? '';
    if (rest.length > 64 * 1024) rest = '';
    for (const l of parts) onLine(l);
  };
}

/**
 * The output of a process kept in a file with no name (created in `dir` and unlinked at
 * once: nothing is left behind, whatever happens), read from where the last read ended.
 */
function outputFile(dir: string): { fd: number; read: (onLine: (line: string) => void) => void; close: () => void } {
  const path = join(dir, `.output-${process.pid}-${randomUUID()}`);
  const fd = openSync(path, 'w+', 0o600);
  unlinkSync(path);
  let pos = 0;
  let closed = false;
  const buf = Buffer.alloc(16 * 1024);
  const decoder = new StringDecoder('utf8');
  let split: ((chunk: string) => void) | undefined;
  let deliver: (line: string) => void = () => {};
  return {
    fd,
    read(onLine) {
      if (closed) return;
      deliver = onLine;
      split ??= lineSplitter((l) => deliver(l));
      for (let n = readSync(fd, buf, 0, buf.length, pos); n > 0; n = readSync(fd, buf, 0, buf.length, pos)) {
        pos += n;
        split(decoder.write(buf.subarray(0, n)));
      }
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

export function startProcess(
  cmd: string,
  args: readonly string[],
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
  onExit: (code: number | null, signal: string | null, error?: string) => void,
  opts: { readOnDemand?: boolean; outputDir?: string } = {},
): LongProcess {
  if (opts.readOnDemand) return startReadOnDemand(cmd, args, onLine, onExit, opts.outputDir ?? tmpdir());
  // Standard input is not needed: 'ignore' saves a pipe and its stream.
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  let ended = false;
  const end = (code: number | null, signal: string | null, error?: string) => {
    if (ended) return;
    ended = true;
    onExit(code, signal, error);
  };
  child.stdout.setEncoding('utf8').on(
    'data',
    lineSplitter((l) => onLine(l, 'stdout')),
  );
  child.stderr.setEncoding('utf8').on(
    'data',
    lineSplitter((l) => onLine(l, 'stderr')),
  );
  child.on('error', (err) => end(null, null, err.message));
  child.on('close', (code, signal) => end(code, signal));
  return {
    pid: child.pid,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/**
 * The process writes into a file instead of a pipe: no event-loop wake-up per line (a
 * kept ping prints one per interval, which woke the agent in the middle of every cycle).
 * Its end still arrives at once (SIGCHLD).
 */
function startReadOnDemand(
  cmd: string,
  args: readonly string[],
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
  onExit: (code: number | null, signal: string | null, error?: string) => void,
  dir: string,
): LongProcess {
  let out: ReturnType<typeof outputFile>;
  try {
    out = outputFile(dir);
  } catch (err) {
    queueMicrotask(() => onExit(null, null, `cannot keep the output of ${cmd} in ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`));
    return { pid: undefined, kill: () => {}, readOutput: () => {} };
  }
  const child = spawn(cmd, args, { stdio: ['ignore', out.fd, out.fd], env: { ...process.env, LC_ALL: 'C' } });
  let ended = false;
  const readOutput = () => out.read((l) => onLine(l, 'stdout'));
  const end = (code: number | null, signal: string | null, error?: string) => {
    if (ended) return;
    ended = true;
    onExit(code, signal, error);
  };
  child.on('error', (err) => {
    out.close();
    end(null, null, err.message);
  });
  let killed = false;
  child.on('exit', (code, signal) => {
    // Stopped by us: nobody reads on. Ended by itself: its last words are read first
    // (the caller reads, then kills, which closes).
    if (killed) out.close();
    end(code, signal);
  });
  return {
    pid: child.pid,
    kill: () => {
      killed = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      else out.close();
    },
    readOutput,
  };
}

function attempt<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * One read of a file per tick. The inputs of one tick gather in the same turn of the event
 * loop, and some read the same file: `cpu` and `system` both read /proc/stat (whose
 * interrupt counters the kernel formats at every read), `mem` and `swap` /proc/meminfo.
 * Between open() (a tick begins: the agent's scheduler says so) and close() (its gathers
 * are done, or outlast the turn) they share one read, and so also one instant. Never
 * longer than the turn open() was called in, whatever happens; outside a tick (a gather
 * called directly, `canh-agent check`) every read is a read. Errors are shared the same way.
 */
export class TickReads {
  private memo: Map<string, { text: string } | { err: unknown }> | undefined;
  private turnEnd: NodeJS.Immediate | undefined;
  reads = 0;

  open(): void {
    this.memo ??= new Map();
    this.turnEnd ??= setImmediate(() => this.close());
  }

  close(): void {
    this.memo = undefined;
    if (this.turnEnd) clearImmediate(this.turnEnd);
    this.turnEnd = undefined;
  }

  read(path: string, readFile: (p: string) => string): string {
    const memo = this.memo;
    if (!memo) {
      this.reads++;
      return readFile(path);
    }
    let r = memo.get(path);
    if (!r) {
      this.reads++;
      try {
        r = { text: readFile(path) };
      } catch (err) {
        r = { err };
      }
      memo.set(path, r);
    }
    if ('err' in r) throw r.err;
    return r.text;
  }
}

/** The agent's: its scheduler opens and closes it around each tick. */
export const tickReads = new TickReads();

/**
 * Files kept open by path (at most `max`) and read again from offset 0. A failed read of
 * a kept descriptor closes it and opens the path again once; a path whose first read
 * fails is not kept.
 */
abstract class KeptDescriptors {
  private readonly fds = new Map<string, number>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  protected abstract readAll(fd: number): string;

  protected readKept(path: string): string {
    const fd = this.fds.get(path);
    if (fd !== undefined) {
      try {
        return this.readAll(fd);
      } catch {
        this.forget(path);
      }
    }
    const opened = openSync(path, 'r');
    let text: string;
    try {
      text = this.readAll(opened);
    } catch (err) {
      closeSync(opened);
      throw err;
    }
    if (this.fds.size < this.max) this.fds.set(path, opened);
    else closeSync(opened);
    return text;
  }

  private forget(path: string): void {
    const fd = this.fds.get(path);
    this.fds.delete(path);
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // already unusable
    }
  }

  /** Descriptors kept now (tests). */
  get size(): number {
    return this.fds.size;
  }

  closeAll(): void {
    for (const p of [...this.fds.keys()]) this.forget(p);
  }
}

/**
 * procfs files an agent reads every tick (/proc/stat, /proc/meminfo, /proc/net/dev...),
 * kept open and read again from offset 0: the kernel writes them afresh at each read from
 * the start, and a read of a kept descriptor costs two system calls instead of open,
 * fstat, two reads and close (and the path walk through /proc). Only files whose identity
 * cannot change under the descriptor: not /proc/<pid>/ (a pid is reused), not sysfs
 * (an interface renamed keeps its files under another name: KeptAttributes).
 */
export class KeptFiles extends KeptDescriptors {
  private buf = Buffer.allocUnsafe(16 * 1024);

  constructor(max = 32) {
    super(max);
  }

  read(path: string): string {
    return this.readKept(path);
  }

  protected readAll(fd: number): string {
    let n = 0;
    for (;;) {
      if (n === this.buf.length) {
        const bigger = Buffer.allocUnsafe(this.buf.length * 2);
        this.buf.copy(bigger);
        this.buf = bigger;
      }
      const r = readSync(fd, this.buf, n, this.buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return this.buf.toString('utf8', 0, n);
  }
}

const keptFiles = new KeptFiles();

/**
 * Small sysfs attributes read every tick (an interface's `flags` and `speed`), kept open
 * and read again from offset 0 in one system call (sysfs hands out an attribute whole in
 * one read) instead of open, two reads and close. sysfs follows renames: a descriptor of
 * /sys/class/net/eth0/flags reads the same interface after it is renamed, under whatever
 * name. So the caller passes a `generation` saying which names mean which objects (the net
 * input: the interface names of /proc/net/dev in the kernel's order, which a rename, an
 * interface added or removed, or a swap of two names changes); when it changes, every
 * descriptor is closed first. A read that fails (the interface is gone: ENODEV) is
 * retried once on the path; a path whose read fails (the `speed` of an interface that is
 * down: EINVAL) is not kept.
 */
export class KeptAttributes extends KeptDescriptors {
  private generation: string | undefined;
  private readonly buf = Buffer.allocUnsafe(4096);

  constructor(max = 64) {
    super(max);
  }

  read(path: string, generation: string): string {
    if (generation !== this.generation) {
      this.closeAll();
      this.generation = generation;
    }
    return this.readKept(path);
  }

  protected readAll(fd: number): string {
    const n = readSync(fd, this.buf, 0, this.buf.length, 0);
    return this.buf.toString('utf8', 0, n);
  }
}

const keptAttributes = new KeptAttributes();

/** Programs and timing of the Windows counter source (agent.windows_counters). */
export interface WindowsCounterOptions {
  typeperf: string;
  powershell: string;
  refresh_interval: number;
}

/** The shared typeperf reader of a Windows agent (or of one `canh-agent check`). */
export function createCounterSource(o: WindowsCounterOptions & { intervalMs: number; aligned?: boolean; log: Logger }): CounterSource {
  return new CounterSource({
    typeperf: o.typeperf,
    powershell: o.powershell,
    intervalMs: o.intervalMs,
    refreshMs: o.refresh_interval,
    aligned: o.aligned,
    // Rows arrive once per interval; read as they come (a pipe), so a row is never older than its gather.
    startProcess: (cmd, args, onLine, onExit) => startProcess(cmd, args, onLine, onExit),
    exec,
    now: () => Date.now(),
    log: o.log.child({ component: 'perf-counters' }),
  });
}

export function createContext(opts: {
  stateDir: string;
  hostname: string;
  log: Logger;
  intervalMs?: number;
  alignedGathers?: boolean;
  platform?: NodeJS.Platform;
  perfCounters?: CounterSource;
}): InputContext {
  const procRoot = process.env.HOST_PROC ?? '/proc';
  const sysRoot = process.env.HOST_SYS ?? '/sys';
  // procfs, sysfs and /run (tmpfs: utmp) live in memory: a synchronous read costs a
  // tenth of fs.promises' open/fstat/read/close round trips through the thread pool
  // (measured: 116 /proc/<pid>/stat files, 0.9 ms against 8.3 ms of CPU), and never
  // waits on a disk. Each round trip also wakes a pool thread and then the event loop.
  const inMemory = (p: string) => p.startsWith(`${procRoot}/`) || p.startsWith(`${sysRoot}/`) || p.startsWith('/run/') || p.startsWith('/var/run/');
  // /proc/stat, /proc/net/dev, /proc/self/mounts: kept open. /proc/1234/stat: not.
  const keepable = (p: string) => p.startsWith(`${procRoot}/`) && !/^(\d+|thread-self)\//.test(p.slice(procRoot.length + 1));
  const readProcUtf8 = (p: string) => (keepable(p) ? keptFiles.read(p) : readFileSync(p, 'utf8'));
  const space = (s: { bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number }) => ({
    bsize: s.bsize,
    blocks: s.blocks,
    bfree: s.bfree,
    bavail: s.bavail,
    files: s.files,
    ffree: s.ffree,
  });
  return {
    readFile: (p) => (inMemory(p) ? attempt(() => tickReads.read(p, readProcUtf8)) : readFile(p, 'utf8')),
    readFileBytes: (p) => (inMemory(p) ? attempt(() => readFileSync(p)) : readFile(p)),
    readAttribute: (p, generation) => (p.startsWith(`${sysRoot}/`) ? keptAttributes.read(p, generation) : readFileSync(p, 'utf8')),
    readdir: (p) => (inMemory(p) ? attempt(() => readdirSync(p)) : readdir(p)),
    exists: (p) => existsSync(p),
    // A network filesystem's statfs may hang (a dead NFS server): only in the pool.
    statfs: async (p, o) => space(o?.local ? statfsSync(p) : await statfs(p)),
    exec,
    // Kept output goes to the state folder, which the agent can write (not always /tmp).
    startProcess: (cmd, args, onLine, onExit, o) => startProcess(cmd, args, onLine, onExit, { ...o, outputDir: opts.stateDir }),
    ...(opts.intervalMs ? { intervalMs: opts.intervalMs } : {}),
    ...(opts.alignedGathers ? { alignedGathers: true } : {}),
    now: () => Date.now(),
    mono: () => performance.now(),
    procRoot,
    sysRoot,
    stateDir: opts.stateDir,
    state: fileState(opts.stateDir),
    hostname: opts.hostname,
    log: opts.log,
    ...(opts.platform ? { platform: opts.platform } : {}),
    ...(opts.perfCounters ? { perfCounters: opts.perfCounters } : {}),
    totalMemory: () => totalmem(),
  };
}

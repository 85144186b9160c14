// The real operating system behind InputContext (ctx.*): node:fs for /proc and /sys, a
// bounded child process for the few inputs that must exec (ping, wevtutil), programs kept
// running, one read of a file per tick, and descriptors kept open for procfs and sysfs.
// The parts live beside this file: exec.ts, process.ts, tick-reads.ts, kept-files.ts.
import { readFile, readdir, statfs } from 'node:fs/promises';
import { existsSync, readFileSync, readdirSync, statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Logger } from 'pino';
import type { InputContext } from '../inputs/types.ts';
import { fileState } from '../state.ts';
import { CounterSource } from '../inputs/perf-counters/source.ts';
import { exec } from './exec.ts';
import { startProcess } from './process.ts';
import { tickReads } from './tick-reads.ts';
import { KeptAttributes, KeptFiles } from './kept-files.ts';

export { exec } from './exec.ts';
export { startProcess } from './process.ts';
export { TickReads, tickReads } from './tick-reads.ts';
export { KeptAttributes, KeptFiles } from './kept-files.ts';

function attempt<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

const keptFiles = new KeptFiles();
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
    readFileNow: (p) => (inMemory(p) ? tickReads.read(p, readProcUtf8) : undefined),
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

// The real operating system behind InputContext: node:fs for /proc and /sys, a bounded
// child process for the few inputs that must exec (ping, wevtutil).
import { readFile, readdir, statfs } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { ExecResult, InputContext, LongProcess } from './inputs/types.ts';

const MAX_OUTPUT = 4 * 1024 * 1024;

export function exec(cmd: string, args: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(err.message), timedOut });
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** A program kept running, its output split into lines (a partial last line waits for the rest). */
export function startProcess(
  cmd: string,
  args: readonly string[],
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
  onExit: (code: number | null, signal: string | null, error?: string) => void,
): LongProcess {
  // Standard input is not needed: 'ignore' saves a pipe and its stream.
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  let ended = false;
  const end = (code: number | null, signal: string | null, error?: string) => {
    if (ended) return;
    ended = true;
    onExit(code, signal, error);
  };
  const lines = (stream: 'stdout' | 'stderr') => {
    let rest = '';
    return (d: string) => {
      const parts = (rest + d).split('\n');
      rest = parts.pop() ?? '';
      if (rest.length > 64 * 1024) rest = '';
      for (const l of parts) onLine(l, stream);
    };
  };
  child.stdout.setEncoding('utf8').on('data', lines('stdout'));
  child.stderr.setEncoding('utf8').on('data', lines('stderr'));
  child.on('error', (err) => end(null, null, err.message));
  child.on('close', (code, signal) => end(code, signal));
  return {
    pid: child.pid,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

function attempt<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

export function createContext(opts: { stateDir: string; hostname: string; log: Logger; intervalMs?: number }): InputContext {
  const procRoot = process.env.HOST_PROC ?? '/proc';
  const sysRoot = process.env.HOST_SYS ?? '/sys';
  // procfs and sysfs live in memory: a synchronous read costs a tenth of fs.promises'
  // open/fstat/read/close round trips through the thread pool (measured: 116
  // /proc/<pid>/stat files, 0.9 ms against 8.3 ms of CPU), and never waits on a disk.
  const inMemory = (p: string) => p.startsWith(`${procRoot}/`) || p.startsWith(`${sysRoot}/`);
  return {
    readFile: (p) => (inMemory(p) ? attempt(() => readFileSync(p, 'utf8')) : readFile(p, 'utf8')),
    readFileBytes: (p) => readFile(p),
    readdir: (p) => (inMemory(p) ? attempt(() => readdirSync(p)) : readdir(p)),
    statfs: async (p) => {
      const s = await statfs(p);
      return { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
    },
    exec,
    startProcess,
    ...(opts.intervalMs ? { intervalMs: opts.intervalMs } : {}),
    now: () => Date.now(),
    procRoot,
    sysRoot,
    stateDir: opts.stateDir,
    hostname: opts.hostname,
    log: opts.log,
  };
}

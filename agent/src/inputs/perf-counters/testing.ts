// Test kit for the Windows code path of the host inputs: a counter source whose typeperf
// is replaced by captured output fed line by line when the test says so (the operating
// system faked, as the Linux inputs' unit tests fake /proc), and a context around it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { fakeContext } from '../testing.ts';
import type { ExecResult, InputContext } from '../types.ts';
import { CounterSource } from './source.ts';

export function capture(name: string): string {
  return readFileSync(join(import.meta.dirname, 'testdata', name), 'utf8');
}

export interface Replay {
  ctx: InputContext;
  src: CounterSource;
  /** The arguments typeperf was started with (the counter paths, -si N). */
  args: () => readonly string[];
  /** Resolves once typeperf was started. */
  started: Promise<void>;
  /** Prints the header (first call) and the next `rows` lines of the capture. */
  feed(rows?: number): void;
  /** typeperf ends (code 1, as when it fails). */
  exit(): void;
  starts: () => number;
}

export function replay(file: string, opts: { names?: string; intervalMs?: number; totalMemory?: number; refreshMs?: number } = {}): Replay {
  const lines = capture(file)
    .split('\n')
    .filter((l) => l.trim());
  let next = 0;
  let onLine: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;
  let onExit: ((code: number | null, signal: string | null) => void) | undefined;
  let args: readonly string[] = [];
  let starts = 0;
  let resolveStarted!: () => void;
  const started = new Promise<void>((r) => (resolveStarted = r));
  const exec = async (): Promise<ExecResult> =>
    opts.names
      ? { code: 0, signal: null, stdout: capture(opts.names), stderr: '', timedOut: false }
      : { code: 1, signal: null, stdout: '', stderr: 'powershell: not found', timedOut: false };
  const src = new CounterSource({
    typeperf: 'typeperf',
    powershell: 'powershell',
    intervalMs: opts.intervalMs ?? 10_000,
    refreshMs: opts.refreshMs ?? 0,
    startProcess: (_cmd, a, l, e) => {
      args = a;
      onLine = l;
      onExit = e;
      starts++;
      next = 0;
      resolveStarted();
      return { pid: 1, kill: () => {} };
    },
    exec,
    now: () => Date.now(),
    log: pino({ level: 'silent' }),
  });
  const ctx: InputContext = {
    ...fakeContext(),
    platform: 'win32',
    perfCounters: src,
    intervalMs: opts.intervalMs ?? 10_000,
    totalMemory: () => opts.totalMemory ?? 16 * 2 ** 30,
  };
  return {
    ctx,
    src,
    args: () => args,
    started,
    feed(rows = 1) {
      const upTo = next === 0 ? 1 + rows : next + rows;
      for (; next < upTo && next < lines.length; next++) onLine?.(lines[next]!.replace(/\r$/, ''), 'stdout');
    },
    exit: () => onExit?.(1, null),
    starts: () => starts,
  };
}

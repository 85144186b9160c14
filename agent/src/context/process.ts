// Programs kept running (a kept ping, typeperf, journalctl -f), their output split into
// lines: from a pipe, or from a file with no name read on demand.
import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { spawn } from 'node:child_process';
import type { LongProcess } from '../inputs/types.ts';

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

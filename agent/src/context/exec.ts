// exec for the few inputs that must run a program (ping, wevtutil): bounded output, a
// timeout with an optional grace between SIGINT and SIGKILL, and the C locale.
import { spawn } from 'node:child_process';
import type { ExecOptions, ExecResult } from '../inputs/types.ts';

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

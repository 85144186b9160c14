// Shared bits of the packaging tests: a recording stand-in for the service manager
// (the process boundary: systemctl, useradd, sc.exe...), and temp folders.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandResult, Runner } from '../../agent/src/service/runner.ts';

export const ROOT = join(import.meta.dirname, '..', '..');

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `canh-${prefix}-`));
}

/** A runner that records every command and answers from a table of `command args` prefixes. */
export function recorder(answers: Record<string, Partial<CommandResult>> = {}): { runner: Runner; calls: string[] } {
  const calls: string[] = [];
  const runner: Runner = async (cmd, args) => {
    const line = [cmd, ...args].join(' ');
    calls.push(line);
    const key = Object.keys(answers)
      .filter((k) => line.startsWith(k))
      .sort((a, b) => b.length - a.length)[0];
    return { code: 0, stdout: '', stderr: '', ...(key ? answers[key] : {}) };
  };
  return { runner, calls };
}

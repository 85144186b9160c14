// The one door through which service installation talks to the operating system's
// service manager (systemctl, useradd, sc.exe...). Tests pass a recording fake here,
// so every command the installer would run is visible and nothing touches the host.
import { execFile } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Runner = (command: string, args: string[]) => Promise<CommandResult>;

/** Runs a command for real; a missing command is exit code 127, as a shell reports it. */
export const systemRunner: Runner = (command, args) =>
  new Promise((resolve) => {
    execFile(command, args, { encoding: 'utf8', timeout: 120_000, windowsHide: true }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      const code = !e ? 0 : typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (e && typeof e.code === 'string' ? e.message : '')) });
    });
  });

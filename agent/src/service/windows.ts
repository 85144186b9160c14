// `canh-agent service install|uninstall|status` on Windows, through sc.exe.
// A Windows service must answer the Service Control Manager (start, stop, status);
// Node, and so a Node single executable, does not speak that protocol, and a plain
// program registered as a service is killed after 30 s (error 1053). The service is
// therefore a tiny wrapper, canh-agent-service.exe (deploy/windows/CanhAgentService.cs,
// compiled by install.ps1 with the C# compiler every Windows has in .NET Framework 4):
// it answers the SCM, runs canh-agent.exe, writes its output to a log file and, on
// stop, closes the agent's standard input so the agent flushes and exits in order.
// Not tested on Windows here: the commands are checked by the recorded-runner tests only.
import { existsSync, rmSync } from 'node:fs';
import { win32 } from 'node:path';
import { CanhError } from '@canh/core';
import type { Runner } from './runner.ts';
import { commandFailed } from './errors.ts';

export const SERVICE_NAME = 'CanhAgent';
export const WRAPPER_NAME = 'canh-agent-service.exe';

export interface WindowsContext {
  runner: Runner;
  out: (line: string) => void;
  /** %ProgramData%, where the log folder lives (the wrapper creates it). */
  programData: string;
  /** File probe, replaceable so tests on Linux can say the wrapper is there. */
  exists?: (path: string) => boolean;
}

/** Quotes for the Windows command line (CommandLineToArgvW rules, enough for paths). */
function q(s: string): string {
  return /[\s"]/.test(s) ? `"${s.replace(/"/g, '\\"')}"` : s;
}

export function logFile(programData: string): string {
  return win32.join(programData, 'Canh', 'logs', 'canh-agent.log');
}

export function binPath(exe: string, configFile: string, programData: string): string {
  const wrapper = win32.join(win32.dirname(exe), WRAPPER_NAME);
  return [wrapper, logFile(programData), exe, 'run', '--config', configFile].map(q).join(' ');
}

async function must(ctx: WindowsContext, args: string[], what: string): Promise<void> {
  const r = await ctx.runner('sc.exe', args);
  if (r.code !== 0) throw commandFailed('sc.exe', args, r, what);
}

export async function installWindows(ctx: WindowsContext, spec: { exe: string; configFile: string; start: boolean }): Promise<number> {
  const wrapper = win32.join(win32.dirname(spec.exe), WRAPPER_NAME);
  if (!(ctx.exists ?? existsSync)(wrapper)) {
    throw new CanhError(
      'CANH_ERR_SERVICE_WRAPPER_MISSING',
      `${wrapper} is missing: a Windows service needs it to answer the service manager. Run deploy/install.ps1, which builds it, or see docs/operating/install-windows.md`,
    );
  }
  const bin = binPath(spec.exe, spec.configFile, ctx.programData);
  const exists = (await ctx.runner('sc.exe', ['query', SERVICE_NAME])).code === 0;
  if (exists) {
    // An upgrade: stop the old one (it may already be stopped), point it at the new files.
    await ctx.runner('sc.exe', ['stop', SERVICE_NAME]);
    await must(ctx, ['config', SERVICE_NAME, 'binPath=', bin, 'start=', 'auto'], 'update the CanhAgent service');
  } else {
    await must(ctx, ['create', SERVICE_NAME, 'binPath=', bin, 'start=', 'auto', 'DisplayName=', 'Canh agent'], 'create the CanhAgent service');
  }
  await must(ctx, ['description', SERVICE_NAME, 'Canh network and security monitoring agent'], 'describe the service');
  // Restart after 5 s, 5 s, then every minute; the count resets after a day without failure.
  await must(ctx, ['failure', SERVICE_NAME, 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/60000'], 'set restart on failure');
  // Also restart when the agent exits with an error code, not only when it crashes.
  await must(ctx, ['failureflag', SERVICE_NAME, '1'], 'set restart on error exit');
  ctx.out(`${exists ? 'updated' : 'created'} service ${SERVICE_NAME}; log: ${logFile(ctx.programData)}`);
  if (spec.start) {
    await must(ctx, ['start', SERVICE_NAME], 'start the CanhAgent service');
    ctx.out(`started ${SERVICE_NAME}`);
  }
  return 0;
}

export async function uninstallWindows(ctx: WindowsContext, spec: { stateDir: string; purge: boolean }): Promise<number> {
  await ctx.runner('sc.exe', ['stop', SERVICE_NAME]);
  const r = await ctx.runner('sc.exe', ['delete', SERVICE_NAME]);
  // 1060: the service does not exist, which is what uninstall wants.
  if (r.code !== 0 && r.code !== 1060) throw commandFailed('sc.exe', ['delete', SERVICE_NAME], r, 'delete the CanhAgent service');
  ctx.out(`removed service ${SERVICE_NAME}`);
  if (spec.purge) {
    rmSync(spec.stateDir, { recursive: true, force: true });
    ctx.out(`removed the state folder ${spec.stateDir}`);
  } else ctx.out(`kept the state folder ${spec.stateDir} and the config (--purge removes the state)`);
  return 0;
}

export async function statusWindows(ctx: WindowsContext): Promise<number> {
  const r = await ctx.runner('sc.exe', ['query', SERVICE_NAME]);
  if (r.code === 1060) {
    ctx.out(`${SERVICE_NAME}: not installed`);
    return 4;
  }
  if (r.code !== 0) throw commandFailed('sc.exe', ['query', SERVICE_NAME], r, 'ask the service manager');
  const state = /STATE\s*:\s*\d+\s+(\w+)/.exec(r.stdout)?.[1] ?? 'UNKNOWN';
  ctx.out(`${SERVICE_NAME}: ${state.toLowerCase()}; log: ${logFile(ctx.programData)}`);
  return state === 'RUNNING' ? 0 : 3;
}

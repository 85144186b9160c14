// `canh-agent service install|uninstall|status`: installs the running agent (the single
// executable, or node with the bundle or cli.ts) as the host's service, on Linux through
// systemd and on Windows through the Service Control Manager.
import { parseArgs } from 'node:util';
import { realpathSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { isSea } from 'node:sea';
import { CanhError } from '@canh/core';
import { loadConfig } from '../config.ts';
import { systemRunner, type Runner } from './runner.ts';
import { DEFAULT_STATE_DIR, DEFAULT_USER, installSystemd, statusSystemd, uninstallSystemd } from './systemd.ts';
import { installWindows, statusWindows, uninstallWindows } from './windows.ts';
import { AGENT_NODE_FLAGS } from '../node-flags.ts';

export const SERVICE_USAGE = `usage: canh-agent service install   [--config FILE] [--binary PATH] [--no-start]
       canh-agent service uninstall [--config FILE] [--purge]
       canh-agent service status

  install    register this executable as a service that starts at boot, and start it
             (Linux: systemd unit canh-agent.service run as user canh-agent;
              Windows: service CanhAgent through canh-agent-service.exe)
  uninstall  stop and remove the service; config and state stay unless --purge
             (--purge deletes the state folder: the unsent spool and the baselines)
  status     what the service manager says about the agent
DESTDIR=/path stages the Linux unit under that folder and runs no command (packaging).`;

export interface ServiceEnv {
  runner?: Runner;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  out?: (line: string) => void;
  /** Program and leading arguments that run this agent; found from the process by default. */
  exec?: string[];
}

/** How the service manager should start this agent: the executable itself, or node and the script. */
export function currentExec(): string[] {
  // The single executable carries its Node options in its SEA config (deploy/build/sea.ts).
  if (isSea()) return [process.execPath];
  const script = process.argv[1];
  return script ? [process.execPath, ...AGENT_NODE_FLAGS, realpathSync(script)] : [process.execPath];
}

export async function serviceCommand(argv: string[], se: ServiceEnv = {}): Promise<number> {
  const env = se.env ?? process.env;
  const out = se.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const platform = se.platform ?? process.platform;
  const runner = se.runner ?? systemRunner;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        binary: { type: 'string' },
        purge: { type: 'boolean' },
        'no-start': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`canh-agent service: ${(err as Error).message}\n${SERVICE_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const action = positionals[0];
  if (values.help || !action) {
    out(SERVICE_USAGE);
    return values.help ? 0 : 2;
  }
  if (!['install', 'uninstall', 'status'].includes(action)) {
    process.stderr.write(`canh-agent service: unknown action "${action}"\n${SERVICE_USAGE}\n`);
    return 2;
  }
  const win = platform === 'win32';
  if (!win && platform !== 'linux')
    throw new CanhError(
      'CANH_ERR_SERVICE_UNSUPPORTED',
      `service install supports Linux (systemd) and Windows, not ${platform}; run \`canh-agent run\` under your init system`,
    );
  const root = win ? '' : (env.DESTDIR ?? '').replace(/\/+$/, '');
  const configFile =
    values.config ?? env.CANH_AGENT_CONFIG ?? (win ? join(env.ProgramData ?? 'C:\\ProgramData', 'Canh', 'agent.yaml') : '/etc/canh/agent.yaml');
  if (!isAbsolute(configFile) && !/^[A-Za-z]:\\/.test(configFile))
    throw new CanhError('CANH_ERR_SERVICE_CONFIG_PATH', `--config must be an absolute path (the service does not run in this folder): ${configFile}`);
  if (!win && !root && action !== 'status' && typeof process.geteuid === 'function' && process.geteuid() !== 0) {
    throw new CanhError('CANH_ERR_SERVICE_NOT_ROOT', 'installing or removing the service needs root: run it with sudo');
  }

  // The state folder comes from the config. When staging (DESTDIR) the token file named
  // in it does not exist yet at its final path, so only the shape is checked.
  const readConfig = (): { stateDir: string; tokenFile?: string } => {
    const c = loadConfig(join(root, configFile), root ? { ...env, CANH_AGENT_TOKEN: env.CANH_AGENT_TOKEN || 'staged' } : env);
    return { stateDir: c.agent.state_dir, tokenFile: c.collector.token_file };
  };

  if (win) {
    const ctx = { runner, out, programData: env.ProgramData ?? 'C:\\ProgramData' };
    if (action === 'status') return statusWindows(ctx);
    if (action === 'uninstall')
      return uninstallWindows(ctx, { stateDir: stateDirOr(readConfig, join(ctx.programData, 'Canh', 'state')), purge: !!values.purge });
    readConfig();
    const exec = values.binary ? [values.binary] : (se.exec ?? currentExec());
    if (exec.length !== 1)
      throw new CanhError(
        'CANH_ERR_SERVICE_NOT_EXECUTABLE',
        'on Windows the service runs the single executable canh-agent.exe: run `canh-agent.exe service install` from it, or pass --binary',
      );
    return installWindows(ctx, { exe: exec[0]!, configFile, start: !values['no-start'] });
  }
  const ctx = { runner, root, staged: !!root, out, user: DEFAULT_USER };
  if (action === 'status') return statusSystemd(ctx);
  if (action === 'uninstall') return uninstallSystemd(ctx, { stateDir: stateDirOr(readConfig, DEFAULT_STATE_DIR), purge: !!values.purge });
  const { stateDir, tokenFile } = readConfig();
  const exec = values.binary ? [resolve(values.binary)] : (se.exec ?? currentExec());
  return installSystemd(ctx, { exec, configFile, stateDir, tokenFile, start: !values['no-start'] });
}

/** Uninstall works with a broken or missing config too: then the default state folder is meant. */
function stateDirOr(read: () => { stateDir: string }, fallback: string): string {
  try {
    return read().stateDir;
  } catch {
    return fallback;
  }
}

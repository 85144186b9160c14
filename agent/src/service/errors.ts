// Error of the service installer: a failed service-manager command, named with what it said.
import { CanhError } from '@canh/core';
import type { CommandResult } from './runner.ts';

export function commandFailed(command: string, args: string[], r: CommandResult, what: string): CanhError {
  const said = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ');
  return new CanhError('CANH_ERR_SERVICE_COMMAND_FAILED', `${what}: \`${[command, ...args].join(' ')}\` exited with ${r.code}${said ? `: ${said}` : ''}`);
}

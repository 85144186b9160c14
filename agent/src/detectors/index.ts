// Every security detector the agent knows, listed explicitly. Detectors share the input
// contract (inputs/types.ts) and emit events through Accumulator.addEvent.
import type { InputDefinition } from '../inputs/types.ts';
import fileIntegrity from './file_integrity/index.ts';
import listeningPorts from './listening_ports/index.ts';
import accounts from './accounts/index.ts';
import lanDevices from './lan_devices/index.ts';
import suspiciousProcess from './suspicious_process/index.ts';
import authLog from './auth_log/index.ts';
import windowsEventlog from './windows_eventlog/index.ts';
import webAccess from './web_access/index.ts';
import persistence from './persistence/index.ts';

export const detectors: readonly InputDefinition[] = [
  fileIntegrity,
  listeningPorts,
  accounts,
  lanDevices,
  suspiciousProcess,
  authLog,
  windowsEventlog,
  webAccess,
  persistence,
];

export function findDetector(name: string): InputDefinition | undefined {
  return detectors.find((d) => d.name === name);
}

// Every input the agent knows, listed explicitly (no registration by import side effect).
// A test walks this list: names unique, each folder has a README whose example config
// parses with the input's own schema.
import type { InputDefinition } from './types.ts';
import ping from './ping/index.ts';
import http_response from './http_response/index.ts';
import net_response from './net_response/index.ts';
import x509_cert from './x509_cert/index.ts';
import reboot from './reboot/index.ts';
import cpu from './cpu/index.ts';
import disk from './disk/index.ts';
import diskio from './diskio/index.ts';
import kernel from './kernel/index.ts';
import mem from './mem/index.ts';
import net from './net/index.ts';
import processes from './processes/index.ts';
import swap from './swap/index.ts';
import system from './system/index.ts';
import snmp from './snmp/index.ts';
import snmp_trap from './snmp_trap/index.ts';

export const inputs: readonly InputDefinition[] = [
  cpu,
  mem,
  swap,
  disk,
  diskio,
  kernel,
  processes,
  system,
  net,
  ping,
  http_response,
  snmp,
  snmp_trap,
  net_response,
  x509_cert,
  reboot,
];

export function findInput(name: string): InputDefinition | undefined {
  return inputs.find((i) => i.name === name);
}

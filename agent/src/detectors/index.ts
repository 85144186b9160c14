// Every security detector the agent knows, listed explicitly. Detectors share the input
// contract (inputs/types.ts) and emit events through Accumulator.addEvent.
import type { InputDefinition } from '../inputs/types.ts';
import authLog from './auth_log/index.ts';

export const detectors: readonly InputDefinition[] = [
  authLog,
];

export function findDetector(name: string): InputDefinition | undefined {
  return detectors.find((d) => d.name === name);
}

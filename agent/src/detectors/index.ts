// Every security detector the agent knows, listed explicitly. Detectors share the input
// contract (inputs/types.ts) and emit events through Accumulator.addEvent.
import type { InputDefinition } from '../inputs/types.ts';

export const detectors: readonly InputDefinition[] = [];

export function findDetector(name: string): InputDefinition | undefined {
  return detectors.find((d) => d.name === name);
}

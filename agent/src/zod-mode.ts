// Whether zod and yaml were left out of this process. The bundled agent's long-running
// `run` leaves them out (~10 MiB of its memory): deploy/build/agent-entry.ts decides it
// from the command line before any module that uses them is evaluated, and the shims
// that stand for them in the bundle (deploy/build/not-in-agent.cjs) read it. The config
// is then validated in a short-lived copy of the agent (validate-child.ts). Imports
// nothing, so the entry can load it first.
const KEY = Symbol.for('canh.agent.zodLeftOut');

export function leaveZodOut(): void {
  (globalThis as Record<symbol, unknown>)[KEY] = true;
}

export function zodLeftOut(): boolean {
  return (globalThis as Record<symbol, unknown>)[KEY] === true;
}

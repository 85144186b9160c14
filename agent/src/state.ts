// ctx.state: what an input or detector keeps across agent restarts (the last boot, a
// page's content hash, a log position, a journal cursor, an event-log bookmark), by name,
// under the agent's state_dir. Writes go through @canh/core's writeStateFile (temporary
// file, fsync, rename, fsync of the folder), so a crash leaves the old state or the new,
// never half of one; plugins do not touch node:fs for it, and their tests use
// memoryState() instead of temporary folders.
import { join } from 'node:path';
import { readStateFile, writeStateFile } from '@canh/core';
import type { StateStore } from './inputs/types.ts';

// "reboot/last_boot.json": plain names, one level of folder at most; never "..".
const NAME = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*\/)?[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`state name must be a plain file name (optionally in one folder), got "${name}"`);
  return name;
}

/** State as files under `dir` (the agent's state_dir). */
export function fileState(dir: string): StateStore {
  return {
    read: async (name) => readStateFile(join(dir, checkName(name))),
    write: async (name, data) => writeStateFile(join(dir, checkName(name)), data),
  };
}

/** State in memory, for tests: same names, same contract, nothing on disk. */
export function memoryState(initial: Record<string, string> = {}): StateStore & { readonly saved: Map<string, string> } {
  const saved = new Map(Object.entries(initial));
  return {
    saved,
    read: async (name) => saved.get(checkName(name)),
    write: async (name, data) => {
      saved.set(checkName(name), data);
    },
  };
}

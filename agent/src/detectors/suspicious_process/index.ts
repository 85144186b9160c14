// suspicious_process: reports processes whose program lives in a world-writable or temporary
// folder, runs from memory only (memfd), or was deleted after start — the usual footprint of
// a dropped payload, cryptominer or web-shell child. The program is what really runs, never
// argv[0]: the executable (/proc/<pid>/exe), the file the dynamic loader mapped when the
// executable is the loader (`ld-linux.so /dev/shm/x`), or the script a known interpreter
// reads (`python3 /tmp/x.py`, `bash < /dev/shm/x.sh`). Each process (pid + start time) is
// reported once, across agent restarts too. A process is looked at in full when it first
// appears; after that a gather reads only its executable link (watch.ts).
import { z } from 'zod';
import { defineInput } from '../../inputs/types.ts';
import { duration } from '@canh/core';
import { ProcessWatch } from './watch.ts';

const absDir = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), 'must be an absolute path');

export const config = z.object({
  /** Folders a program should never run from, besides those found on the host. */
  dirs: z.array(absDir).default(['/tmp', '/var/tmp', '/dev/shm', '/run/lock', '/var/crash']),
  /** Add the host's memory file systems, world-writable sticky folders and users' ~/.cache. */
  host_dirs: z.boolean().default(true),
  /** How often the host's folders are looked for again. */
  host_dirs_refresh: duration({ min: 1000 }).default(600_000),
  /** Programs allowed anyway (exact paths of executables, loaded programs or scripts). */
  allow_exes: z.array(z.string().min(1)).default([]),
  /** Folders whose programs are allowed anyway (a browser cache under ~/.cache, say). */
  allow_dirs: z.array(absDir).default([]),
  /** Longest command line kept as evidence (characters). */
  max_cmdline: z.number().int().min(16).max(4096).default(512),
  /** More processes than this of one program in one gather become one event. */
  max_events_per_exe: z.number().int().min(1).default(5),
  state_name: z
    .string()
    .regex(/^[a-z0-9_.-]+$/i)
    .default('suspicious_process'),
});

export default defineInput({
  name: 'suspicious_process',
  description: 'Processes whose program (executable, loaded file or interpreted script) is in a world-writable folder, in memory only, or deleted',
  platforms: ['linux'],
  config,
  create(cfg, ctx) {
    const watch = new ProcessWatch(cfg, ctx);
    return { gather: (acc) => watch.gather(acc) };
  },
});

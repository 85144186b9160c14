// persistence: watches where an intruder makes a foothold survive a reboot or a logout —
// cron, systemd units (system, package and user ones), /etc/ld.so.preload, rc.local and
// SysV init scripts, shell profiles of the system and of privileged users, sudoers, PAM
// configuration and modules — and the kernel modules loaded at runtime and the SUID/SGID
// files on disk. The first run records a baseline and reports nothing; after that every
// addition, change and removal is an event of its own type, with its ATT&CK technique.
import { z } from 'zod';
import { duration } from '@canh/core';
import { defineInput } from '../../inputs/types.ts';
import { CATEGORIES } from './options.ts';
import { PersistenceWatch } from './watch.ts';

const absPath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), 'must be an absolute path');

export const config = z.object({
  /** Categories of persistence watched (all by default). */
  categories: z.array(z.enum(CATEGORIES)).default([...CATEGORIES]),
  /** Every location is read under this folder ("/" on a host; a copy of a host's tree in tests). */
  root: absPath.default('/'),
  /** How often the files (cron, units, profiles, sudoers, PAM, preload, rc.local) are all compared even when no change was notified (the safety net for lost notifications); kernel modules are read every gather. */
  files_interval: duration({ min: 1000 }).default(600_000),
  /** Watch the folders (inotify): a change there is compared at the next gather instead of waiting for files_interval. */
  watch: z.boolean().default(true),
  /** How often the SUID/SGID scan runs (it walks suid_paths: seconds of CPU on a large /usr). */
  suid_interval: duration({ min: 60_000 }).default(3_600_000),
  /** Folders walked for SUID/SGID files (same file system or not; symlinks never followed). */
  suid_paths: z
    .array(absPath)
    .default(['/usr', '/bin', '/sbin', '/lib', '/lib64', '/opt', '/srv', '/home', '/tmp', '/var/tmp', '/var/www', '/dev/shm', '/run/lock']),
  /** The SUID scan stops after this many entries and reports nothing for that run. */
  suid_max_files: z.number().int().positive().default(1_000_000),
  /** Groups whose members' shell rc files are watched (with every uid-0 account). */
  privileged_groups: z.array(z.string().min(1)).default(['root', 'sudo', 'wheel', 'admin']),
  /** Kernel modules never reported when they load (hot-plugged drivers of this fleet). */
  allow_modules: z.array(z.string().regex(/^[\w-]+$/, 'a module name')).default([]),
  /** More changes of one kind in one category at once become one event with a count. */
  max_events_per_group: z.number().int().min(1).default(5),
  /** Name of the baseline file; set it when running two persistence detectors. */
  state_name: z
    .string()
    .regex(/^[a-z0-9_.-]+$/i)
    .default('persistence'),
});

export default defineInput({
  name: 'persistence',
  description: 'Persistence footholds: cron, systemd units, ld.so.preload, rc.local, shell profiles, sudoers, PAM, kernel modules, new SUID/SGID files',
  platforms: ['linux'],
  config,
  create(cfg, ctx) {
    return new PersistenceWatch(cfg, ctx);
  },
});

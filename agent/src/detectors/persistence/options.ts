// Options of the persistence detector: which categories are watched, how often, and the
// root the locations are read under (a test runs it on a temporary tree).
import { z } from 'zod';
import { duration } from '../../duration.ts';

export const CATEGORIES = ['cron', 'systemd', 'preload', 'rc_local', 'shell_profile', 'sudoers', 'pam', 'kernel_modules', 'suid'] as const;
export type Category = (typeof CATEGORIES)[number];

const absPath = z.string().min(1).refine((p) => p.startsWith('/'), 'must be an absolute path');

export const config = z.object({
  /** Categories of persistence watched (all by default). */
  categories: z.array(z.enum(CATEGORIES)).default([...CATEGORIES]),
  /** Every location is read under this folder ("/" on a host; a copy of a host's tree in tests). */
  root: absPath.default('/'),
  /** How often the files (cron, units, profiles, sudoers, PAM, preload, rc.local) are compared; kernel modules are read every gather. */
  files_interval: duration({ min: 1000 }).default(60_000),
  /** How often the SUID/SGID scan runs (it walks suid_paths: seconds of CPU on a large /usr). */
  suid_interval: duration({ min: 60_000 }).default(3_600_000),
  /** Folders walked for SUID/SGID files (same file system or not; symlinks never followed). */
  suid_paths: z.array(absPath).default(['/usr', '/bin', '/sbin', '/lib', '/lib64', '/opt', '/srv', '/home', '/tmp', '/var/tmp', '/var/www', '/dev/shm', '/run/lock']),
  /** The SUID scan stops after this many entries and reports nothing for that run. */
  suid_max_files: z.number().int().positive().default(1_000_000),
  /** Groups whose members' shell rc files are watched (with every uid-0 account). */
  privileged_groups: z.array(z.string().min(1)).default(['root', 'sudo', 'wheel', 'admin', 'adm']),
  /** Kernel modules never reported when they load (hot-plugged drivers of this fleet). */
  allow_modules: z.array(z.string().regex(/^[\w-]+$/, 'a module name')).default([]),
  /** More changes of one kind in one category at once become one event with a count. */
  max_events_per_group: z.number().int().min(1).default(5),
  state_name: z.string().regex(/^[a-z0-9_.-]+$/i).default('persistence'),
});

export type PersistenceConfig = z.infer<typeof config>;

// file_integrity: detects changes to system files (accounts, sudo, SSH, cron) and to web
// roots (defacement). Changes are seen at once through fs.watch (debounced) and, as the
// safety net for missed watch events and for changes made while the agent was stopped, by a
// periodic full scan against a SHA-256 baseline persisted in the agent's state_dir.
import { z } from 'zod';
import { duration } from '@canh/core';
import { defineInput, type Input } from '../../inputs/types.ts';
import { FimWatch } from './watch.ts';

export const DEFAULT_PATHS = [
  '/etc/passwd',
  '/etc/shadow',
  '/etc/group',
  '/etc/sudoers',
  '/etc/sudoers.d',
  '/etc/ssh/sshd_config',
  '/etc/crontab',
  '/etc/cron.d',
  '/var/spool/cron/crontabs',
  '/root/.ssh/authorized_keys',
];

// Globs match no leading dot with `*`: vim's swap files (.name.swp) need their own.
export const EDITOR_FILES = ['**/*.swp', '**/.*.swp', '**/*.swo', '**/.*.swo', '**/*.swx', '**/.*.swx', '**/*~', '**/.*~', '**/.#*', '**/#*#'];

// What PHP-FPM, mod_php, Tomcat, IIS/Mono, CGI and shells run, as web-shell kits name them.
export const SCRIPT_EXTENSIONS = [
  'php',
  'php3',
  'php4',
  'php5',
  'php7',
  'php8',
  'phtml',
  'pht',
  'phar',
  'phps',
  'inc',
  'jsp',
  'jspx',
  'jsw',
  'jsv',
  'jspf',
  'war',
  'asp',
  'aspx',
  'ashx',
  'asmx',
  'ascx',
  'asa',
  'cer',
  'cshtml',
  'config',
  'cgi',
  'pl',
  'py',
  'rb',
  'sh',
  'bash',
  'cfm',
  'shtml',
  'htaccess',
  'js',
  'mjs',
  'so',
];

const absPath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), 'must be an absolute path');

export const config = z.object({
  /** System files and folders to watch (folders recursively). */
  paths: z.array(absPath).default(DEFAULT_PATHS),
  /** Web roots: any change under them is a possible defacement. */
  web_roots: z.array(absPath).default([]),
  /** Static content (absolute, or relative to each web root): a change there is critical. */
  static_paths: z.array(z.string().min(1)).default([]),
  /** Globs of paths never looked at (caches, uploads). */
  exclude: z.array(z.string().min(1)).default([]),
  /** Globs of editor swap and backup files: skipped, unless a script extension or an executable bit says they could run. */
  editor_files: z.array(z.string().min(1)).default(EDITOR_FILES),
  /** Extensions a web server or shell may run (lower case, no dot): an editor file holding one anywhere in its name is watched. */
  script_extensions: z.array(z.string().regex(/^[a-z0-9_+-]+$/, 'lower-case extension without the dot')).default(SCRIPT_EXTENSIONS),
  /** Files larger than this are compared by size and mtime instead of hashed. */
  max_file_size: z
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  /** Stop a scan after this many entries (and say so), to bound the cost. */
  max_files: z.number().int().positive().default(200_000),
  /** Full scan against the baseline, the safety net when watch events are missed. */
  scan_interval: duration({ min: 1000 }).default(600_000),
  /** React to fs.watch events (inotify) instead of waiting for the next scan. */
  watch: z.boolean().default(true),
  /** Quiet time after a watch event before the changed paths are checked. */
  debounce: duration({ min: 10 }).default(2000),
  /** More changes than this of one kind under one root become one event with a count. */
  max_events_per_group: z.number().int().min(1).default(5),
  /** Name of the baseline file; set it when running two file_integrity detectors. */
  state_name: z
    .string()
    .regex(/^[a-z0-9_.-]+$/i)
    .default('file_integrity'),
});

/** The running detector; idle() and scanNow() serve tests and one-shot runs. */
export interface FileIntegrity extends Input {
  idle(): Promise<void>;
  scanNow(): Promise<void>;
}

export default defineInput({
  name: 'file_integrity',
  description: 'Changes to system files (accounts, sudo, SSH, cron) and web roots (defacement), by watch and periodic SHA-256 scan',
  platforms: ['linux'],
  config,
  create(cfg, ctx): FileIntegrity {
    return new FimWatch(cfg, ctx);
  },
});

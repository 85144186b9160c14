// file_integrity: detects changes to system files (accounts, sudo, SSH, cron) and to web
// roots (defacement). Changes are seen at once through fs.watch (debounced) and, as the
// safety net for missed watch events and for changes made while the agent was stopped, by a
// periodic full scan against a SHA-256 baseline persisted in the agent's state_dir.
import { watch, type FSWatcher } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { duration } from '@canh/core';
import { defineInput, type Accumulator, type Input } from '../../inputs/types.ts';
import { baselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { diffSnapshots, resolveStatic, within, type Scope, type Snapshot } from './diff.ts';
import { scanInto, type ScanStats } from './scan.ts';
import { changesToEvents } from './events.ts';

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

const config = z.object({
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

const EntrySchema = shape.object({
  kind: shape.oneOf(['file', 'dir', 'symlink', 'other']),
  size: shape.number,
  mode: shape.number,
  uid: shape.number,
  gid: shape.number,
  mtimeMs: shape.number,
  ctimeMs: shape.number,
  ino: shape.number,
  sha256: shape.optional(shape.string),
  target: shape.optional(shape.string),
});
const BaselineSchema = shape.object({ roots: shape.array(shape.string), entries: shape.record(EntrySchema) });

const norm = (p: string) => resolve(p);

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
  // eslint-disable-next-line max-lines-per-function -- longer than 80 lines, still to split (issue 20)
  create(cfg, ctx) {
    const log = ctx.log;
    const webRoots = cfg.web_roots.map(norm);
    const paths = cfg.paths.map(norm);
    const roots = [...new Set([...paths, ...webRoots])];
    const scope: Scope = { webRoots, staticPaths: resolveStatic(cfg.static_paths, webRoots).map(norm), paths };
    // The agent's own state must never look like a tampered file.
    const exclude = [...cfg.exclude, `${norm(ctx.stateDir)}/**`];
    const store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log });

    let entries: Snapshot = {};
    let acc: Accumulator | undefined;
    let queue: Promise<void> = Promise.resolve();
    let stopped = false;
    let scanTimer: NodeJS.Timeout | undefined;
    let debounceTimer: NodeJS.Timeout | undefined;
    let firstDirtyAt = 0;
    let warnedTruncated = false;
    const dirty = new Set<string>();
    const watchers = new Map<string, FSWatcher>();

    const enqueue = (job: () => Promise<void>) => {
      queue = queue.then(job).catch((err: unknown) => log.error({ err }, 'file_integrity check failed'));
      return queue;
    };

    /** Rescan `prefixes`, report what changed under them, and persist the result. */
    const check = async (prefixes: string[], report: boolean): Promise<void> => {
      const fresh: Snapshot = {};
      const stats: ScanStats = { files: 0, hashed: 0, truncated: false, errors: 0 };
      await scanInto(
        prefixes,
        fresh,
        {
          exclude,
          editor: { editorFiles: cfg.editor_files, scriptExtensions: cfg.script_extensions },
          maxFileSize: cfg.max_file_size,
          maxFiles: cfg.max_files,
          previous: entries,
        },
        stats,
      );
      if (stats.truncated && !warnedTruncated) {
        warnedTruncated = true;
        log.warn(
          { code: 'CANH_ERR_FIM_TOO_MANY_FILES', max_files: cfg.max_files },
          'more files than max_files: the scan stopped early; exclude caches or raise max_files',
        );
      }
      if (stats.truncated) return; // a partial scan would report the unscanned rest as deleted
      const changes = diffSnapshots(entries, fresh, prefixes);
      const next: Snapshot = {};
      for (const [p, e] of Object.entries(entries)) if (!prefixes.some((x) => within(p, x))) next[p] = e;
      Object.assign(next, fresh);
      entries = next;
      if (report && acc) for (const ev of changesToEvents(changes, scope, cfg.max_events_per_group)) acc.addEvent(ev);
      if (changes.length > 0 || !report) await store.save({ roots, entries });
      log.debug({ prefixes: prefixes.length, files: stats.files, hashed: stats.hashed, changes: changes.length }, 'file_integrity check');
    };

    const flushDirty = () => {
      debounceTimer = undefined;
      firstDirtyAt = 0;
      let list = [...dirty];
      dirty.clear();
      // Many dirty paths: checking the roots once is cheaper than one walk per path.
      if (list.length > 1000) list = roots;
      // Drop paths already covered by another dirty path.
      list = list.filter((p) => !list.some((q) => q !== p && within(p, q)));
      void enqueue(() => check(list, true));
    };

    const markDirty = (path: string) => {
      if (stopped) return;
      dirty.add(path);
      const now = Date.now();
      if (!firstDirtyAt) firstDirtyAt = now;
      if (debounceTimer) clearTimeout(debounceTimer);
      // Trailing debounce, but never wait more than 10 quiet periods during a long burst.
      const wait = now - firstDirtyAt > cfg.debounce * 10 ? 0 : cfg.debounce;
      debounceTimer = setTimeout(flushDirty, wait);
    };

    const startWatchers = async () => {
      const fileWatch = new Map<string, Set<string>>();
      for (const r of roots) {
        if (watchers.has(r)) continue;
        const st = await lstat(r).catch(() => undefined);
        if (st?.isDirectory()) {
          try {
            const w = watch(r, { recursive: true, persistent: false }, (_ev, name) => markDirty(name ? join(r, String(name)) : r));
            w.on('error', (err) => {
              // E.g. the folder was deleted: drop the watch; the next scan re-creates it.
              log.warn({ err, path: r }, 'watch failed; relying on the periodic scan');
              w.close();
              watchers.delete(r);
              markDirty(r);
            });
            watchers.set(r, w);
          } catch (err) {
            log.warn(
              { err, path: r, code: 'CANH_ERR_FIM_WATCH' },
              'cannot watch folder (inotify limit? raise fs.inotify.max_user_watches); relying on the periodic scan',
            );
          }
        } else {
          // Watch the parent: editors and `sed -i` replace a file, which ends a watch on it.
          const dir = dirname(r);
          const set = fileWatch.get(dir) ?? new Set<string>();
          set.add(basename(r));
          fileWatch.set(dir, set);
        }
      }
      for (const [dir, names] of fileWatch) {
        const key = `parent:${dir}`;
        if (watchers.has(key)) continue;
        try {
          const w = watch(dir, { persistent: false }, (_ev, name) => {
            if (name && names.has(String(name))) markDirty(join(dir, String(name)));
          });
          w.on('error', (err) => {
            log.warn({ err, path: dir }, 'watch failed; relying on the periodic scan');
            w.close();
            watchers.delete(key);
          });
          watchers.set(key, w);
        } catch {
          // Parent folder missing: the periodic scan will see the file if it appears.
        }
      }
    };

    const init = async () => {
      const saved = await store.load();
      if (!saved) {
        await check(roots, false);
        return;
      }
      entries = saved.entries;
      // Roots added to the config since the baseline was saved are recorded silently;
      // roots removed from it are forgotten.
      const added = roots.filter((r) => !saved.roots.includes(r));
      for (const p of Object.keys(entries)) if (!roots.some((r) => within(p, r))) delete entries[p];
      if (added.length) await check(added, false);
      // Changes made while the agent was stopped are real changes.
      await check(
        roots.filter((r) => saved.roots.includes(r)),
        true,
      );
      await store.save({ roots, entries });
    };

    return {
      start(a) {
        acc = a;
        void enqueue(async () => {
          await init();
          if (cfg.watch && !stopped) await startWatchers();
        });
        const tick = () => {
          scanTimer = setTimeout(() => {
            void enqueue(async () => {
              await check(roots, true);
              if (cfg.watch && !stopped) await startWatchers();
            }).finally(() => {
              if (!stopped) tick();
            });
          }, cfg.scan_interval);
          scanTimer.unref?.();
        };
        tick();
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        if (scanTimer) clearTimeout(scanTimer);
        if (debounceTimer) clearTimeout(debounceTimer);
        for (const w of watchers.values()) w.close();
        watchers.clear();
        await queue;
      },
      /** For tests and --once runs: wait until pending checks are done. */
      async idle() {
        await queue;
      },
      /** Force a full scan now (the periodic safety net). */
      async scanNow() {
        await enqueue(() => check(roots, true));
      },
    } satisfies FileIntegrity;
  },
});

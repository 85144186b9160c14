// The running file_integrity detector: the baseline, fs.watch (inotify) on the roots with a
// debounce, the periodic full scan as the safety net (lost notifications, changes made while
// the agent was stopped), and one queue that runs every check in turn.
import { watch, type FSWatcher } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { Accumulator, InputContext } from '../../inputs/types.ts';
import { baselineStore, type BaselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { diffSnapshots, resolveStatic, within, type Scope, type Snapshot } from './diff.ts';
import { scanInto, type ScanStats } from './scan.ts';
import { changesToEvents } from './events.ts';
import type { config, FileIntegrity } from './index.ts';

type Config = z.infer<typeof config>;

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

type Baseline = shape.Infer<typeof BaselineSchema>;

export class FimWatch implements FileIntegrity {
  private readonly cfg: Config;
  private readonly log: Logger;
  private readonly roots: string[];
  private readonly scope: Scope;
  private readonly exclude: string[];
  private readonly store: BaselineStore<Baseline>;
  private entries: Snapshot = {};
  private acc: Accumulator | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private scanTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private firstDirtyAt = 0;
  private warnedTruncated = false;
  private readonly dirty = new Set<string>();
  private readonly watchers = new Map<string, FSWatcher>();

  constructor(cfg: Config, ctx: InputContext) {
    this.cfg = cfg;
    this.log = ctx.log;
    const webRoots = cfg.web_roots.map(norm);
    const paths = cfg.paths.map(norm);
    this.roots = [...new Set([...paths, ...webRoots])];
    this.scope = { webRoots, staticPaths: resolveStatic(cfg.static_paths, webRoots).map(norm), paths };
    // The agent's own state must never look like a tampered file.
    this.exclude = [...cfg.exclude, `${norm(ctx.stateDir)}/**`];
    this.store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log: ctx.log });
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(job).catch((err: unknown) => this.log.error({ err }, 'file_integrity check failed'));
    return this.queue;
  }

  /** Rescan `prefixes`, report what changed under them, and persist the result. */
  private async check(prefixes: string[], report: boolean): Promise<void> {
    const cfg = this.cfg;
    const fresh: Snapshot = {};
    const stats: ScanStats = { files: 0, hashed: 0, truncated: false, errors: 0 };
    await scanInto(
      prefixes,
      fresh,
      {
        exclude: this.exclude,
        editor: { editorFiles: cfg.editor_files, scriptExtensions: cfg.script_extensions },
        maxFileSize: cfg.max_file_size,
        maxFiles: cfg.max_files,
        previous: this.entries,
      },
      stats,
    );
    if (stats.truncated && !this.warnedTruncated) {
      this.warnedTruncated = true;
      this.log.warn(
        { code: 'CANH_ERR_FIM_TOO_MANY_FILES', max_files: cfg.max_files },
        'more files than max_files: the scan stopped early; exclude caches or raise max_files',
      );
    }
    if (stats.truncated) return; // a partial scan would report the unscanned rest as deleted
    const changes = diffSnapshots(this.entries, fresh, prefixes);
    const next: Snapshot = {};
    for (const [p, e] of Object.entries(this.entries)) if (!prefixes.some((x) => within(p, x))) next[p] = e;
    Object.assign(next, fresh);
    this.entries = next;
    if (report && this.acc) for (const ev of changesToEvents(changes, this.scope, cfg.max_events_per_group)) this.acc.addEvent(ev);
    if (changes.length > 0 || !report) await this.store.save({ roots: this.roots, entries: this.entries });
    this.log.debug({ prefixes: prefixes.length, files: stats.files, hashed: stats.hashed, changes: changes.length }, 'file_integrity check');
  }

  private flushDirty(): void {
    this.debounceTimer = undefined;
    this.firstDirtyAt = 0;
    let list = [...this.dirty];
    this.dirty.clear();
    // Many dirty paths: checking the roots once is cheaper than one walk per path.
    if (list.length > 1000) list = this.roots;
    // Drop paths already covered by another dirty path.
    list = list.filter((p) => !list.some((q) => q !== p && within(p, q)));
    void this.enqueue(() => this.check(list, true));
  }

  private markDirty(path: string): void {
    if (this.stopped) return;
    this.dirty.add(path);
    const now = Date.now();
    if (!this.firstDirtyAt) this.firstDirtyAt = now;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    // Trailing debounce, but never wait more than 10 quiet periods during a long burst.
    const wait = now - this.firstDirtyAt > this.cfg.debounce * 10 ? 0 : this.cfg.debounce;
    this.debounceTimer = setTimeout(() => this.flushDirty(), wait);
  }

  /** A recursive watch of a folder root. */
  private watchFolder(r: string): void {
    try {
      const w = watch(r, { recursive: true, persistent: false }, (_ev, name) => this.markDirty(name ? join(r, String(name)) : r));
      w.on('error', (err) => {
        // E.g. the folder was deleted: drop the watch; the next scan re-creates it.
        this.log.warn({ err, path: r }, 'watch failed; relying on the periodic scan');
        w.close();
        this.watchers.delete(r);
        this.markDirty(r);
      });
      this.watchers.set(r, w);
    } catch (err) {
      this.log.warn(
        { err, path: r, code: 'CANH_ERR_FIM_WATCH' },
        'cannot watch folder (inotify limit? raise fs.inotify.max_user_watches); relying on the periodic scan',
      );
    }
  }

  /** Watches the parent of file roots: editors and `sed -i` replace a file, which ends a watch on it. */
  private watchParent(dir: string, names: Set<string>): void {
    const key = `parent:${dir}`;
    if (this.watchers.has(key)) return;
    try {
      const w = watch(dir, { persistent: false }, (_ev, name) => {
        if (name && names.has(String(name))) this.markDirty(join(dir, String(name)));
      });
      w.on('error', (err) => {
        this.log.warn({ err, path: dir }, 'watch failed; relying on the periodic scan');
        w.close();
        this.watchers.delete(key);
      });
      this.watchers.set(key, w);
    } catch {
      // Parent folder missing: the periodic scan will see the file if it appears.
    }
  }

  private async startWatchers(): Promise<void> {
    const fileWatch = new Map<string, Set<string>>();
    for (const r of this.roots) {
      if (this.watchers.has(r)) continue;
      const st = await lstat(r).catch(() => undefined);
      if (st?.isDirectory()) {
        this.watchFolder(r);
        continue;
      }
      const dir = dirname(r);
      const set = fileWatch.get(dir) ?? new Set<string>();
      set.add(basename(r));
      fileWatch.set(dir, set);
    }
    for (const [dir, names] of fileWatch) this.watchParent(dir, names);
  }

  private async init(): Promise<void> {
    const saved = await this.store.load();
    if (!saved) {
      await this.check(this.roots, false);
      return;
    }
    this.entries = saved.entries;
    // Roots added to the config since the baseline was saved are recorded silently;
    // roots removed from it are forgotten.
    const added = this.roots.filter((r) => !saved.roots.includes(r));
    for (const p of Object.keys(this.entries)) if (!this.roots.some((r) => within(p, r))) delete this.entries[p];
    if (added.length) await this.check(added, false);
    // Changes made while the agent was stopped are real changes.
    await this.check(
      this.roots.filter((r) => saved.roots.includes(r)),
      true,
    );
    await this.store.save({ roots: this.roots, entries: this.entries });
  }

  start(a: Accumulator): void {
    this.acc = a;
    void this.enqueue(async () => {
      // Watch first: a change made while the baseline is taken or compared is checked right
      // after it (the check queues behind this task), not at the next full scan.
      if (this.cfg.watch && !this.stopped) await this.startWatchers();
      await this.init();
    });
    const tick = () => {
      this.scanTimer = setTimeout(() => {
        void this.enqueue(async () => {
          await this.check(this.roots, true);
          if (this.cfg.watch && !this.stopped) await this.startWatchers();
        }).finally(() => {
          if (!this.stopped) tick();
        });
      }, this.cfg.scan_interval);
      this.scanTimer.unref?.();
    };
    tick();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.scanTimer) clearTimeout(this.scanTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.queue;
  }

  /** For tests and --once runs: wait until pending checks are done. */
  async idle(): Promise<void> {
    await this.queue;
  }

  /** Force a full scan now (the periodic safety net). */
  async scanNow(): Promise<void> {
    await this.enqueue(() => this.check(this.roots, true));
  }
}

// The running persistence detector: the baseline, the file comparison (at the next gather
// after the kernel said a watched folder changed, and every files_interval all the same), the
// kernel modules every gather (parsed again only when /proc/modules changed), the SUID scan
// beside the gathers, and the events. Where to look is in locations.ts, what a change means
// in events.ts.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { z } from 'zod';
import type { Severity } from '@canh/protocol';
import type { Accumulator, InputContext } from '../../inputs/types.ts';
import { baselineStore, type BaselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { groupFindings, sample } from '../group-findings.ts';
import { CATEGORIES, type Category } from './options.ts';
import { multiarchDirs, persistenceLocations, type FileCategory, type Location } from './locations.ts';
import { diffFiles, snapshotLocations, type FileChange } from './snapshot.ts';
import { scanSuid, type SuidEntry, type SuidScan } from './suid.ts';
import { excerpt, groupMembers, parseAccounts, parseModules, primaryGids } from './parse.ts';
import { fileMeaning, octal, suidMeaning } from './events.ts';
import type { config } from './index.ts';

type Config = z.infer<typeof config>;

const FILE_CATEGORIES = CATEGORIES.filter((c): c is FileCategory => c !== 'kernel_modules' && c !== 'suid');

const FileEntrySchema = shape.object({
  category: shape.oneOf(FILE_CATEGORIES),
  origin: shape.oneOf(['admin', 'vendor'] as const),
  kind: shape.oneOf(['file', 'dir', 'symlink', 'other'] as const),
  mode: shape.number,
  uid: shape.number,
  gid: shape.number,
  size: shape.number,
  mtimeMs: shape.number,
  ctimeMs: shape.number,
  ino: shape.number,
  sha256: shape.optional(shape.string),
  target: shape.optional(shape.string),
});
const SuidSchema = shape.object({ mode: shape.number, uid: shape.number, gid: shape.number, size: shape.number, mtimeMs: shape.number, ino: shape.number });
const BaselineSchema = shape.object({
  /** Categories the baseline holds; one enabled later is recorded silently. */
  categories: shape.array(shape.string),
  files: shape.record(FileEntrySchema),
  modules: shape.array(shape.string),
  suid: shape.record(SuidSchema),
  /** When the last complete SUID scan ran (ms); absent before the first. */
  suid_at: shape.optional(shape.number),
});
type Baseline = shape.Infer<typeof BaselineSchema>;

interface Finding {
  type: string;
  severity: Severity;
  mitre: string;
  message: string;
  evidence: Record<string, string | number | boolean>;
}

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

function fileFinding(c: FileChange, content: Uint8Array | undefined): Finding | undefined {
  const m = fileMeaning(c);
  if (!m) return undefined;
  const o = c.old;
  const n = c.new;
  const text = content ? excerpt(content) : undefined;
  return {
    ...m,
    message: `${m.what} ${c.change}: ${c.path}`.slice(0, 2000),
    evidence: {
      path: c.path.slice(0, 1024),
      change: c.change,
      category: (n ?? o)!.category,
      ...(o?.sha256 ? { old_sha256: o.sha256 } : {}),
      ...(n?.sha256 ? { new_sha256: n.sha256 } : {}),
      ...(n ? { size: n.size, new_mode: octal(n.mode), new_uid: n.uid } : {}),
      ...(o && n && (o.mode !== n.mode || o.uid !== n.uid) ? { old_mode: octal(o.mode), old_uid: o.uid } : {}),
      ...(n?.target !== undefined ? { target: n.target.slice(0, 1024) } : {}),
      ...(text !== undefined ? { content: text } : {}),
    },
  };
}

function suidFinding(path: string, e: SuidEntry, change: 'added' | 'changed' | 'removed', old?: SuidEntry): Finding {
  const m = suidMeaning(path, e, change);
  return {
    ...m,
    message: `${m.what} ${change}: ${path} (mode ${octal(e.mode)}, owner uid ${e.uid})`.slice(0, 2000),
    evidence: {
      path: path.slice(0, 1024),
      change,
      mode: octal(e.mode),
      uid: e.uid,
      gid: e.gid,
      size: e.size,
      ino: e.ino,
      setuid: (e.mode & 0o4000) !== 0,
      setgid: (e.mode & 0o2000) !== 0,
      ...(old ? { old_mode: octal(old.mode), old_uid: old.uid, old_size: old.size } : {}),
    },
  };
}

function emit(acc: Accumulator, findings: Finding[], maxPerGroup: number): void {
  const { single, grouped } = groupFindings(findings, (f) => f.type, maxPerGroup);
  for (const f of single) acc.addEvent({ type: f.type, severity: f.severity, mitre: f.mitre, message: f.message, evidence: f.evidence });
  for (const g of grouped) {
    const worst = g.items.reduce((a, b) => (RANK[b.severity] > RANK[a.severity] ? b : a));
    acc.addEvent({
      type: g.key,
      severity: worst.severity,
      mitre: worst.mitre,
      message: `${g.items.length} × ${worst.message.split(':')[0]} (and similar)`.slice(0, 2000),
      evidence: { paths_sample: sample(g.items.map((f) => String(f.evidence.path ?? f.evidence.module))) },
      count: g.items.length,
    });
  }
}

const sameNames = (a: Set<string> | undefined, b: Set<string> | undefined) => (a && b ? a.size === b.size && [...a].every((n) => b.has(n)) : a === b);

const usableHome = (h: string) => h.startsWith('/') && h !== '/' && !h.startsWith('/nonexistent') && !h.includes('/../');

export class PersistenceWatch {
  private readonly cfg: Config;
  private readonly ctx: InputContext;
  private readonly store: BaselineStore<Baseline>;
  private readonly enabled: Set<Category>;
  private readonly allowModules: Set<string>;
  private base: Baseline | undefined;
  private filesAt = -Infinity;
  private stopped = false;
  // The SUID scan takes seconds: it runs beside the gathers, and the gather after it ends
  // compares its result (a one-off run — check, tests — waits for it instead).
  private suidJob: Promise<void> | undefined;
  private suidDone: { scan: SuidScan; silent: boolean } | undefined;
  // When the last scan started: a truncated or failed one is not retried before suid_interval.
  private suidTriedAt: number | undefined;
  /** /proc/modules as last compared: the same text again is nothing new. */
  private modulesText: string | undefined;
  /** No /proc/modules (a kernel without loadable modules). */
  private noModules = false;
  /** inotify watches by folder (host path), each with the names it cares about (undefined: all). */
  private readonly watchers = new Map<string, { w: FSWatcher; names: Set<string> | undefined }>();
  /** A watched folder changed (or a watch failed) since the last comparison. */
  private filesDirty = false;
  /** Notifications that asked for a comparison (tests; the README's cost figures). */
  notifications = 0;
  /** The point's fields as last counted (the baseline has not changed since). */
  private countFields: { fields: Record<string, number>; int: string[] } | undefined;

  constructor(cfg: Config, ctx: InputContext) {
    this.cfg = cfg;
    this.ctx = ctx;
    this.store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log: ctx.log });
    this.enabled = new Set<Category>(cfg.categories);
    this.allowModules = new Set(cfg.allow_modules);
  }

  private at(p: string): string {
    return join(this.cfg.root, p);
  }

  /** Home folders: of accounts that may own user units, and of privileged accounts. */
  private async homes(): Promise<{ all: string[]; privileged: string[] }> {
    const passwd = await readFile(this.at('/etc/passwd'), 'utf8').catch(() => '');
    const group = await readFile(this.at('/etc/group'), 'utf8').catch(() => '');
    const accounts = parseAccounts(passwd);
    const { members, gids } = groupMembers(group, this.cfg.privileged_groups);
    const primary = primaryGids(passwd);
    const all = accounts.filter((a) => (a.uid === 0 || (a.uid >= 1000 && a.uid < 65534)) && usableHome(a.home));
    const privileged = accounts.filter((a) => usableHome(a.home) && (a.uid === 0 || members.has(a.name) || gids.has(primary.get(a.name) ?? -1)));
    return { all: [...new Set(all.map((a) => a.home))], privileged: [...new Set(privileged.map((a) => a.home))] };
  }

  private async locations(): Promise<Location[]> {
    const h = await this.homes();
    const libDirs: string[] = [];
    for (const parent of ['/lib', '/usr/lib']) libDirs.push(...multiarchDirs(parent, await readdir(this.at(parent)).catch(() => [])));
    return persistenceLocations(h.all, h.privileged, libDirs).filter((l) => this.enabled.has(l.category));
  }

  /**
   * Watches, until the next comparison, the folders it read (any change there) and the folders
   * holding a watched file or folder (changes of those names: created, replaced, removed).
   */
  private arm(locations: readonly Location[], dirs: readonly string[]): void {
    if (!this.cfg.watch || this.stopped) return;
    const want = new Map<string, Set<string> | undefined>();
    for (const d of dirs) want.set(d, undefined);
    for (const l of locations) {
      const parent = dirname(l.path);
      if (want.has(parent) && want.get(parent) === undefined) continue;
      const names = want.get(parent) ?? new Set<string>();
      names.add(basename(l.path));
      want.set(parent, names);
    }
    for (const [d, x] of this.watchers) {
      if (want.has(d) && sameNames(want.get(d), x.names)) continue;
      x.w.close();
      this.watchers.delete(d);
    }
    for (const [d, names] of want) if (!this.watchers.has(d)) this.watchFolder(d, names);
  }

  private watchFolder(d: string, names: Set<string> | undefined): void {
    const changed = () => {
      if (!this.filesDirty) this.notifications++;
      this.filesDirty = true;
    };
    try {
      const w = watch(this.at(d), { persistent: false }, (_ev, name) => {
        if (!names || name === null || names.has(String(name))) changed();
      });
      w.on('error', () => {
        // The folder went away: compare at the next gather, which watches again what is there.
        w.close();
        this.watchers.delete(d);
        changed();
      });
      this.watchers.set(d, { w, names });
    } catch (err) {
      // Missing (a location this host does not have), or out of inotify watches: files_interval still compares.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.ctx.log.debug({ err, path: d }, 'persistence: cannot watch folder');
    }
  }

  private async checkFiles(silent: ReadonlySet<Category>): Promise<{ findings: Finding[]; changed: boolean }> {
    const b = this.base!;
    const locations = await this.locations();
    const { snapshot, errors, dirs } = snapshotLocations(this.cfg.root, locations, b.files);
    if (errors) this.ctx.log.debug({ errors }, 'persistence: some locations could not be read');
    this.arm(locations, dirs);
    const changes = diffFiles(b.files, snapshot);
    const findings: Finding[] = [];
    for (const c of changes) {
      const cat = (c.new ?? c.old)!.category;
      if (silent.has(cat)) continue;
      const content = c.new?.kind === 'file' ? await readFile(this.at(c.path)).catch(() => undefined) : undefined;
      const f = fileFinding(c, content);
      if (f) findings.push(f);
    }
    b.files = snapshot;
    return { findings, changed: changes.length > 0 };
  }

  private async checkModules(silent: boolean): Promise<{ findings: Finding[]; changed: boolean }> {
    const b = this.base!;
    if (this.noModules) return { findings: [], changed: false };
    const text = await this.ctx.readFile(join(this.ctx.procRoot, 'modules')).catch((err: unknown) => {
      // A kernel built without module support has no /proc/modules, and never will: not asked again.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.noModules = true;
      return '';
    });
    // The list as last compared (each module's use count and users move: then it is parsed again).
    if (text !== '' && text === this.modulesText) return { findings: [], changed: false };
    this.modulesText = text;
    const { modules, malformed } = parseModules(text);
    if (malformed) this.ctx.log.warn({ malformed }, 'persistence: skipped malformed lines of /proc/modules');
    // Known modules stay known after they unload, so a hot-plugged driver is news once.
    const known = new Set(b.modules);
    const findings: Finding[] = [];
    for (const [name, size] of modules) {
      if (known.has(name)) continue;
      known.add(name);
      if (silent || this.allowModules.has(name)) continue;
      findings.push({
        type: 'kernel_module_loaded',
        severity: 'high',
        mitre: 'T1547.006',
        message: `kernel module ${name} loaded (not seen on this host before)`,
        evidence: { module: name, size },
      });
    }
    const changed = known.size !== b.modules.length;
    b.modules = [...known].sort();
    return { findings, changed };
  }

  /** The SUID/SGID scan, compared with the baseline once it is complete. */
  private async runSuidScan(): Promise<SuidScan | undefined> {
    const scan = await scanSuid(this.cfg.root, this.cfg.suid_paths, this.cfg.suid_max_files, () => this.stopped);
    if (scan.aborted) return undefined;
    if (scan.truncated) {
      this.ctx.log.warn(
        { code: 'CANH_ERR_PERSISTENCE_SUID_TOO_MANY_FILES', suid_max_files: this.cfg.suid_max_files },
        'SUID scan met more than suid_max_files entries and stopped without reporting: narrow suid_paths or raise suid_max_files',
      );
      return undefined;
    }
    this.ctx.log.debug({ entries: scan.entries, suid: Object.keys(scan.files).length }, 'persistence: SUID scan');
    return scan;
  }

  private applySuid(scan: SuidScan, silent: boolean): Finding[] {
    const b = this.base!;
    const findings: Finding[] = [];
    if (!silent) {
      for (const [p, e] of Object.entries(scan.files)) {
        const o = b.suid[p];
        if (!o) findings.push(suidFinding(p, e, 'added'));
        else if (o.ino !== e.ino || o.size !== e.size || o.mtimeMs !== e.mtimeMs || o.mode !== e.mode || o.uid !== e.uid || o.gid !== e.gid)
          findings.push(suidFinding(p, e, 'changed', o));
      }
      for (const [p, o] of Object.entries(b.suid)) if (!scan.files[p]) findings.push(suidFinding(p, o, 'removed'));
    }
    b.suid = scan.files;
    b.suid_at = this.ctx.now();
    return findings;
  }

  /** Compares a finished SUID scan with the baseline; true when there was one. */
  private takeSuid(findings: Finding[]): boolean {
    if (!this.suidDone) return false;
    findings.push(...this.applySuid(this.suidDone.scan, this.suidDone.silent));
    this.suidDone = undefined;
    return true;
  }

  /** Starts the SUID scan when it is due (and waits for it in a one-off run). */
  private async startSuidScan(now: number): Promise<void> {
    const b = this.base!;
    const lastScan = this.suidTriedAt ?? b.suid_at;
    if (!this.enabled.has('suid') || this.suidJob || !(lastScan === undefined || now - lastScan >= this.cfg.suid_interval || now < lastScan)) return;
    const silentScan = b.suid_at === undefined;
    this.suidTriedAt = now;
    this.suidJob = this.runSuidScan()
      .then(
        (scan) => {
          if (scan) this.suidDone = { scan, silent: silentScan };
        },
        (err: unknown) => this.ctx.log.error({ err }, 'persistence: SUID scan failed'),
      )
      .finally(() => {
        this.suidJob = undefined;
      });
    if (this.ctx.intervalMs === undefined) await this.suidJob;
  }

  /** Counts per category, as the point `persistence` (shown by `canh-agent check`); counted again only after the baseline changed. */
  private counts(acc: Accumulator, changed: boolean): void {
    if (changed || !this.countFields) {
      const b = this.base!;
      const fields: Record<string, number> = {};
      for (const c of FILE_CATEGORIES) if (this.enabled.has(c)) fields[c] = 0;
      for (const e of Object.values(b.files)) if (fields[e.category] !== undefined) fields[e.category]!++;
      if (this.enabled.has('kernel_modules')) fields.kernel_modules = b.modules.length;
      if (this.enabled.has('suid') && b.suid_at !== undefined) fields.suid = Object.keys(b.suid).length;
      this.countFields = { fields, int: Object.keys(fields) };
    }
    const { fields, int } = this.countFields;
    if (int.length) acc.addPoint('persistence', {}, { ...fields }, { int });
  }

  /** The saved baseline, less the categories no longer enabled; true when there was none. */
  private async load(): Promise<boolean> {
    const saved = await this.store.load();
    const base = saved ?? { categories: [], files: {}, modules: [], suid: {} };
    // Categories no longer enabled are forgotten; enabled ones not in the baseline are recorded silently.
    for (const [p, e] of Object.entries(base.files)) if (!this.enabled.has(e.category)) delete base.files[p];
    if (!this.enabled.has('kernel_modules')) base.modules = [];
    if (!this.enabled.has('suid')) {
      base.suid = {};
      delete base.suid_at;
    }
    this.base = base;
    return !saved;
  }

  async gather(acc: Accumulator): Promise<void> {
    const now = this.ctx.now();
    let changed = this.base ? false : await this.load();
    const b = this.base!;
    const silent = new Set(CATEGORIES.filter((c) => this.enabled.has(c) && !b.categories.includes(c)));
    const findings: Finding[] = [];
    const add = (r: { findings: Finding[]; changed: boolean }) => {
      findings.push(...r.findings);
      changed ||= r.changed;
    };
    if (this.enabled.has('kernel_modules')) add(await this.checkModules(silent.has('kernel_modules')));
    if (FILE_CATEGORIES.some((c) => this.enabled.has(c)) && (this.filesDirty || now - this.filesAt >= this.cfg.files_interval)) {
      this.filesAt = now;
      this.filesDirty = false;
      add(await this.checkFiles(silent));
    }
    if (this.takeSuid(findings)) changed = true;
    await this.startSuidScan(now);
    if (this.takeSuid(findings)) changed = true;
    for (const c of silent) {
      // A category counts as recorded once its first look is done (SUID: a complete scan).
      if (c === 'suid' && b.suid_at === undefined) continue;
      if (FILE_CATEGORIES.includes(c as FileCategory) && this.filesAt !== now) continue;
      b.categories.push(c);
      changed = true;
    }
    b.categories = b.categories.filter((c) => this.enabled.has(c as Category));
    emit(acc, findings, this.cfg.max_events_per_group);
    this.counts(acc, changed);
    if (changed) await this.store.save(b);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const x of this.watchers.values()) x.w.close();
    this.watchers.clear();
    await this.suidJob;
  }
}

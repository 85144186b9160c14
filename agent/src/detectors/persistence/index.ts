// persistence: watches where an intruder makes a foothold survive a reboot or a logout —
// cron, systemd units (system, package and user ones), /etc/ld.so.preload, rc.local and
// SysV init scripts, shell profiles of the system and of privileged users, sudoers, PAM
// configuration and modules — and the kernel modules loaded at runtime and the SUID/SGID
// files on disk. The first run records a baseline and reports nothing; after that every
// addition, change and removal is an event of its own type, with its ATT&CK technique.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Severity } from '@canh/protocol';
import { duration } from '@canh/core';
import { defineInput, type Accumulator } from '../../inputs/types.ts';
import { baselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { groupFindings, sample } from '../group-findings.ts';
import { CATEGORIES, type Category } from './options.ts';
import { multiarchDirs, persistenceLocations, type FileCategory } from './locations.ts';
import { diffFiles, snapshotLocations, type FileChange } from './snapshot.ts';
import { scanSuid, type SuidEntry, type SuidScan } from './suid.ts';
import { excerpt, groupMembers, parseAccounts, parseModules, primaryGids } from './parse.ts';
import { fileMeaning, octal, suidMeaning } from './events.ts';

const absPath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), 'must be an absolute path');

const config = z.object({
  /** Categories of persistence watched (all by default). */
  categories: z.array(z.enum(CATEGORIES)).default([...CATEGORIES]),
  /** Every location is read under this folder ("/" on a host; a copy of a host's tree in tests). */
  root: absPath.default('/'),
  /** How often the files (cron, units, profiles, sudoers, PAM, preload, rc.local) are compared; kernel modules are read every gather. */
  files_interval: duration({ min: 1000 }).default(60_000),
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

export default defineInput({
  name: 'persistence',
  description: 'Persistence footholds: cron, systemd units, ld.so.preload, rc.local, shell profiles, sudoers, PAM, kernel modules, new SUID/SGID files',
  platforms: ['linux'],
  config,
  // eslint-disable-next-line max-lines-per-function -- longer than 80 lines, still to split (issue 20)
  create(cfg, ctx) {
    const store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log: ctx.log });
    const enabled = new Set<Category>(cfg.categories);
    const allowModules = new Set(cfg.allow_modules);
    const at = (p: string) => join(cfg.root, p);
    let base: Baseline | undefined;
    let filesAt = -Infinity;
    let stopped = false;
    // The SUID scan takes seconds: it runs beside the gathers, and the gather after it ends
    // compares its result (a one-off run — check, tests — waits for it instead).
    let suidJob: Promise<void> | undefined;
    let suidDone: { scan: SuidScan; silent: boolean } | undefined;
    // When the last scan started: a truncated or failed one is not retried before suid_interval.
    let suidTriedAt: number | undefined;

    /** Home folders: of accounts that may own user units, and of privileged accounts. */
    const homes = async () => {
      const passwd = await readFile(at('/etc/passwd'), 'utf8').catch(() => '');
      const group = await readFile(at('/etc/group'), 'utf8').catch(() => '');
      const accounts = parseAccounts(passwd);
      const { members, gids } = groupMembers(group, cfg.privileged_groups);
      const primary = primaryGids(passwd);
      const usable = (h: string) => h.startsWith('/') && h !== '/' && !h.startsWith('/nonexistent') && !h.includes('/../');
      const all = accounts.filter((a) => (a.uid === 0 || (a.uid >= 1000 && a.uid < 65534)) && usable(a.home));
      const privileged = accounts.filter((a) => usable(a.home) && (a.uid === 0 || members.has(a.name) || gids.has(primary.get(a.name) ?? -1)));
      return { all: [...new Set(all.map((a) => a.home))], privileged: [...new Set(privileged.map((a) => a.home))] };
    };

    const locations = async () => {
      const h = await homes();
      const libDirs: string[] = [];
      for (const parent of ['/lib', '/usr/lib']) libDirs.push(...multiarchDirs(parent, await readdir(at(parent)).catch(() => [])));
      return persistenceLocations(h.all, h.privileged, libDirs).filter((l) => enabled.has(l.category));
    };

    const fileFinding = (c: FileChange, content: Uint8Array | undefined): Finding | undefined => {
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
    };

    const checkFiles = async (silent: ReadonlySet<Category>): Promise<{ findings: Finding[]; changed: boolean }> => {
      const b = base!;
      const { snapshot, errors } = snapshotLocations(cfg.root, await locations(), b.files);
      if (errors) ctx.log.debug({ errors }, 'persistence: some locations could not be read');
      const changes = diffFiles(b.files, snapshot);
      const findings: Finding[] = [];
      for (const c of changes) {
        const cat = (c.new ?? c.old)!.category;
        if (silent.has(cat)) continue;
        const content = c.new?.kind === 'file' ? await readFile(at(c.path)).catch(() => undefined) : undefined;
        const f = fileFinding(c, content);
        if (f) findings.push(f);
      }
      b.files = snapshot;
      return { findings, changed: changes.length > 0 };
    };

    const checkModules = async (silent: boolean): Promise<{ findings: Finding[]; changed: boolean }> => {
      const b = base!;
      const text = await ctx.readFile(join(ctx.procRoot, 'modules')).catch(() => '');
      const { modules, malformed } = parseModules(text);
      if (malformed) ctx.log.warn({ malformed }, 'persistence: skipped malformed lines of /proc/modules');
      // Known modules stay known after they unload, so a hot-plugged driver is news once.
      const known = new Set(b.modules);
      const findings: Finding[] = [];
      for (const [name, size] of modules) {
        if (known.has(name)) continue;
        known.add(name);
        if (silent || allowModules.has(name)) continue;
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
    };

    /** The SUID/SGID scan, compared with the baseline once it is complete. */
    const runSuidScan = async (): Promise<SuidScan | undefined> => {
      const scan = await scanSuid(cfg.root, cfg.suid_paths, cfg.suid_max_files, () => stopped);
      if (scan.aborted) return undefined;
      if (scan.truncated) {
        ctx.log.warn(
          { code: 'CANH_ERR_PERSISTENCE_SUID_TOO_MANY_FILES', suid_max_files: cfg.suid_max_files },
          'SUID scan met more than suid_max_files entries and stopped without reporting: narrow suid_paths or raise suid_max_files',
        );
        return undefined;
      }
      ctx.log.debug({ entries: scan.entries, suid: Object.keys(scan.files).length }, 'persistence: SUID scan');
      return scan;
    };

    const applySuid = (scan: SuidScan, silent: boolean): Finding[] => {
      const b = base!;
      const findings: Finding[] = [];
      const report = (path: string, e: SuidEntry, change: 'added' | 'changed' | 'removed', old?: SuidEntry) => {
        if (silent) return;
        const m = suidMeaning(path, e, change);
        findings.push({
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
        });
      };
      for (const [p, e] of Object.entries(scan.files)) {
        const o = b.suid[p];
        if (!o) report(p, e, 'added');
        else if (o.ino !== e.ino || o.size !== e.size || o.mtimeMs !== e.mtimeMs || o.mode !== e.mode || o.uid !== e.uid || o.gid !== e.gid)
          report(p, e, 'changed', o);
      }
      for (const [p, o] of Object.entries(b.suid)) if (!scan.files[p]) report(p, o, 'removed');
      b.suid = scan.files;
      b.suid_at = ctx.now();
      return findings;
    };

    /** Compares a finished SUID scan with the baseline; true when there was one. */
    const takeSuid = (findings: Finding[]): boolean => {
      if (!suidDone) return false;
      findings.push(...applySuid(suidDone.scan, suidDone.silent));
      suidDone = undefined;
      return true;
    };

    const emit = (acc: Accumulator, findings: Finding[]) => {
      const { single, grouped } = groupFindings(findings, (f) => f.type, cfg.max_events_per_group);
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
    };

    /** Counts per category, as the point `persistence` (shown by `canh-agent check`). */
    const counts = (acc: Accumulator) => {
      const b = base!;
      const fields: Record<string, number> = {};
      for (const c of FILE_CATEGORIES) if (enabled.has(c)) fields[c] = 0;
      for (const e of Object.values(b.files)) if (fields[e.category] !== undefined) fields[e.category]!++;
      if (enabled.has('kernel_modules')) fields.kernel_modules = b.modules.length;
      if (enabled.has('suid') && b.suid_at !== undefined) fields.suid = Object.keys(b.suid).length;
      if (Object.keys(fields).length) acc.addPoint('persistence', {}, fields, { int: Object.keys(fields) });
    };

    return {
      async gather(acc) {
        const now = ctx.now();
        let changed = false;
        if (!base) {
          const saved = await store.load();
          base = saved ?? { categories: [], files: {}, modules: [], suid: {} };
          // Categories no longer enabled are forgotten; enabled ones not in the baseline are recorded silently.
          for (const [p, e] of Object.entries(base.files)) if (!enabled.has(e.category)) delete base.files[p];
          if (!enabled.has('kernel_modules')) base.modules = [];
          if (!enabled.has('suid')) {
            base.suid = {};
            delete base.suid_at;
          }
          changed = !saved;
        }
        const b = base;
        const silent = new Set(CATEGORIES.filter((c) => enabled.has(c) && !b.categories.includes(c)));
        const findings: Finding[] = [];
        if (enabled.has('kernel_modules')) {
          const r = await checkModules(silent.has('kernel_modules'));
          findings.push(...r.findings);
          changed ||= r.changed;
        }
        if (FILE_CATEGORIES.some((c) => enabled.has(c)) && now - filesAt >= cfg.files_interval) {
          filesAt = now;
          const r = await checkFiles(silent);
          findings.push(...r.findings);
          changed ||= r.changed;
        }
        if (takeSuid(findings)) changed = true;
        const lastScan = suidTriedAt ?? b.suid_at;
        if (enabled.has('suid') && !suidJob && (lastScan === undefined || now - lastScan >= cfg.suid_interval || now < lastScan)) {
          const silentScan = b.suid_at === undefined;
          suidTriedAt = now;
          suidJob = runSuidScan()
            .then(
              (scan) => {
                if (scan) suidDone = { scan, silent: silentScan };
              },
              (err: unknown) => ctx.log.error({ err }, 'persistence: SUID scan failed'),
            )
            .finally(() => {
              suidJob = undefined;
            });
          if (ctx.intervalMs === undefined) await suidJob;
        }
        if (takeSuid(findings)) changed = true;
        for (const c of silent) {
          // A category counts as recorded once its first look is done (SUID: a complete scan).
          if (c === 'suid' && b.suid_at === undefined) continue;
          if (FILE_CATEGORIES.includes(c as FileCategory) && filesAt !== now) continue;
          b.categories.push(c);
          changed = true;
        }
        b.categories = b.categories.filter((c) => enabled.has(c as Category));
        emit(acc, findings);
        counts(acc);
        if (changed) await store.save(b);
      },
      async stop() {
        stopped = true;
        await suidJob;
      },
    };
  },
});

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

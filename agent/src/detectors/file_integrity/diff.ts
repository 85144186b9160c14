// Pure logic of file_integrity: compare two snapshots of file metadata and hashes, and
// decide what a change means (which event type, how severe, which ATT&CK technique).
// No file system access here, so it is tested with plain objects.
import { matchesGlob } from 'node:path';
import type { Severity } from '@canh/protocol';

export interface Entry {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** SHA-256 of the content; absent for directories, unreadable or too large files. */
  sha256?: string;
  /** Symlink target. */
  target?: string;
}

export type Snapshot = Record<string, Entry>;
export type ChangeKind = 'added' | 'modified' | 'deleted' | 'permissions';

export interface Change {
  path: string;
  change: ChangeKind;
  old?: Entry;
  new?: Entry;
}

/** True when `path` is `prefix` or lies below it. */
export function within(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

function contentChanged(a: Entry, b: Entry): boolean {
  if (a.kind !== b.kind) return true;
  if (a.kind === 'symlink') return a.target !== b.target;
  if (a.kind !== 'file') return false;
  if (a.sha256 && b.sha256) return a.sha256 !== b.sha256;
  // No hash on one side (too large, unreadable): fall back to size and mtime.
  return a.size !== b.size || a.mtimeMs !== b.mtimeMs;
}

function permsChanged(a: Entry, b: Entry): boolean {
  return (a.mode & 0o7777) !== (b.mode & 0o7777) || a.uid !== b.uid || a.gid !== b.gid;
}

/** Changes between `before` and `after`, limited to paths within one of `prefixes`. */
export function diffSnapshots(before: Snapshot, after: Snapshot, prefixes: readonly string[]): Change[] {
  const inScope = (p: string) => prefixes.some((x) => within(p, x));
  const out: Change[] = [];
  for (const [path, b] of Object.entries(after)) {
    if (!inScope(path)) continue;
    const a = before[path];
    if (!a) out.push({ path, change: 'added', new: b });
    else if (contentChanged(a, b)) out.push({ path, change: 'modified', old: a, new: b });
    else if (permsChanged(a, b)) out.push({ path, change: 'permissions', old: a, new: b });
  }
  for (const [path, a] of Object.entries(before)) {
    if (inScope(path) && !(path in after)) out.push({ path, change: 'deleted', old: a });
  }
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

export interface Scope {
  webRoots: readonly string[];
  /** Absolute paths of static content (within web roots): defacement there is critical. */
  staticPaths: readonly string[];
  /** The configured watch roots, to name the root a change belongs to. */
  paths: readonly string[];
}

export interface Meaning {
  type: string;
  severity: Severity;
  mitre?: string;
  /** The configured root this path belongs to (for grouping bursts). */
  root: string;
  webRoot?: string;
  isStatic: boolean;
  what: string;
}

// System files and what tampering with them usually serves (MITRE ATT&CK).
const SYSTEM: { match: (p: string) => boolean; mitre: string; what: string }[] = [
  { match: (p) => /\/\.ssh\/authorized_keys2?$/.test(p), mitre: 'T1098.004', what: 'SSH authorized keys' },
  { match: (p) => within(p, '/etc/sudoers') || within(p, '/etc/sudoers.d'), mitre: 'T1548.003', what: 'sudo configuration' },
  {
    match: (p) => p === '/etc/crontab' || /^\/etc\/cron\.[a-z]+(\/|$)/.test(p) || within(p, '/var/spool/cron'),
    mitre: 'T1053.003',
    what: 'cron job',
  },
  { match: (p) => /^\/etc\/(passwd|shadow|group|gshadow)$/.test(p), mitre: 'T1098', what: 'account database' },
  {
    match: (p) => within(p, '/etc/ssh/sshd_config') || within(p, '/etc/ssh/sshd_config.d') || within(p, '/etc/pam.d'),
    mitre: 'T1556',
    what: 'authentication configuration',
  },
];

const KIND_TYPE: Record<ChangeKind, string> = {
  added: 'file_added',
  modified: 'file_modified',
  deleted: 'file_deleted',
  permissions: 'file_permissions_changed',
};

function longest(path: string, prefixes: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const p of prefixes) if (within(path, p) && (!best || p.length > best.length)) best = p;
  return best;
}

export function classify(path: string, change: ChangeKind, scope: Scope): Meaning {
  const webRoot = longest(path, scope.webRoots);
  if (webRoot) {
    const isStatic = longest(path, scope.staticPaths) !== undefined;
    return {
      type: 'possible_defacement',
      severity: isStatic ? 'critical' : 'high',
      mitre: 'T1491.002',
      root: webRoot,
      webRoot,
      isStatic,
      what: isStatic ? 'static web content' : 'web content',
    };
  }
  const root = longest(path, scope.paths) ?? path;
  const sys = SYSTEM.find((s) => s.match(path));
  if (sys) return { type: KIND_TYPE[change], severity: 'high', mitre: sys.mitre, root, isStatic: false, what: sys.what };
  return { type: KIND_TYPE[change], severity: 'medium', root, isStatic: false, what: 'watched file' };
}

/** True when the path matches one of the exclude globs. */
export function excluded(path: string, globs: readonly string[]): boolean {
  return globs.some((g) => matchesGlob(path, g));
}

export interface EditorRule {
  /** Globs of editor swap and backup files. */
  editorFiles: readonly string[];
  /** Extensions (without the dot, lower case) a web server or a shell may run. */
  scriptExtensions: readonly string[];
}

/** Whether any dot-separated part of the name after the first is a script extension (Apache's AddHandler runs shell.php.swp). */
export function hasScriptExtension(path: string, exts: readonly string[]): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  return name
    .split('.')
    .slice(1)
    .some((part) => exts.includes(part));
}

/**
 * An editor file that may be skipped: it matches an editor glob, holds no script extension,
 * and (when its mode is known) is not executable. A web shell named `.#cmd.php` is never one.
 */
export function skippableEditorFile(path: string, rule: EditorRule, mode?: number): boolean {
  if (!rule.editorFiles.some((g) => matchesGlob(path, g))) return false;
  if (hasScriptExtension(path, rule.scriptExtensions)) return false;
  return mode === undefined || (mode & 0o111) === 0;
}

/** Resolve static_paths: absolute as given, relative ones under every web root. */
export function resolveStatic(staticPaths: readonly string[], webRoots: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of staticPaths) {
    if (s.startsWith('/')) out.push(s.replace(/\/+$/, '') || '/');
    else for (const w of webRoots) out.push(`${w.replace(/\/+$/, '')}/${s.replace(/^\.?\/+/, '').replace(/\/+$/, '')}`);
  }
  return out;
}

export const octal = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

// Pure logic of suspicious_process: what makes an executable path suspicious, and parsing
// of /proc/<pid>/status, stat and cmdline.
import type { Severity } from '@canh/protocol';

export interface Verdict {
  reason: 'temp_dir' | 'deleted' | 'memfd';
  severity: Severity;
  mitre: string;
  why: string;
}

const DELETED = ' (deleted)';
// Where package managers put binaries: a deleted one there is most likely a daemon still
// running the old version after an upgrade, not an attacker.
const SYSTEM_PREFIXES = ['/usr/', '/bin/', '/sbin/', '/lib/', '/lib64/', '/opt/', '/snap/'];

const under = (path: string, dir: string) => path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

export function judgeExe(exe: string, dirs: readonly string[]): Verdict | undefined {
  const deleted = exe.endsWith(DELETED);
  const path = deleted ? exe.slice(0, -DELETED.length) : exe;
  if (path.startsWith('/memfd:')) {
    return { reason: 'memfd', severity: 'high', mitre: 'T1620', why: 'runs from memory only (memfd), a fileless-malware technique' };
  }
  const dir = dirs.find((d) => under(path, d));
  if (dir) return { reason: 'temp_dir', severity: 'high', mitre: 'T1059', why: `runs from ${dir}, a world-writable folder${deleted ? ', and its file was deleted' : ''}` };
  if (deleted) {
    if (SYSTEM_PREFIXES.some((p) => path.startsWith(p))) {
      return { reason: 'deleted', severity: 'low', mitre: 'T1036', why: 'its executable was deleted (likely replaced by a package upgrade: restart the service)' };
    }
    return { reason: 'deleted', severity: 'high', mitre: 'T1036', why: 'its executable was deleted after it started' };
  }
  return undefined;
}

/** Real uid, parent pid and name from /proc/<pid>/status. */
export function parseStatus(text: string): { uid?: number; ppid?: number; name?: string } {
  const out: { uid?: number; ppid?: number; name?: string } = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const k = line.slice(0, i);
    const v = line.slice(i + 1).trim();
    if (k === 'Uid') {
      const n = Number(v.split(/\s+/)[0]);
      if (Number.isInteger(n)) out.uid = n;
    } else if (k === 'PPid') {
      const n = Number(v);
      if (Number.isInteger(n)) out.ppid = n;
    } else if (k === 'Name') out.name = v;
  }
  return out;
}

/** Start time (clock ticks since boot, field 22) from /proc/<pid>/stat; tells pid reuse apart. */
export function parseStartTime(stat: string): string | undefined {
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const v = rest[19];
  return v && /^\d+$/.test(v) ? v : undefined;
}

/** Arguments joined by spaces, control characters made visible, bounded. */
export function formatCmdline(raw: string, max = 512): string {
  const s = raw.replace(/\0+$/, '').replace(/\0/g, ' ').replace(/[\x00-\x1f\x7f]/g, '?');
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

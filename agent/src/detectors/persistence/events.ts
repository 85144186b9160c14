// What a change to a persistence location means: its event type, severity and ATT&CK
// technique. Text an attacker wrote (a cron line, a unit) is evidence only; the path's
// category alone chooses type and severity.
import type { Severity } from '@canh/protocol';
import type { FileCategory } from './locations.ts';
import type { FileChange } from './snapshot.ts';
import type { SuidEntry } from './suid.ts';

type Change = FileChange['change'];

interface Rule {
  type: Record<Change, string>;
  mitre: string;
  what: string;
  severity: Record<Change, Severity>;
}

const same = (t: string): Record<Change, string> => ({ added: t, changed: t, removed: t });

export const FILE_RULES: Record<FileCategory, Rule> = {
  cron: {
    type: { added: 'cron_job_added', changed: 'cron_job_changed', removed: 'cron_job_removed' },
    mitre: 'T1053.003',
    what: 'cron job',
    severity: { added: 'high', changed: 'high', removed: 'low' },
  },
  systemd: {
    type: { added: 'systemd_unit_added', changed: 'systemd_unit_changed', removed: 'systemd_unit_removed' },
    mitre: 'T1543.002',
    what: 'systemd unit',
    severity: { added: 'high', changed: 'high', removed: 'low' },
  },
  preload: {
    type: { added: 'preload_set', changed: 'preload_set', removed: 'preload_cleared' },
    mitre: 'T1574.006',
    what: 'dynamic loader preload list /etc/ld.so.preload',
    severity: { added: 'critical', changed: 'critical', removed: 'low' },
  },
  rc_local: { type: same('rc_local_changed'), mitre: 'T1037.004', what: 'boot script', severity: { added: 'high', changed: 'high', removed: 'low' } },
  shell_profile: {
    type: same('shell_profile_changed'),
    mitre: 'T1546.004',
    what: 'shell profile',
    severity: { added: 'high', changed: 'high', removed: 'low' },
  },
  sudoers: { type: same('sudoers_changed'), mitre: 'T1548.003', what: 'sudoers file', severity: { added: 'high', changed: 'high', removed: 'medium' } },
  pam: {
    type: same('pam_module_changed'),
    mitre: 'T1556.003',
    what: 'PAM configuration or module',
    severity: { added: 'high', changed: 'high', removed: 'medium' },
  },
};

export interface Meaning {
  type: string;
  severity: Severity;
  mitre: string;
  what: string;
}

/** The event a file change makes, or undefined when it is not reported (a vendor folder's change or removal). */
export function fileMeaning(c: FileChange): Meaning | undefined {
  const e = c.new ?? c.old!;
  const rule = FILE_RULES[e.category];
  if (e.origin === 'vendor' && c.change !== 'added') return undefined;
  let type = rule.type[c.change];
  let severity = rule.severity[c.change];
  // An emptied preload list preloads nothing.
  if (e.category === 'preload' && c.change !== 'removed' && c.new?.size === 0) {
    type = rule.type.removed;
    severity = rule.severity.removed;
  }
  // Packages add units and init scripts; an added one there is worth a look, not an alarm.
  if (e.origin === 'vendor') severity = 'medium';
  return { type, severity, mitre: rule.mitre, what: e.origin === 'vendor' ? `${rule.what} (package folder)` : rule.what };
}

const SYSTEM_PREFIXES = ['/usr/', '/bin/', '/sbin/', '/lib/', '/lib64/', '/opt/', '/snap/'];

/** A new SUID/SGID file: critical when it makes root out of a file outside the system folders. */
export function suidMeaning(path: string, e: SuidEntry, change: 'added' | 'changed' | 'removed'): Meaning {
  const rootSuid = (e.mode & 0o4000) !== 0 && e.uid === 0;
  const system = SYSTEM_PREFIXES.some((p) => path.startsWith(p));
  const severity: Severity = change === 'removed' ? 'info' : change === 'changed' ? 'medium' : rootSuid && !system ? 'critical' : 'high';
  return { type: `suid_binary_${change}`, severity, mitre: 'T1548.001', what: e.mode & 0o4000 ? 'SUID file' : 'SGID file' };
}

export const octal = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

// Where a Linux host keeps what runs again by itself: cron, systemd units, the dynamic
// loader's preload list, rc.local and SysV init scripts, shell profiles, sudoers and PAM.
// Paths are as on the host; the detector reads them under its `root`. (Kernel modules and
// SUID/SGID files are not file lists: see modules in index.ts and suid.ts.)
import type { Category } from './options.ts';

export type FileCategory = Exclude<Category, 'kernel_modules' | 'suid'>;

export interface Location {
  category: FileCategory;
  /** Absolute path on the host. */
  path: string;
  /** `file`: the path itself; `children`: the files directly in the folder; `tree`: everything below it. */
  walk: 'file' | 'children' | 'tree';
  /** Filled by packages: only additions are reported there, and less severely. */
  vendor?: boolean;
}

const CRON_DIRS = [
  '/etc/cron.d',
  '/etc/cron.hourly',
  '/etc/cron.daily',
  '/etc/cron.weekly',
  '/etc/cron.monthly',
  '/var/spool/cron/crontabs',
  '/var/spool/cron',
];
const SHELL_FILES = [
  '/etc/profile',
  '/etc/bash.bashrc',
  '/etc/environment',
  '/etc/zsh/zshenv',
  '/etc/zsh/zprofile',
  '/etc/zsh/zshrc',
  '/etc/zsh/zlogin',
  '/etc/zshenv',
  '/etc/zshrc',
];
const USER_RC = ['.bashrc', '.bash_profile', '.bash_login', '.bash_logout', '.profile', '.zshrc', '.zshenv', '.zprofile', '.zlogin'];
const RC_DIRS = ['/etc/rc0.d', '/etc/rc1.d', '/etc/rc2.d', '/etc/rc3.d', '/etc/rc4.d', '/etc/rc5.d', '/etc/rc6.d', '/etc/rcS.d'];

/**
 * Every watched location. `homes`: home folders of the accounts that may own user units;
 * `privilegedHomes`: those of uid-0 accounts and members of privileged groups (their shell
 * rc files run with privileges at each login); `libDirs`: multiarch library folders
 * (`/usr/lib/x86_64-linux-gnu`...) where PAM modules live.
 */
export function persistenceLocations(homes: readonly string[], privilegedHomes: readonly string[], libDirs: readonly string[]): Location[] {
  const out: Location[] = [];
  const add = (category: FileCategory, walk: Location['walk'], paths: readonly string[], vendor?: boolean) => {
    for (const path of paths) out.push({ category, path, walk, ...(vendor ? { vendor } : {}) });
  };
  add('cron', 'file', ['/etc/crontab', '/etc/anacrontab']);
  add('cron', 'children', CRON_DIRS);
  add('systemd', 'tree', ['/etc/systemd/system', '/etc/systemd/user', '/usr/local/lib/systemd/system']);
  add(
    'systemd',
    'tree',
    homes.map((h) => `${h}/.config/systemd/user`),
  );
  add('systemd', 'tree', ['/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/user', '/usr/lib/systemd/user'], true);
  add('preload', 'file', ['/etc/ld.so.preload']);
  add('rc_local', 'file', ['/etc/rc.local', '/etc/rc.d/rc.local']);
  add('rc_local', 'children', ['/etc/init.d', ...RC_DIRS], true);
  add('shell_profile', 'file', SHELL_FILES);
  add('shell_profile', 'children', ['/etc/profile.d']);
  add(
    'shell_profile',
    'file',
    privilegedHomes.flatMap((h) => USER_RC.map((f) => `${h}/${f}`)),
  );
  add('sudoers', 'file', ['/etc/sudoers']);
  add('sudoers', 'children', ['/etc/sudoers.d']);
  add('pam', 'file', ['/etc/pam.conf']);
  add('pam', 'children', ['/etc/pam.d']);
  add('pam', 'children', ['/lib/security', '/lib64/security', '/usr/lib/security', '/usr/lib64/security', ...libDirs.map((d) => `${d}/security`)]);
  return out;
}

/** Multiarch library folders named like `x86_64-linux-gnu` in a listing of /usr/lib or /lib. */
export function multiarchDirs(parent: string, names: readonly string[]): string[] {
  return names.filter((n) => /^[a-z0-9_]+-linux-[a-z0-9_]+$/.test(n)).map((n) => `${parent}/${n}`);
}

// A systemd "machine" for tests of the units as they really run: systemd as PID 1 of
// new PID, mount and cgroup namespaces on this host's kernel and network, with every
// folder it could change made private. No container engine, no image: the host's own
// /usr and /etc are the lower layers of overlays whose upper layers live in a temp dir,
// so an install, a `useradd` or a unit written under /etc vanish with the machine.
//
// What is private: /etc /usr /var /opt /root /home /srv (overlays), /run and /tmp
// (tmpfs), /proc (its own PID namespace), the cgroup tree (a cgroup of its own, entered
// before the namespace). What is shared with the host: the kernel, the network (so the
// machine reaches a collector on 127.0.0.1; `privateNetwork` gives it a loopback of its
// own instead, for servers that listen on fixed ports), /dev, /sys and /work.
//
// systemd is booted into an empty target, and every unit the distribution enables
// (the *.wants folders) is masked, except journald: nothing runs that would touch the
// shared kernel or disk (systemd-tmpfiles would empty the host's /tmp, systemd-sysctl set
// the host's sysctls, getty take a console). A unit started later with default
// dependencies pulls sysinit.target, which then has nothing left to start.
//
// Needs root, util-linux's unshare and nsenter, systemd, and overlayfs.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onExitSync, pollUntil } from './process.ts';

const SYSTEMD = '/lib/systemd/systemd';
const OVERLAID = ['etc', 'usr', 'var', 'opt', 'root', 'home', 'srv'];
const KEEP = new Set(['systemd-journald.service', 'systemd-journald.socket', 'systemd-journald-dev-log.socket']);
/** Units that are not in a .wants folder but that sysinit.target or a service could still pull. */
const ALSO_MASKED = [
  'tmp.mount',
  'systemd-tmpfiles-setup.service',
  'systemd-tmpfiles-setup-dev.service',
  'systemd-tmpfiles-clean.service',
  'systemd-sysctl.service',
  'systemd-udevd.service',
  'systemd-udev-trigger.service',
  'systemd-modules-load.service',
  'systemd-remount-fs.service',
  'systemd-timesyncd.service',
  'systemd-random-seed.service',
  'systemd-binfmt.service',
  'ldconfig.service',
  'systemd-hwdb-update.service',
  'systemd-update-utmp.service',
  'systemd-journal-catalog-update.service',
  'systemd-update-done.service',
  'systemd-firstboot.service',
  'systemd-sysusers.service',
  'systemd-machine-id-commit.service',
  'systemd-boot-system-token.service',
  'systemd-pcrphase-sysinit.service',
  'systemd-pcrphase.service',
  'systemd-repart.service',
  'systemd-pstore.service',
  'systemd-journal-flush.service',
  'kmod-static-nodes.service',
];

export interface SystemdMachine {
  /** The host PID of the machine's PID 1 (systemd). */
  pid: number;
  /** A host folder seen inside the machine as /run/canh-share. */
  share: string;
  /** Runs a command inside the machine (its mounts, PIDs and cgroups), as root. */
  exec(cmd: string, args: readonly string[], opts?: { input?: string; timeout?: number; env?: Record<string, string> }): SpawnSyncReturns<string>;
  /** Runs a bash script inside the machine; throws with its output when it fails. */
  sh(script: string, opts?: { timeout?: number }): string;
  stop(): void;
}

function unitsToMask(): string[] {
  const names = new Set(ALSO_MASKED);
  for (const base of ['/lib/systemd/system', '/etc/systemd/system']) {
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base)) {
      if (!d.endsWith('.wants') && !d.endsWith('.requires')) continue;
      for (const u of readdirSync(join(base, d))) names.add(u);
    }
  }
  return [...names].filter((u) => !KEEP.has(u) && /^[A-Za-z0-9@._\\-]+$/.test(u)).sort();
}

function bootScript(keep: readonly string[]): string {
  const mask = unitsToMask()
    .map((u) => `ln -sf /dev/null /run/systemd/system/${u}`)
    .join('\n');
  return `set -e
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
W=$1
mount --make-rprivate /
for d in ${OVERLAID.join(' ')}; do
  mkdir -p "$W/ov/$d/upper" "$W/ov/$d/work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$W/ov/$d/upper,workdir=$W/ov/$d/work" "/$d"
done
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/canh-share /run/systemd/system
mount --bind "$W/share" /run/canh-share
${keep.map((k, i) => `mkdir -p /run/canh-keep/${i} && mount --bind ${q(k)} /run/canh-keep/${i}`).join('\n')}
mount -t tmpfs -o mode=1777 tmpfs /tmp
${keep.map((k, i) => `mkdir -p ${q(k)} && mount --bind /run/canh-keep/${i} ${q(k)}`).join('\n')}
mount -t proc proc /proc
ip link set lo up
cat > /run/systemd/system/canh-test.target <<'UNIT'
[Unit]
Description=Canh test machine (nothing else runs)
DefaultDependencies=no
UNIT
${mask}
exec ${SYSTEMD} --system --unit=canh-test.target --log-target=kmsg --log-level=warning
`;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Boots the machine and waits until systemd answers `is-system-running`. `keep`: host
 * folders that stay visible at the same path even under the machine's private /tmp
 * (the checkout, when CI clones it there).
 */
export async function bootSystemdMachine(opts: { keep?: readonly string[]; privateNetwork?: boolean } = {}): Promise<SystemdMachine> {
  if (process.getuid?.() !== 0) throw new Error('a systemd machine needs root (unshare, overlay mounts)');
  const dir = mkdtempSync(join(tmpdir(), 'canh-systemd-'));
  const share = join(dir, 'share');
  mkdirSync(share, { mode: 0o755 });
  writeFileSync(join(dir, 'boot.sh'), bootScript(opts.keep ?? []));
  const cgroup = `canh-test-${process.pid}-${Date.now()}`;
  const hierarchies = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified', '/sys/fs/cgroup'].filter((h) => existsSync(join(h, 'cgroup.procs')));
  // The first hierarchy that exists on a pure cgroup2 host is /sys/fs/cgroup itself.
  const cgroups = (hierarchies.includes('/sys/fs/cgroup/systemd') ? hierarchies.filter((h) => h !== '/sys/fs/cgroup') : hierarchies.slice(0, 1)).map((h) =>
    join(h, cgroup),
  );
  for (const c of cgroups) mkdirSync(c);
  const enter = cgroups.map((c) => `echo $$ > ${c}/cgroup.procs`).join('; ');
  const net = opts.privateNetwork ? '--net' : '';
  const child = spawn('bash', ['-c', `${enter}; exec unshare --pid --fork --mount --cgroup ${net} bash "$0" "$1"`, join(dir, 'boot.sh'), dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let stopped = false;
  const pid1 = (): number | undefined => {
    // unshare's child is the machine's PID 1: bash running boot.sh, then systemd (same PID).
    const r = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' });
    const p = Number(r.stdout.trim().split('\n')[0]);
    return Number.isInteger(p) && p > 0 ? p : undefined;
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    const p = pid1();
    // SIGKILL to a PID namespace's init kills every process in it; the mounts go with it.
    if (p) spawnSync('kill', ['-9', String(p)]);
    child.kill('SIGKILL');
    for (let i = 0; i < 50 && p && existsSync(`/proc/${p}`); i++) spawnSync('sleep', ['0.1']);
    for (const c of cgroups) removeCgroup(c);
    rmSync(dir, { recursive: true, force: true });
  };
  const forget = onExitSync(stop);
  const pid = await pollUntil(
    async () => {
      const p = pid1();
      if (!p) return undefined;
      const r = spawnSync('nsenter', ['-t', String(p), '-m', '-p', '-C', '-n', 'systemctl', 'is-system-running'], { encoding: 'utf8', timeout: 10_000 });
      return ['running', 'degraded'].includes(r.stdout.trim()) ? p : undefined;
    },
    {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'systemd as PID 1 of the test machine',
      abortIf: () => (child.exitCode !== null ? `it exited (${child.exitCode}):\n${output}` : undefined),
      onTimeout: () => output,
    },
  );
  const exec: SystemdMachine['exec'] = (cmd, args, opts = {}) =>
    spawnSync('nsenter', ['-t', String(pid), '-m', '-p', '-C', '-n', '--', cmd, ...args], {
      encoding: 'utf8',
      input: opts.input,
      timeout: opts.timeout ?? 60_000,
      // PS1: Debian's bash reads /etc/bash.bashrc when its standard input is a socket (as
      // Node's pipes are), and that file reads PS1, unset under \`set -u\`.
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', PS1: '', LANG: 'C.UTF-8', ...opts.env },
    });
  return {
    pid,
    share,
    exec,
    sh(script, opts = {}) {
      const r = exec('bash', ['-euo', 'pipefail', '-c', script], { timeout: opts.timeout });
      if (r.status !== 0) throw new Error(`in the systemd machine, exit ${r.status ?? r.signal}:\n$ ${script}\n${r.stdout}${r.stderr}`);
      return r.stdout;
    },
    stop() {
      forget();
      stop();
    },
  };
}

/** A cgroup (v1 or v2) and the ones systemd made below it, deepest first. */
function removeCgroup(path: string): void {
  if (!existsSync(path)) return;
  for (const e of readdirSync(path, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(join(path, e.name));
  try {
    rmdirSync(path);
  } catch {
    // still has a process for a moment after the SIGKILL: left for the OS, named in no test
  }
}

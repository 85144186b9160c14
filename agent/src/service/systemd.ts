// `canh-agent service install|uninstall|status` on Linux: a hardened systemd unit that
// runs the agent as its own unprivileged user, with only the two capabilities the
// inputs and detectors need, writing nowhere but its state folder.
import { existsSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CanhError } from '@canh/core';
import type { Runner } from './runner.ts';
import { commandFailed } from './errors.ts';

export const UNIT_NAME = 'canh-agent.service';
export const UNIT_PATH = '/etc/systemd/system/canh-agent.service';
export const DEFAULT_USER = 'canh-agent';
export const DEFAULT_STATE_DIR = '/var/lib/canh-agent';
/** Groups that may read logs: auth.log/syslog (adm on Debian/Ubuntu/RHEL) and the journal. */
export const LOG_GROUPS = ['adm', 'systemd-journal'];

export interface UnitSpec {
  /** ExecStart's program and leading arguments: the executable, or node and the bundle. */
  exec: string[];
  configFile: string;
  stateDir: string;
  user: string;
  /** Supplementary groups that exist on this host (a missing one would stop the unit from starting). */
  groups: string[];
}

/** systemd's quoting: a word with blanks, quotes or backslashes is written in double quotes. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function renderUnit(u: UnitSpec): string {
  const ownState = u.stateDir === `/var/lib/${u.user}`;
  return `# Canh monitoring agent. Written by \`canh-agent service install\`; it is rewritten on
# every install or upgrade, so put local changes in a drop-in:
#   systemctl edit canh-agent
[Unit]
Description=Canh monitoring agent
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${[...u.exec, 'run', '--config', u.configFile].map(quote).join(' ')}
User=${u.user}
Group=${u.user}
${u.groups.length ? `# Read auth.log/syslog (adm) and the journal (systemd-journal) for the log detectors.\nSupplementaryGroups=${u.groups.join(' ')}\n` : ''}Restart=on-failure
RestartSec=5s
TimeoutStopSec=30s
# Logs go to the journal: journalctl -u canh-agent
StandardOutput=journal
StandardError=journal
SyslogIdentifier=canh-agent
UMask=0077
LimitNOFILE=65536

# The state folder (spool, detector baselines) is the only place the agent writes.
${ownState ? `StateDirectory=${u.user}\nStateDirectoryMode=0750\n` : ''}ReadWritePaths=${quote(u.stateDir)}
NoNewPrivileges=yes
ProtectSystem=strict
# Read-only, not hidden: file integrity may watch web roots under /home.
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
PrivateMounts=yes
RemoveIPC=yes
KeyringMode=private
SystemCallArchitectures=native
# Node and the programs the inputs run (ping, ip) need nothing outside the service set;
# a call outside it fails with EPERM instead of killing the agent.
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
# AF_NETLINK: interface and neighbour listings; AF_PACKET is not needed (ARP comes from /proc).
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
# Not set on purpose: MemoryDenyWriteExecute (V8's JIT needs writable code pages),
# ProtectProc=invisible and ProcSubset=pid (the processes input and the
# suspicious_process detector must see every process; the cpu, mem, net and kernel
# inputs read /proc/stat, /proc/meminfo, /proc/net/*), and
# PrivateUsers (it would take away the capabilities below).
#
# Capabilities, and nothing else:
#  CAP_NET_RAW: the ping input runs the system ping. NoNewPrivileges stops ping from
#    gaining its own setuid/file capability, so where unprivileged ICMP sockets are off
#    (net.ipv4.ping_group_range) ping works only with this capability inherited.
#  CAP_DAC_READ_SEARCH: read (never write) files the agent user cannot: the
#    file_integrity detector hashes /etc/shadow, /etc/sudoers and web roots' 0640
#    secrets (wp-config.php...) by default; without it those changes go unseen.
#    ProtectSystem=strict keeps every such file read-only to the agent.
#  CAP_SYS_PTRACE: the kernel shows /proc/PID/exe, maps and fd of another user's
#    process only to its owner or to this capability. Without it suspicious_process
#    cannot tell what program a root or www-data process runs (a binary in /dev/shm
#    started by an intruder goes unseen), and listening_ports cannot name a
#    listener's program. The system call filter above refuses ptrace(2) and
#    process_vm_readv(2) (neither is in @system-service): the agent
#    cannot attach to a process. It could still read /proc/PID/mem; the agent never
#    opens it, and a drop-in without this capability trades that for blind spots.
CapabilityBoundingSet=CAP_NET_RAW CAP_DAC_READ_SEARCH CAP_SYS_PTRACE
AmbientCapabilities=CAP_NET_RAW CAP_DAC_READ_SEARCH CAP_SYS_PTRACE

[Install]
WantedBy=multi-user.target
`;
}

export interface SystemdContext {
  runner: Runner;
  /** Folder the unit file is written under: '' for the live system, DESTDIR when staging. */
  root: string;
  /** Staging (DESTDIR): write the files only, run no command at all. */
  staged: boolean;
  user: string;
  out: (line: string) => void;
}

async function must(ctx: SystemdContext, cmd: string, args: string[], what: string): Promise<string> {
  const r = await ctx.runner(cmd, args);
  if (r.code !== 0) throw commandFailed(cmd, args, r, what);
  return r.stdout;
}

export async function installSystemd(
  ctx: SystemdContext,
  spec: { exec: string[]; configFile: string; stateDir: string; tokenFile?: string; start: boolean },
): Promise<number> {
  const unitFile = join(ctx.root, UNIT_PATH);
  if (ctx.staged) {
    // Staged (packaging, tests): groups are those of a Debian host; nothing is run.
    writeUnit(unitFile, renderUnit({ ...spec, user: ctx.user, groups: LOG_GROUPS }));
    ctx.out(`staged ${unitFile} (DESTDIR set: no user created, no systemctl run)`);
    return 0;
  }
  if ((await ctx.runner('getent', ['passwd', ctx.user])).code !== 0) {
    await must(
      ctx,
      'useradd',
      [
        '--system',
        '--user-group',
        '--no-create-home',
        '--home-dir',
        DEFAULT_STATE_DIR,
        '--shell',
        '/usr/sbin/nologin',
        '--comment',
        'Canh monitoring agent',
        ctx.user,
      ],
      `create the service user ${ctx.user}`,
    );
    ctx.out(`created system user ${ctx.user}`);
  }
  const groups: string[] = [];
  for (const g of LOG_GROUPS) if ((await ctx.runner('getent', ['group', g])).code === 0) groups.push(g);
  // The config and the token hold the agent's credential: its own user reads them, nobody else.
  const secrets = [spec.configFile, ...(spec.tokenFile ? [spec.tokenFile] : [])].filter((f) => existsSync(f));
  for (const f of secrets) chmodSync(f, 0o600);
  if (secrets.length) await must(ctx, 'chown', [`${ctx.user}:${ctx.user}`, ...secrets], 'give the config to the service user');
  if (spec.stateDir !== `/var/lib/${ctx.user}`) {
    // StateDirectory= only manages /var/lib/<name>; any other state folder is made here.
    mkdirSync(spec.stateDir, { recursive: true, mode: 0o750 });
    await must(ctx, 'chown', [`${ctx.user}:${ctx.user}`, spec.stateDir], 'give the state folder to the service user');
  }
  writeUnit(unitFile, renderUnit({ ...spec, user: ctx.user, groups }));
  ctx.out(`wrote ${unitFile}`);
  await must(ctx, 'systemctl', ['daemon-reload'], 'reload systemd');
  if (!spec.start) {
    await must(ctx, 'systemctl', ['enable', UNIT_NAME], 'enable the agent service');
    ctx.out('enabled canh-agent (not started: --no-start)');
    return 0;
  }
  const active = (await ctx.runner('systemctl', ['is-active', '--quiet', UNIT_NAME])).code === 0;
  if (active) {
    // An upgrade: the new binary and unit take over; config and state stay as they are.
    await must(ctx, 'systemctl', ['enable', UNIT_NAME], 'enable the agent service');
    await must(ctx, 'systemctl', ['restart', UNIT_NAME], 'restart the agent service');
    ctx.out('restarted canh-agent');
  } else {
    await must(ctx, 'systemctl', ['enable', '--now', UNIT_NAME], 'enable and start the agent service');
    ctx.out('enabled and started canh-agent; logs: journalctl -u canh-agent');
  }
  return 0;
}

/** mkdir -p with every folder it makes 0755, whatever the umask (install.sh's is 077). */
function mkdirPublic(dir: string): void {
  if (existsSync(dir)) return;
  mkdirPublic(dirname(dir));
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
}

function writeUnit(file: string, text: string): void {
  mkdirPublic(dirname(file));
  writeFileSync(file, text, { mode: 0o644 });
  chmodSync(file, 0o644);
}

/** Refuses to purge anything that is not plainly a state folder of its own. */
function purgeable(dir: string): boolean {
  return dir.startsWith('/') && dir.split('/').filter(Boolean).length >= 2 && !['/var/lib', '/usr/local', '/home'].includes(dir.replace(/\/+$/, ''));
}

export async function uninstallSystemd(ctx: SystemdContext, spec: { stateDir: string; purge: boolean }): Promise<number> {
  const unitFile = join(ctx.root, UNIT_PATH);
  if (!ctx.staged) {
    const r = await ctx.runner('systemctl', ['disable', '--now', UNIT_NAME]);
    if (r.code !== 0 && existsSync(unitFile)) throw commandFailed('systemctl', ['disable', '--now', UNIT_NAME], r, 'stop the agent service');
  }
  rmSync(unitFile, { force: true });
  ctx.out(`removed ${unitFile}`);
  // Drop-ins (systemctl edit canh-agent) are local changes: kept, unless purging.
  const dropIns = `${unitFile}.d`;
  if (spec.purge && existsSync(dropIns)) {
    rmSync(dropIns, { recursive: true, force: true });
    ctx.out(`removed the drop-ins in ${dropIns}`);
  }
  if (!ctx.staged) {
    await must(ctx, 'systemctl', ['daemon-reload'], 'reload systemd');
    await ctx.runner('systemctl', ['reset-failed', UNIT_NAME]);
  }
  if (spec.purge) {
    if (!purgeable(spec.stateDir))
      throw new CanhError('CANH_ERR_SERVICE_PURGE_REFUSED', `will not delete ${spec.stateDir}: not a state folder of its own; remove it by hand`);
    rmSync(join(ctx.staged ? ctx.root : '', spec.stateDir), { recursive: true, force: true });
    ctx.out(`removed the state folder ${spec.stateDir} (spool and baselines)`);
  } else ctx.out(`kept the state folder ${spec.stateDir} and the config (--purge removes the state)`);
  return 0;
}

export async function statusSystemd(ctx: SystemdContext): Promise<number> {
  const props = ['LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'MainPID', 'ExecMainStartTimestamp', 'NRestarts', 'Result'];
  const r = await ctx.runner('systemctl', ['show', UNIT_NAME, `--property=${props.join(',')}`]);
  if (r.code !== 0) throw commandFailed('systemctl', ['show', UNIT_NAME], r, 'ask systemd about the agent');
  const v = Object.fromEntries(
    r.stdout
      .split('\n')
      .map((l) => l.split('='))
      .filter((kv) => kv.length >= 2)
      .map(([k, ...rest]) => [k, rest.join('=')]),
  ) as Record<string, string>;
  if (v.LoadState === 'not-found') {
    ctx.out('canh-agent: not installed (no canh-agent.service)');
    return 4;
  }
  ctx.out(`canh-agent: ${v.ActiveState ?? '?'} (${v.SubState ?? '?'}), ${v.UnitFileState === 'enabled' ? 'starts at boot' : `unit ${v.UnitFileState ?? '?'}`}`);
  if (v.MainPID && v.MainPID !== '0') ctx.out(`  pid ${v.MainPID} since ${v.ExecMainStartTimestamp ?? '?'}`);
  if (v.NRestarts && v.NRestarts !== '0') ctx.out(`  restarted ${v.NRestarts} times (last result: ${v.Result ?? '?'})`);
  ctx.out('  logs: journalctl -u canh-agent');
  // systemctl's own convention: 0 running, 3 not running, 4 no such unit.
  return v.ActiveState === 'active' ? 0 : 3;
}

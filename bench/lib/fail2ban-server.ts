// Debian's fail2ban-server with a private configuration under a temp dir, for
// bench:detect-live: its own config dir (the system's filter definitions copied in, our
// fail2ban.conf and jail.conf), socket, pidfile, log and SQLite database, so the host's
// fail2ban (if any) and its files are never touched. The only action is a Python action
// that appends "<jail> <address>" to a file: no firewall, no command run per ban (a shell
// action would fork the server once per ban and add that to its CPU).
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pollUntil, spawnManaged, type ManagedProcess } from '../../test/helpers/process.ts';

export const FAIL2BAN_SERVER = '/usr/bin/fail2ban-server';
const SYSTEM_FILTERS = '/etc/fail2ban/filter.d';

/** The jails of a mail, ssh and FTP server, each with the filter Debian's jail.conf gives it. */
export const JAILS: readonly { name: string; filter: string }[] = [
  { name: 'sshd', filter: 'sshd' },
  { name: 'postfix-sasl', filter: 'postfix[mode=auth]' },
  { name: 'dovecot', filter: 'dovecot' },
  { name: 'vsftpd', filter: 'vsftpd' },
];

export interface Fail2banOptions {
  /** Temp dir to hold everything. */
  dir: string;
  /** The log every jail follows. */
  logPath: string;
  maxretry: number;
  findtimeS: number;
  /** polling (default), pyinotify or auto. */
  backend?: string;
  /** INFO (Debian's default: one log line per failure found), NOTICE (bans only)... */
  loglevel?: string;
}

export interface Fail2ban {
  proc: ManagedProcess;
  pid: number;
  backend: string;
  /** Banned addresses, with the jail that banned each first. */
  bans(): Map<string, string>;
  stop(): Promise<void>;
}

/** Why fail2ban-server cannot run here, or undefined when it can. */
export function fail2banMissing(): string | undefined {
  if (!existsSync(FAIL2BAN_SERVER) || !existsSync(SYSTEM_FILTERS)) return 'fail2ban-server and its filters are missing: apt-get install fail2ban';
  const v = spawnSync(FAIL2BAN_SERVER, ['-V'], { encoding: 'utf8' });
  if (v.status !== 0) return `fail2ban-server -V failed: ${v.stderr}`;
  return undefined;
}

export function fail2banVersion(): string {
  return spawnSync(FAIL2BAN_SERVER, ['-V'], { encoding: 'utf8' }).stdout.trim();
}

const ACTION_PY = `# bench:detect-live: record each ban in a file; nothing else.
from fail2ban.server.actions import ActionBase


class BenchRecord(ActionBase):
\tdef __init__(self, jail, name, path):
\t\tsuper(BenchRecord, self).__init__(jail, name)
\t\tself.path = path

\tdef start(self):
\t\tpass

\tdef stop(self):
\t\tpass

\tdef ban(self, aInfo):
\t\twith open(self.path, 'a') as f:
\t\t\tf.write('%s %s\\n' % (self._jail.name, aInfo['ip']))

\tdef unban(self, aInfo):
\t\tpass


Action = BenchRecord
`;

function writeConfig(o: Fail2banOptions, conf: string, run: string, bansFile: string, backend: string): void {
  mkdirSync(join(conf, 'action.d'), { recursive: true });
  cpSync(SYSTEM_FILTERS, join(conf, 'filter.d'), { recursive: true });
  writeFileSync(join(conf, 'action.d', 'bench-record.py'), ACTION_PY);
  writeFileSync(
    join(conf, 'fail2ban.conf'),
    [
      '[Definition]',
      // INFO while it starts: "Jail '...' started" is how startFail2ban knows it is ready; o.loglevel is set after.
      'loglevel = INFO',
      `logtarget = ${join(run, 'fail2ban.log')}`,
      `socket = ${join(run, 'fail2ban.sock')}`,
      `pidfile = ${join(run, 'fail2ban.pid')}`,
      `dbfile = ${join(run, 'fail2ban.sqlite3')}`,
      'dbpurgeage = 1d',
      '',
    ].join('\n'),
  );
  const jails = JAILS.map((j) => [`[${j.name}]`, 'enabled = true', `filter = ${j.filter}`, `logpath = ${o.logPath}`, ''].join('\n'));
  writeFileSync(
    join(conf, 'jail.conf'),
    [
      '[DEFAULT]',
      `backend = ${backend}`,
      `maxretry = ${o.maxretry}`,
      `findtime = ${o.findtimeS}`,
      'bantime = 1d',
      'usedns = no',
      'logtimezone = UTC',
      'ignoreip = 127.0.0.1/8 ::1',
      `action = bench-record.py[path="${bansFile}"]`,
      '',
      ...jails,
    ].join('\n'),
  );
}

/** Starts fail2ban-server in the foreground with the jails of JAILS on one log; resolves once every jail has started. */
export async function startFail2ban(o: Fail2banOptions): Promise<Fail2ban> {
  const conf = join(o.dir, 'fail2ban');
  const run = join(o.dir, 'fail2ban-run');
  mkdirSync(run, { recursive: true });
  const bansFile = join(run, 'bans.txt');
  writeFileSync(bansFile, '');
  const backend = o.backend ?? 'polling';
  writeConfig(o, conf, run, bansFile, backend);
  const args = ['-f', '-x', '-c', conf, '-s', join(run, 'fail2ban.sock'), '-p', join(run, 'fail2ban.pid'), '--logtarget', join(run, 'fail2ban.log')];
  // Log times are UTC; so is the zone fail2ban reads them in (logtimezone says it too).
  const proc = spawnManaged(FAIL2BAN_SERVER, args, { name: 'fail2ban-server', env: { TZ: 'UTC' } });
  const logFile = join(run, 'fail2ban.log');
  try {
    await ready(proc, logFile);
    const level = o.loglevel ?? 'INFO';
    if (level !== 'INFO') {
      const r = spawnSync('/usr/bin/fail2ban-client', ['-c', conf, '-s', join(run, 'fail2ban.sock'), 'set', 'loglevel', level], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`fail2ban-client set loglevel ${level} failed: ${r.stdout}${r.stderr}`);
    }
  } catch (err) {
    await proc.stop(10_000);
    throw err;
  }
  return {
    proc,
    pid: proc.pid!,
    backend,
    bans() {
      const out = new Map<string, string>();
      for (const line of readFileSync(bansFile, 'utf8').split('\n')) {
        const [jail, ip] = line.split(' ');
        if (jail && ip && !out.has(ip)) out.set(ip, jail);
      }
      return out;
    },
    async stop() {
      await proc.stop(10_000);
    },
  };
}

/** Every jail has logged that it started. */
async function ready(proc: ManagedProcess, logFile: string): Promise<void> {
  await pollUntil(
    async () => {
      const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      return JAILS.every((j) => text.includes(`Jail '${j.name}' started`)) ? true : undefined;
    },
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'fail2ban-server to start its jails',
      abortIf: () => (proc.running ? undefined : proc.describe()),
      onTimeout: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : proc.describe()),
    },
  );
}

// Backup and restore of a collector: its state (collector.db, by SQLite's VACUUM INTO —
// a consistent snapshot taken while the collector runs; the spool's files as they are,
// which the spool reads like after a crash) and its InfluxDB database (`influxd backup
// -portable`, through InfluxDB's RPC port, 8088 by default). A manifest names what is in
// the folder with checksums, so a restore refuses a folder that is not a whole backup.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { CanhError } from '@canh/core';

export const MANIFEST = 'canh-backup.json';
const FORMAT = 1;

export interface BackupManifest {
  format: number;
  created_at: string;
  collector_version: string;
  /** collector.db: its SHA-256 and the agents it registers (a quick look without opening it). */
  state: { file: 'collector.db'; sha256: string; agents: number };
  spool: { files: string[] };
  /** Absent with --no-influx. */
  influx?: { database: string; folder: 'influxdb'; tool: string };
}

export interface BackupOptions {
  stateDir: string;
  to: string;
  collectorVersion: string;
  /** InfluxDB database to back up, and influxd's RPC address (host:port). Undefined: state only. */
  influx?: { database: string; host: string; binary: string };
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function syncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function influxd(binary: string, args: string[], what: string): string {
  const r = spawnSync(binary, args, { encoding: 'utf8', timeout: 3_600_000 });
  if (r.error)
    throw new CanhError(
      'CANH_ERR_BACKUP_INFLUXD',
      `${what}: cannot run ${binary} (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}): install Debian's influxdb package, or set CANH_INFLUXD to influxd's path`,
    );
  if (r.status !== 0) {
    const said = `${r.stderr}${r.stdout}`.trim().split('\n').slice(-3).join(' / ');
    throw new CanhError(
      'CANH_ERR_BACKUP_INFLUXD',
      `${what} failed (exit ${r.status}): ${said || 'no output'}; check that influxd runs and that its bind-address (RPC, default 127.0.0.1:8088) is what --influx-host says`,
    );
  }
  return `${r.stdout}${r.stderr}`;
}

/**
 * influxd backup and restore retry a refused connection for ever: check first that
 * something listens on the RPC address, and say so plainly when nothing does.
 */
export function rpcReachable(host: string, timeoutMs = 5000): Promise<void> {
  const i = host.lastIndexOf(':');
  const name = host.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(host.slice(i + 1));
  return new Promise((resolve, reject) => {
    const s = connect({ host: name, port, timeout: timeoutMs });
    const fail = (why: string) => {
      s.destroy();
      reject(
        new CanhError(
          'CANH_ERR_BACKUP_INFLUXD',
          `cannot reach influxd's RPC address ${host} (${why}): check that influxd runs and that its bind-address is what --influx-host says (default: influx.url's host, port 8088)`,
        ),
      );
    };
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('timeout', () => fail('no answer'));
    s.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
  });
}

export async function backup(o: BackupOptions): Promise<BackupManifest> {
  if (o.influx) await rpcReachable(o.influx.host);
  if (existsSync(o.to) && (!statSync(o.to).isDirectory() || readdirSync(o.to).length)) {
    throw new CanhError('CANH_ERR_BACKUP_TARGET', `${o.to} exists and is not an empty folder: give a new folder for each backup`);
  }
  const dbFile = join(o.stateDir, 'collector.db');
  if (!existsSync(dbFile)) throw new CanhError('CANH_ERR_BACKUP_TARGET', `${dbFile} does not exist: check state_dir in the config (nothing to back up)`);
  try {
    mkdirSync(o.to, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CanhError('CANH_ERR_BACKUP_TARGET', `cannot create ${o.to} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  // VACUUM INTO writes a consistent copy from one read transaction, while the collector
  // goes on writing (WAL): no torn copy, no pause.
  const target = join(o.to, 'collector.db');
  const db = new DatabaseSync(dbFile);
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec(`VACUUM INTO '${target.replace(/'/g, "''")}'`);
  } finally {
    db.close();
  }
  syncFile(target);
  const copy = new DatabaseSync(target, { readOnly: true });
  let agents = 0;
  try {
    agents = (copy.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'agents'").get() as { n: number }).n
      ? (copy.prepare('SELECT count(*) AS n FROM agents').get() as { n: number }).n
      : 0;
  } finally {
    copy.close();
  }
  const spoolDir = join(o.stateDir, 'spool');
  const spoolFiles: string[] = [];
  if (existsSync(spoolDir)) {
    mkdirSync(join(o.to, 'spool'), { mode: 0o700 });
    for (const f of readdirSync(spoolDir)) {
      if (!statSync(join(spoolDir, f)).isFile()) continue;
      copyFileSync(join(spoolDir, f), join(o.to, 'spool', f));
      spoolFiles.push(f);
    }
  }
  let influx: BackupManifest['influx'];
  if (o.influx) {
    influxd(o.influx.binary, ['backup', '-portable', '-host', o.influx.host, '-db', o.influx.database, join(o.to, 'influxdb')], 'influxd backup');
    influx = { database: o.influx.database, folder: 'influxdb', tool: 'influxd backup -portable' };
  }
  const manifest: BackupManifest = {
    format: FORMAT,
    created_at: new Date().toISOString(),
    collector_version: o.collectorVersion,
    state: { file: 'collector.db', sha256: sha256(target), agents },
    spool: { files: spoolFiles },
    ...(influx ? { influx } : {}),
  };
  writeFileSync(join(o.to, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  syncFile(join(o.to, MANIFEST));
  return manifest;
}

export interface RestoreOptions {
  stateDir: string;
  from: string;
  /** Replace a state_dir that holds a collector.db, and drop an existing database first. */
  force: boolean;
  influx?: {
    host: string;
    binary: string;
    database: string;
    dropDatabase: () => Promise<void>;
    databaseExists: () => Promise<boolean>;
    readable: () => Promise<boolean>;
  };
}

export function readManifest(dir: string): BackupManifest {
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as BackupManifest;
  } catch (err) {
    throw new CanhError(
      'CANH_ERR_RESTORE_SOURCE',
      `${dir} is not a canh-collector backup (no readable ${MANIFEST}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  if (m.format !== FORMAT || !m.state?.sha256)
    throw new CanhError('CANH_ERR_RESTORE_SOURCE', `${join(dir, MANIFEST)} is not a backup manifest this collector reads (format ${String(m.format)})`);
  const db = join(dir, m.state.file);
  if (!existsSync(db) || sha256(db) !== m.state.sha256)
    throw new CanhError('CANH_ERR_RESTORE_SOURCE', `${db} is missing or differs from the manifest (checksum): the backup is damaged; nothing was restored`);
  if (m.influx && !existsSync(join(dir, m.influx.folder)))
    throw new CanhError('CANH_ERR_RESTORE_SOURCE', `${join(dir, m.influx.folder)} is missing: the backup is damaged; nothing was restored`);
  return m;
}

/** Restore into a stopped collector's state_dir and InfluxDB. Checks everything before changing anything. */
export async function restore(o: RestoreOptions): Promise<BackupManifest> {
  const m = readManifest(o.from);
  const dbFile = join(o.stateDir, 'collector.db');
  if (existsSync(dbFile) && !o.force)
    throw new CanhError(
      'CANH_ERR_RESTORE_TARGET',
      `${dbFile} exists: stop the collector, then restore with --force to replace it (or restore into an empty state_dir)`,
    );
  if (m.influx && o.influx) {
    await rpcReachable(o.influx.host);
    if ((await o.influx.databaseExists()) && !o.force)
      throw new CanhError(
        'CANH_ERR_RESTORE_TARGET',
        `InfluxDB already has the database "${o.influx.database}": add --force to drop it and restore the backup's (influxd restore does not merge)`,
      );
  }
  mkdirSync(o.stateDir, { recursive: true, mode: 0o750 });
  const tmp = `${dbFile}.restore-tmp`;
  copyFileSync(join(o.from, m.state.file), tmp);
  syncFile(tmp);
  for (const ext of ['-wal', '-shm']) rmSync(`${dbFile}${ext}`, { force: true });
  renameSync(tmp, dbFile);
  syncFile(o.stateDir);
  if (m.spool.files.length) {
    const spool = join(o.stateDir, 'spool');
    mkdirSync(spool, { recursive: true, mode: 0o750 });
    for (const f of m.spool.files) copyFileSync(join(o.from, 'spool', f), join(spool, f));
  }
  if (m.influx && o.influx) {
    if (await o.influx.databaseExists()) await o.influx.dropDatabase();
    // Into the database this collector's config names (the backup's, unless renamed since).
    const rename = o.influx.database !== m.influx.database ? ['-newdb', o.influx.database] : [];
    influxd(
      o.influx.binary,
      ['restore', '-portable', '-host', o.influx.host, '-db', m.influx.database, ...rename, join(o.from, m.influx.folder)],
      'influxd restore',
    );
    // influxd opens restored shards in the background ("shard is disabled" until then):
    // the restore is done when the data answers.
    const until = Date.now() + 120_000;
    while (!(await o.influx.readable())) {
      if (Date.now() > until)
        throw new CanhError(
          'CANH_ERR_BACKUP_INFLUXD',
          `influxd restore finished but database "${o.influx.database}" did not answer queries within 2 minutes; see influxd's log`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return m;
}

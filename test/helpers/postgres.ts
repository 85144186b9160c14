// A real PostgreSQL (Debian's `postgresql` package, /usr/lib/postgresql/<v>/bin) for
// integration tests: a private cluster made by initdb in a temp dir, listening on a free
// loopback port and a socket in that dir, password (SCRAM) authentication, so several can
// run at once beside a system cluster. PostgreSQL refuses to run as root: when the tests
// do, initdb and postgres run as the `postgres` user (setpriv) in a dir chowned to it.
import { chownSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.ts';
import { pollUntil, spawnManaged, tempDirCleanup, type ManagedProcess } from './process.ts';

export interface Postgres {
  /** postgres://canh@127.0.0.1:<port>/postgres (no password in it: see passwordFile). */
  readonly url: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** A file holding the password, as `state.postgres.password_file` reads it. */
  readonly passwordFile: string;
  readonly dir: string;
  readonly process: ManagedProcess;
  /** CREATE DATABASE name; returns its URL (without password). */
  createDatabase(name: string): Promise<string>;
  /** Run one statement as the superuser in a database (default postgres). */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], database?: string): Promise<T[]>;
  /** Fast shutdown (SIGINT), wait, start again on the same port and data. */
  restart(): Promise<void>;
  /** Fast shutdown and wait; start() brings it back. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Stop and remove the dir unless kept. Idempotent. */
  stop(): Promise<void>;
}

function binDir(): string {
  if (process.env.CANH_PG_BINDIR) return process.env.CANH_PG_BINDIR;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error('PostgreSQL not found under /usr/lib/postgresql: apt-get install postgresql');
  return join(base, versions[0]!, 'bin');
}

function pgUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** As the postgres user when we are root; setpriv execs, so the pid is the server's own. */
function asServerUser(command: string, args: string[], user: { uid: number; gid: number } | undefined): [string, string[]] {
  if (!user) return [command, args];
  return ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--pdeathsig', 'KILL', '--', command, ...args]];
}

export async function startPostgres(opts: { keep?: boolean; startTimeoutMs?: number } = {}): Promise<Postgres> {
  const bin = binDir();
  const keep = opts.keep ?? Boolean(process.env.CANH_TEST_KEEP);
  const dir = mkdtempSync(join(tmpdir(), 'canh-pg-'));
  const removeDir = tempDirCleanup(dir, keep);
  const user = pgUser();
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwInit = join(dir, 'pwinit');
  writeFileSync(pwInit, `${password}\n`, { mode: 0o600 });
  if (user) chownSync(pwInit, user.uid, user.gid);
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const [cmd, args] = asServerUser(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'canh', '--auth=scram-sha-256', `--pwfile=${pwInit}`, '-E', 'UTF8', '--locale=C', '--no-sync'],
    user,
  );
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  } catch (err) {
    removeDir();
    throw new Error(`initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  const port = await freePort();
  const url = `postgres://canh@127.0.0.1:${port}/postgres`;
  let proc!: ManagedProcess;
  let stopped: Promise<void> | undefined;
  let running = false;

  const launch = async (): Promise<void> => {
    const [c, a] = asServerUser(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-c',
        `port=${port}`,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${dir}`,
        '-c',
        'fsync=off',
        '-c',
        'max_connections=200',
        '-c',
        'logging_collector=off',
        '-c',
        'log_min_messages=warning',
      ],
      user,
    );
    proc = spawnManaged(c, a, { name: `postgres :${port}`, pdeathsig: false, env: { LC_ALL: 'C' } });
    const p = proc;
    await pollUntil(
      async () => {
        const client = new pg.Client({ host: '127.0.0.1', port, user: 'canh', password, database: 'postgres', connectionTimeoutMillis: 1_000 });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } catch {
          return undefined;
        } finally {
          await client.end().catch(() => {});
        }
      },
      {
        timeoutMs: opts.startTimeoutMs ?? 30_000,
        what: `postgres to accept connections on 127.0.0.1:${port}`,
        onTimeout: () => p.describe(),
        abortIf: () => (p.running ? undefined : p.describe()),
      },
    ).catch(async (err: unknown) => {
      await p.stop(1_000);
      throw err;
    });
    running = true;
  };

  const shutdown = async (): Promise<void> => {
    if (!running) return;
    running = false;
    // SIGINT is PostgreSQL's fast shutdown: sessions are cut, the server exits cleanly.
    if (proc.running) proc.child.kill('SIGINT');
    await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 20_000))]);
    await proc.stop(1_000);
  };

  try {
    await launch();
  } catch (err) {
    removeDir();
    throw err;
  }

  const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'canh', password, database });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };

  return {
    url,
    port,
    user: 'canh',
    password,
    passwordFile,
    dir,
    get process() {
      return proc;
    },
    query,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name}: use [a-z0-9_]`);
      await query(`CREATE DATABASE ${name}`);
      return `postgres://canh@127.0.0.1:${port}/${name}`;
    },
    async restart() {
      await shutdown();
      await launch();
    },
    stopServer: shutdown,
    startServer: launch,
    stop() {
      stopped ??= (async () => {
        await shutdown();
        removeDir();
      })();
      return stopped;
    },
  };
}

// `canh-collector state migrate --to postgres`: copy a collector's SQLite state
// (state_dir/collector.db) into the PostgreSQL of `state.postgres`, every table, in one
// transaction that is committed only once each table reads back equal, row for row. A
// database that already holds state is refused unless --force (it is emptied first).
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { CanhError } from '@canh/core';
import { SqliteRegistry } from '../registry/sqlite.ts';
import { CentralConfigStore } from '../central/store.ts';
import { SqliteAlertStore } from '../alerts/store.ts';
import { SCHEMA, STATE_TABLES } from './postgres.ts';

const KEYS: Record<(typeof STATE_TABLES)[number], string[]> = {
  agents: ['id'],
  removed_agents: ['name'],
  central_configs: ['version'],
  central_config_state: ['agent_id'],
  alerts: ['id'],
  alert_notified: ['alert_id', 'recipient'],
  alert_groups: ['key'],
  alert_nflog: ['group_key', 'recipient'],
  silences: ['id'],
  mail_outbox: ['id'],
  alert_series: ['key'],
  alert_agents: ['host'],
  maintenance_windows: ['id'],
  alert_acks: ['alert_id'],
};

export interface MigrateResult {
  tables: { table: string; rows: number }[];
}

type Row = Record<string, unknown>;

function same(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined) return b === null || b === undefined;
  if (typeof a === 'bigint') a = Number(a);
  if (typeof b === 'bigint') b = Number(b);
  return a === b;
}

function types() {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === 20 && format !== 'binary') return (v: string) => Number(v);
      return pg.types.getTypeParser(oid, format);
    },
  };
}

/** Copy the SQLite state at `file` into PostgreSQL at `url`; throws CANH_ERR_STATE_MIGRATE. */
export async function migrateToPostgres(opts: { file: string; url: string; password?: string; force?: boolean }): Promise<MigrateResult> {
  const lite = openSqlite(opts.file);
  const client = new pg.Client({ connectionString: withPassword(opts.url, opts.password), types: types() });
  // The query in flight fails when the server goes; the event alone must not end the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    lite.close();
    throw new CanhError('CANH_ERR_STATE_UNAVAILABLE', `PostgreSQL: ${(err as Error).message}; check state.postgres`);
  }
  const result: MigrateResult = { tables: [] };
  try {
    await client.query('BEGIN');
    await client.query(SCHEMA);
    await emptyTarget(client, !!opts.force);
    for (const t of STATE_TABLES) result.tables.push({ table: t, rows: await copyTable(lite, client, t) });
    await continueSequences(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end().catch(() => {});
    lite.close();
  }
}

/** The SQLite file, its schema brought up to date by opening each role (added columns and tables). */
function openSqlite(file: string): DatabaseSync {
  if (!existsSync(file)) throw new CanhError('CANH_ERR_STATE_MIGRATE', `no SQLite state at ${file}: check state_dir`);
  new SqliteRegistry(file).close();
  new SqliteAlertStore(file).close();
  const lite = new DatabaseSync(file);
  new CentralConfigStore(lite);
  return lite;
}

function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** A database that holds state is refused, unless forced: then it is emptied. */
async function emptyTarget(client: pg.Client, force: boolean): Promise<void> {
  const held: string[] = [];
  for (const t of STATE_TABLES) {
    const r = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`);
    if (r.rows[0]!.n > 0) held.push(`${t} (${r.rows[0]!.n} rows)`);
  }
  if (held.length && !force)
    throw new CanhError('CANH_ERR_STATE_MIGRATE', `the PostgreSQL database already holds state: ${held.join(', ')}; give --force to replace it`);
  if (held.length) await client.query(`TRUNCATE ${STATE_TABLES.join(', ')}`);
}

/** Copy one table (the columns both sides have), then read it back and compare; the number of rows. */
async function copyTable(lite: DatabaseSync, client: pg.Client, t: (typeof STATE_TABLES)[number]): Promise<number> {
  const liteCols = (lite.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
  const pgCols = new Set(
    (await client.query<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_name = $1', [t])).rows.map(
      (r) => r.column_name,
    ),
  );
  const cols = liteCols.filter((c) => pgCols.has(c));
  const order = KEYS[t].join(', ');
  const rows = lite.prepare(`SELECT ${cols.join(', ')} FROM ${t} ORDER BY ${order}`).all() as Row[];
  // Explicit ids into an identity column: OVERRIDING SYSTEM VALUE is not needed for BY DEFAULT.
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const params: unknown[] = [];
    const values = chunk.map((row) => `(${cols.map((c) => `$${params.push(typeof row[c] === 'bigint' ? Number(row[c]) : row[c])}`).join(', ')})`);
    await client.query(`INSERT INTO ${t} (${cols.join(', ')}) VALUES ${values.join(', ')}`, params);
  }
  const back = (await client.query<Row>(`SELECT ${cols.join(', ')} FROM ${t} ORDER BY ${order}`)).rows;
  compareRows(t, cols, rows, back);
  return rows.length;
}

/** Read back equal, row by row and column by column, or nothing is committed. */
function compareRows(t: string, cols: string[], rows: Row[], back: Row[]): void {
  if (back.length !== rows.length)
    throw new CanhError('CANH_ERR_STATE_MIGRATE', `${t}: ${rows.length} rows in SQLite, ${back.length} in PostgreSQL; nothing was committed`);
  for (let i = 0; i < rows.length; i++) {
    for (const c of cols) {
      if (!same(rows[i]![c], back[i]![c]))
        throw new CanhError(
          'CANH_ERR_STATE_MIGRATE',
          `${t} row ${i + 1}, column ${c}: ${String(rows[i]![c])} in SQLite, ${String(back[i]![c])} in PostgreSQL; nothing was committed`,
        );
    }
  }
}

/** New versions and ids continue past the copied ones; every collector reloads its mirrors. */
async function continueSequences(client: pg.Client): Promise<void> {
  await client.query(
    `SELECT setval(pg_get_serial_sequence('central_configs', 'version'), GREATEST((SELECT COALESCE(MAX(version), 0) FROM central_configs), 1), (SELECT COUNT(*) > 0 FROM central_configs))`,
  );
  await client.query(
    `SELECT setval('canh_id_blocks', GREATEST((SELECT COALESCE(MAX(id), 0) FROM alerts), (SELECT COALESCE(MAX(id), 0) FROM mail_outbox)) / 1000 + 1)`,
  );
  await client.query(`SELECT pg_notify('canh_state', t) FROM unnest(ARRAY['agents', 'central', 'silences', 'outbox', 'maintenance', 'acks']) AS t`);
}

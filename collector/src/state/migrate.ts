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
// eslint-disable-next-line max-lines-per-function -- longer than 80 lines, still to split (issue 20)
export async function migrateToPostgres(opts: { file: string; url: string; password?: string; force?: boolean }): Promise<MigrateResult> {
  if (!existsSync(opts.file)) throw new CanhError('CANH_ERR_STATE_MIGRATE', `no SQLite state at ${opts.file}: check state_dir`);
  // Opening each role brings an older file's schema up to date (added columns).
  new SqliteRegistry(opts.file).close();
  new SqliteAlertStore(opts.file).close();
  const lite = new DatabaseSync(opts.file);
  new CentralConfigStore(lite);
  const conn =
    opts.password === undefined
      ? opts.url
      : (() => {
          const u = new URL(opts.url);
          u.password = encodeURIComponent(opts.password);
          return u.toString();
        })();
  const client = new pg.Client({ connectionString: conn, types: types() });
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
    const held: string[] = [];
    for (const t of STATE_TABLES) {
      const r = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`);
      if (r.rows[0]!.n > 0) held.push(`${t} (${r.rows[0]!.n} rows)`);
    }
    if (held.length && !opts.force)
      throw new CanhError('CANH_ERR_STATE_MIGRATE', `the PostgreSQL database already holds state: ${held.join(', ')}; give --force to replace it`);
    if (held.length) await client.query(`TRUNCATE ${STATE_TABLES.join(', ')}`);
    for (const t of STATE_TABLES) {
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
      // Read back and compare, column by column.
      const back = (await client.query<Row>(`SELECT ${cols.join(', ')} FROM ${t} ORDER BY ${order}`)).rows;
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
      result.tables.push({ table: t, rows: rows.length });
    }
    // New versions and ids continue past the copied ones.
    await client.query(
      `SELECT setval(pg_get_serial_sequence('central_configs', 'version'), GREATEST((SELECT COALESCE(MAX(version), 0) FROM central_configs), 1), (SELECT COUNT(*) > 0 FROM central_configs))`,
    );
    await client.query(
      `SELECT setval('canh_id_blocks', GREATEST((SELECT COALESCE(MAX(id), 0) FROM alerts), (SELECT COALESCE(MAX(id), 0) FROM mail_outbox)) / 1000 + 1)`,
    );
    await client.query(`SELECT pg_notify('canh_state', t) FROM unnest(ARRAY['agents', 'central', 'silences', 'outbox', 'maintenance', 'acks']) AS t`);
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

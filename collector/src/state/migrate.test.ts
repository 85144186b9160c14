// `canh-collector state migrate --to postgres` against a real PostgreSQL: a SQLite state
// with rows in every table moves over with every table equal afterwards, the copy is
// usable (tokens authenticate, versions and ids continue past the copied ones), and a
// database already holding state is refused unless --force.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startPostgres, type Postgres } from '../../../test/helpers/postgres.ts';
import { SqliteRegistry } from '../registry/sqlite.ts';
import { CentralConfigStore } from '../central/store.ts';
import { SqliteAlertStore } from '../alerts/store.ts';
import { main } from '../cli.ts';
import { PgState, STATE_TABLES } from './postgres.ts';
import { PgRegistry } from './pg-registry.ts';
import { PgCentralStore } from './pg-central.ts';
import { PgAlertStore } from './pg-alert-store.ts';

let pg: Postgres;
let dir: string;

beforeAll(async () => {
  pg = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'canh-migrate-'));
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

describe('state migrate --to postgres', () => {
  it('moves every table without loss, and the copy works', async () => {
    const stateDir = join(dir, 'state');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(stateDir);
    const file = join(stateDir, 'collector.db');
    // A state with rows in every table, written by the roles themselves.
    const reg = new SqliteRegistry(file);
    const a1 = reg.add({ name: 'máy-1', agency: 'sở-a', site: 'dc' });
    const a2 = reg.add({ name: 'h2', agency: 'b', site: 's' });
    reg.markSeen(a1.agent.id, 1_700_000_000_123, '0.1.0', true);
    reg.revoke('h2');
    // Removed, its host's clean-up still due: the name goes over with the rest.
    const a3 = reg.add({ name: 'h3', agency: 'b', site: 's' });
    reg.revoke('h3');
    reg.remove(a3.agent.id);
    const central = new CentralConfigStore(reg.db);
    central.push({ scope: 'global', target: '', config: { inputs: [{ type: 'cpu' }] }, author: 'an', comment: 'đầu tiên' });
    const v2 = central.push({ scope: 'agency', target: 'sở-a', config: { inputs: [{ type: 'mem' }] } });
    central.recordResult(a1.agent.id, v2.version, ['x: bad']);
    reg.close();
    const store = new SqliteAlertStore(file);
    const al = store.insertAlert({
      fingerprint: 'f',
      rule: 'r',
      labels: { host: 'máy-1' },
      severity: 'high',
      state: 'firing',
      value: 0.1 + 0.2,
      summary: 's',
      activeAt: 1,
      firedAt: 2,
      resolvedAt: null,
      lastSampleAt: 3,
      clearSince: null,
      details: {},
      events: { list: [], total: 3 },
    });
    store.saveGroup({ key: 'g', labels: { agency: 'sở-a' }, createdAt: 1, waitUntil: 2, lastFlushAt: 3 });
    const m1 = store.commitNotification({
      groupKey: 'g',
      recipient: 'ops@x.vn',
      firing: [al.id],
      resolved: [],
      at: 10,
      mail: { to: 'ops@x.vn', subject: 'Cảnh báo', text: 't', html: 'h', headers: { a: 'b' } },
    });
    store.commitNotification({
      groupKey: 'g',
      recipient: 'ops@x.vn',
      firing: [],
      resolved: [al.id],
      at: 11,
      mail: { to: 'ops@x.vn', subject: 'Hết', text: 't', html: 'h', headers: {} },
    });
    store.markSent(m1, Date.now());
    store.addSilence({
      id: 'sil',
      matchers: [{ name: 'host', op: '=~', value: 'máy-.*' }],
      createdBy: 'an',
      comment: 'c',
      startsAt: 1,
      endsAt: 9e12,
      createdAt: 1,
    });
    store.saveSeries([{ key: 'k', labels: { rule: 'r' }, lastSeen: 5 }]);
    store.saveAgent({ host: 'máy-1', agency: 'sở-a', site: 'dc', online: false, since: 7 });
    store.maintenance.add({
      id: 'win-1',
      name: 'thay UPS',
      agencies: ['sở-a'],
      matchers: [],
      once: { from: 1, until: 9e12 },
      createdBy: 'an',
      comment: 'phiếu 12',
      createdAt: 2,
    });
    store.acks.add({ alertId: al.id, rule: 'r', labels: { host: 'máy-1' }, severity: 'high', by: 'Bình', comment: 'đang xử lý', at: 4 });
    store.close();

    const url = await pg.createDatabase('migrated');
    const cfg = join(dir, 'collector.yaml');
    writeFileSync(cfg, `state_dir: ${stateDir}\nstate:\n  postgres:\n    url: ${url}\n    password_file: ${pg.passwordFile}\n`);
    const r = await run(['state', 'migrate', '--to', 'postgres', '--config', cfg]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const t of STATE_TABLES) expect(r.out).toMatch(new RegExp(`${t}\\t[1-9]`));

    // Every table, every row, every column the SQLite file has: equal.
    const lite = new DatabaseSync(file);
    for (const t of STATE_TABLES) {
      const cols = (lite.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
      const before = lite.prepare(`SELECT ${cols.join(', ')} FROM ${t} ORDER BY 1, 2`).all() as Record<string, unknown>[];
      const after = await pg.query(`SELECT ${cols.join(', ')} FROM ${t} ORDER BY 1, 2`, [], 'migrated');
      // int8 comes back from the helper's client as a string: compare it as the number it is.
      const fixed = after.map((row, i) =>
        Object.fromEntries(cols.map((c) => [c, typeof before[i]?.[c] === 'number' && typeof row[c] === 'string' ? Number(row[c]) : row[c]])),
      );
      expect(fixed, t).toEqual(before.map((row) => ({ ...row })));
      expect(before.length, t).toBeGreaterThan(0);
    }
    lite.close();

    // The copy in use: the token authenticates, the revoked one does not, history goes on.
    const log = pino({ level: 'silent' });
    const st = await PgState.open({ url, password: pg.password, log, leaderPollMs: 100 });
    try {
      st.start();
      const preg = await PgRegistry.open(st);
      expect(preg.authenticate(a1.token)?.name).toBe('máy-1');
      expect(preg.authenticate(a2.token)).toBeUndefined();
      const pc = await PgCentralStore.open(st);
      expect(pc.resolve(preg.get('máy-1')!)?.version).toBe(v2.version);
      const v3 = await pc.push({ scope: 'global', target: '', config: {} });
      expect(v3.version).toBe(v2.version + 1);
      const ps = await PgAlertStore.load(st);
      expect(ps.openAlerts()[0]).toMatchObject({ id: al.id, value: 0.1 + 0.2, labels: { host: 'máy-1' }, events: { total: 3 } });
      expect(ps.silences()[0]!.matchers).toEqual([{ name: 'host', op: '=~', value: 'máy-.*' }]);
      expect(ps.mails('queued').map((m) => m.subject)).toEqual(['Hết']);
      expect(ps.maintenance.list()).toEqual([expect.objectContaining({ id: 'win-1', name: 'thay UPS', once: { from: 1, until: 9e12 } })]);
      expect(ps.acks.pending()).toEqual([expect.objectContaining({ alertId: al.id, by: 'Bình', comment: 'đang xử lý' })]);
      const next = ps.commitNotification({
        groupKey: 'g',
        recipient: 'x',
        firing: [],
        resolved: [],
        at: 1,
        mail: { to: 'x', subject: 's', text: '', html: '', headers: {} },
      });
      expect(next).toBeGreaterThan(m1 + 1);
    } finally {
      await st.stop();
    }

    // Again: refused, the database holds state; with --force it is replaced.
    const again = await run(['state', 'migrate', '--to', 'postgres', '--config', cfg]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/CANH_ERR_STATE_MIGRATE: .*already holds state.*--force/);
    const forced = await run(['state', 'migrate', '--to', 'postgres', '--config', cfg, '--force']);
    expect(forced.code).toBe(0);
    expect((await pg.query('SELECT count(*)::int AS n FROM central_configs', [], 'migrated'))[0]!.n).toBe(2);
  }, 60_000);
});

// The state roles over both backends: the same contract run against SQLite and a real
// PostgreSQL (test/helpers/postgres.ts), then what only PostgreSQL does: a second
// collector sees the first's writes, due mail is claimed by one collector only, the
// leader lock fails over when its session dies, and a former leader's alert state is
// fenced off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startPostgres, type Postgres } from '../../../test/helpers/postgres.ts';
import { SqliteRegistry } from '../registry/sqlite.ts';
import type { AgentRegistry } from '../registry/types.ts';
import { SqliteAlertStore, type AlertStore } from '../alerts/store.ts';
import type { Alert, NewMail } from '../alerts/types.ts';
import { PgState } from './postgres.ts';
import { PgRegistry } from './pg-registry.ts';
import { PgAlertStore } from './pg-alert-store.ts';
import { PgCentralStore } from './pg-central.ts';

const log = pino({ level: 'silent' });
let pgServer: Postgres;
const dirs: string[] = [];
const states: PgState[] = [];
let dbCount = 0;

beforeAll(async () => {
  pgServer = await startPostgres();
}, 60_000);

afterAll(async () => {
  for (const s of states) await s.stop();
  await pgServer?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function until(f: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function newDb(): Promise<string> {
  return pgServer.createDatabase(`t${++dbCount}_${process.pid}`);
}

async function pgState(url: string, opts: { leader?: boolean; id?: string } = {}): Promise<PgState> {
  const s = await PgState.open({ url, password: pgServer.password, log, leaderPollMs: 100, collectorId: opts.id, campaign: opts.leader !== false });
  states.push(s);
  s.start();
  if (opts.leader !== false) await until(() => s.isLeader, 'leadership');
  return s;
}

function sqliteFile(): string {
  const d = mkdtempSync(join(tmpdir(), 'canh-state-'));
  dirs.push(d);
  return join(d, 'collector.db');
}

interface Backend {
  name: string;
  /** A registry, and a way to open the same state again (as a restart or another collector). */
  registry(): Promise<{ reg: AgentRegistry; reopen: () => Promise<AgentRegistry> }>;
  alerts(): Promise<{ store: AlertStore; reopen: () => Promise<AlertStore> }>;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    async registry() {
      const file = sqliteFile();
      const reg = new SqliteRegistry(file);
      return {
        reg,
        reopen: async () => {
          reg.close();
          return new SqliteRegistry(file);
        },
      };
    },
    async alerts() {
      const file = sqliteFile();
      const store = new SqliteAlertStore(file);
      return {
        store,
        reopen: async () => {
          store.close();
          return new SqliteAlertStore(file);
        },
      };
    },
  },
  {
    name: 'postgres',
    async registry() {
      const url = await newDb();
      const st = await pgState(url);
      const reg = await PgRegistry.open(st);
      return {
        reg,
        reopen: async () => {
          await st.flush();
          return PgRegistry.open(await pgState(url, { leader: false }));
        },
      };
    },
    async alerts() {
      const url = await newDb();
      const st = await pgState(url);
      const store = await PgAlertStore.load(st);
      return {
        store,
        reopen: async () => {
          await st.flush();
          return PgAlertStore.load(st);
        },
      };
    },
  },
];

function alert(over: Partial<Alert> = {}): Omit<Alert, 'id'> {
  return {
    fingerprint: 'fp1',
    rule: 'cpu_high',
    labels: { host: 'h1', agency: 'a' },
    severity: 'high',
    state: 'firing',
    value: 97.5,
    summary: 'CPU 97.5 %',
    activeAt: 1000,
    firedAt: 2000,
    resolvedAt: null,
    lastSampleAt: 2500,
    clearSince: null,
    details: { core: 'all' },
    ...over,
  };
}

const mail: NewMail = { to: 'ops@example.org', subject: 'Cảnh báo', text: 'text', html: '<p>html</p>', headers: { 'X-Canh-Group': 'g1' } };

for (const b of backends) {
  describe(`state roles over ${b.name}`, () => {
    it('registry: token once, hash only, revoke, duplicates refused, survives reopening', async () => {
      const { reg, reopen } = await b.registry();
      const { agent, token } = reg.add({ name: 'máy-chủ-1', agency: 'sở-nội-vụ', site: 'dc' });
      expect(reg.authenticate(token)?.id).toBe(agent.id);
      expect(reg.authenticate(`${token}x`)).toBeUndefined();
      expect(() => reg.add({ name: 'máy-chủ-1', agency: 'a', site: 's' })).toThrow(expect.objectContaining({ code: 'CANH_ERR_REGISTRY_EXISTS' }));
      expect(() => reg.add({ name: 'bad name', agency: 'a', site: 's' })).toThrow(expect.objectContaining({ code: 'CANH_ERR_REGISTRY_BAD_NAME' }));
      const h2 = reg.add({ name: 'h2', agency: 'a', site: 's' });
      reg.markSeen(agent.id, 1234, '0.1.0', true);
      expect(reg.revoke('h2')?.revokedAt).toBeTypeOf('number');
      expect(reg.authenticate(h2.token)).toBeUndefined();
      const again = await reopen();
      expect(again.authenticate(token)?.name).toBe('máy-chủ-1');
      expect(again.authenticate(h2.token)).toBeUndefined();
      expect(again.isRevoked(h2.agent.id)).toBe(true);
      expect(again.list().map((a) => a.name)).toEqual(['h2', 'máy-chủ-1']);
      expect(again.get('máy-chủ-1')).toMatchObject({ lastSeen: 1234, version: '0.1.0', connected: true });
    });

    it('alert store: episodes, notifications with their mail, groups, silences, series and liveness survive reopening', async () => {
      const { store, reopen } = await b.alerts();
      const a = store.insertAlert(alert());
      const gone = store.insertAlert(alert({ fingerprint: 'fp2' }));
      store.updateAlert({ ...a, value: 99, summary: 'CPU 99 %' });
      store.deleteAlert(gone.id);
      store.saveGroup({ key: 'g1', labels: { agency: 'a' }, createdAt: 10, waitUntil: 20, lastFlushAt: null });
      const id = store.commitNotification({ groupKey: 'g1', recipient: 'ops@example.org', firing: [a.id], resolved: [], at: 3000, mail });
      store.addSilence({
        id: 'sil-1',
        matchers: [{ name: 'host', op: '=', value: 'h1' }],
        createdBy: 'an',
        comment: 'bảo trì',
        startsAt: 0,
        endsAt: 10_000,
        createdAt: 5,
      });
      store.saveSeries([{ key: 's1', labels: { rule: 'r' }, lastSeen: 77 }]);
      store.saveAgent({ host: 'h1', agency: 'a', site: 's', online: true, since: 88 });
      const s = await reopen();
      expect(s.openAlerts()).toEqual([{ ...a, value: 99, summary: 'CPU 99 %' }]);
      expect(s.notified([a.id]).get(a.id)?.get('ops@example.org')).toEqual({ firingSentAt: 3000, resolvedSentAt: null });
      expect(s.lastSent('g1', 'ops@example.org')).toBe(3000);
      expect(s.groups()).toEqual([{ key: 'g1', labels: { agency: 'a' }, createdAt: 10, waitUntil: 20, lastFlushAt: null }]);
      expect(s.silences().map((x) => [x.id, x.comment, x.matchers])).toEqual([['sil-1', 'bảo trì', [{ name: 'host', op: '=', value: 'h1' }]]]);
      expect(s.expireSilence('sil-1', 500)?.endsAt).toBe(500);
      expect(s.series()).toEqual([{ key: 's1', labels: { rule: 'r' }, lastSeen: 77 }]);
      expect(s.agents()).toEqual([{ host: 'h1', agency: 'a', site: 's', online: true, since: 88 }]);
      const queued = s.mails('queued');
      expect(queued.map((m) => [m.id, m.to, m.subject, m.headers])).toEqual([[id, 'ops@example.org', 'Cảnh báo', { 'X-Canh-Group': 'g1' }]]);
      expect(queued[0]!.messageId).toMatch(/^<canh-.+@canh\.invalid>$/);
      // The mail is due: the SQLite store hands it out, PostgreSQL's is claimed.
      const due = s.claimDueMail ? await s.claimDueMail(4000, 10) : s.dueMail(4000, 10);
      expect(due.map((m) => m.id)).toEqual([id]);
      s.markSent(id, 4100);
      await s.sync?.();
      const after = await reopen();
      expect(after.mails('queued')).toEqual([]);
      expect(after.silences()[0]!.endsAt).toBe(500);
    });

    it('revoked hosts: every series of them leaves the store, also rows this store never held (another collector’s, a rule not loaded); twice is harmless', async () => {
      const { store, reopen } = await b.alerts();
      store.saveSeries([
        { key: 's1', labels: { rule: 'r', host: 'h1' }, lastSeen: 1 },
        { key: 's2', labels: { rule: 'r', host: 'h2' }, lastSeen: 2 },
        { key: 's4', labels: { rule: 'r', host: 'h3' }, lastSeen: 2 },
      ]);
      store.saveAgent({ host: 'h1', agency: 'a', site: 's', online: false, since: 3 });
      store.saveAgent({ host: 'h3', agency: 'a', site: 's', online: true, since: 3 });
      const s = await reopen();
      // Another writer of the same state (a second collector's host rules, an older config's rule).
      const other = await reopen();
      other.saveSeries([{ key: 's3', labels: { rule: 'gone_rule', host: 'h1' }, lastSeen: 4 }]);
      await other.sync?.();
      s.forgetHosts(['h1', 'h3']);
      s.forgetHosts(['h1', 'h3']);
      s.forgetHosts([]);
      await s.sync?.();
      expect(s.series().map((x) => x.key)).toEqual(['s2']);
      const after = await reopen();
      expect(after.series().map((x) => x.key)).toEqual(['s2']);
      expect(after.agents()).toEqual([]);
    });

    it('acknowledgements and CLI maintenance windows: the first ack stands, recorded ones are pruned, windows removed by prefix; all survive reopening', async () => {
      const { store, reopen } = await b.alerts();
      const ack = { alertId: 7, rule: 'cpu_high', labels: { host: 'h1' }, severity: 'high', by: 'Bình', comment: 'đang xem', at: 100 };
      expect(store.acks.add(ack)).toEqual(ack);
      expect(store.acks.add({ ...ack, by: 'An', at: 200 })).toEqual(ack);
      store.acks.add({ ...ack, alertId: 8, at: 300 });
      const win = {
        id: 'a1b2c3d4-0000-4000-8000-000000000001',
        name: 'thay UPS',
        agencies: ['so-tttt'],
        matchers: [],
        createdBy: 'an',
        comment: 'phiếu 12',
        createdAt: 5,
      };
      store.maintenance.add({ ...win, once: { from: 1000, until: 2000 } });
      store.maintenance.add({ ...win, id: 'a1b2c3d4-0000-4000-8000-000000000002', name: 'sao lưu', weekly: { days: ['sun'], start: '01:00', end: '03:00' } });
      const s = await reopen();
      expect(s.acks.get(7)).toEqual(ack);
      expect([...s.acks.of([7, 8, 9]).keys()]).toEqual([7, 8]);
      expect(s.acks.pending().map((x) => x.alertId)).toEqual([7, 8]);
      s.acks.markRecorded([7]);
      s.acks.prune(150); // 7 is recorded and older: gone; 8 is not recorded yet: kept
      expect(s.maintenance.list().map((w) => [w.name, w.once ?? w.weekly])).toEqual([
        ['thay UPS', { from: 1000, until: 2000 }],
        ['sao lưu', { days: ['sun'], start: '01:00', end: '03:00' }],
      ]);
      expect(s.maintenance.remove('a1b2c3d4')).toBeUndefined(); // a prefix of both: names none
      expect(s.maintenance.remove('a1b2c3d4-0000-4000-8000-000000000002')?.name).toBe('sao lưu');
      await s.sync?.();
      const after = await reopen();
      expect(after.acks.get(7)).toBeUndefined();
      expect(after.acks.pending().map((x) => x.alertId)).toEqual([8]);
      expect(after.maintenance.list().map((w) => w.name)).toEqual(['thay UPS']);
    });
  });
}

describe('postgres state across collectors', () => {
  it('a second collector sees agents added and revoked by the first (NOTIFY), and central config pushed anywhere', async () => {
    const url = await newDb();
    const a = await pgState(url, { id: 'A' });
    const b = await pgState(url, { id: 'B', leader: false });
    const ra = await PgRegistry.open(a);
    const rb = await PgRegistry.open(b);
    const { token } = ra.add({ name: 'h1', agency: 'a', site: 's' });
    await until(() => rb.authenticate(token)?.name === 'h1', 'B to know the token');
    ra.revoke('h1');
    await until(() => rb.authenticate(token) === undefined, 'B to see the revocation');
    const ca = await PgCentralStore.open(a);
    const cb = await PgCentralStore.open(b);
    const v1 = await cb.push({ scope: 'global', target: '', config: { inputs: [{ type: 'cpu' }] } });
    const v2 = await ca.push({ scope: 'agency', target: 'a', config: { inputs: [{ type: 'mem' }] } });
    expect(v2.version).toBeGreaterThan(v1.version);
    await until(() => cb.latestVersion() === v2.version, 'B to see the newer version');
    expect(cb.resolve(ra.get('h1')!)?.config).toEqual({ inputs: [{ type: 'mem' }] });
    await expect(ca.push({ scope: 'agency', target: '', config: {} })).rejects.toMatchObject({ code: 'CANH_ERR_CENTRAL_TARGET' });
    // The same agency deleted through both collectors at once: one tombstone, the other refused.
    const both = await Promise.allSettled([ca.remove('agency', 'a', { author: 'A' }), cb.remove('agency', 'a', { author: 'B' })]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'CANH_ERR_CENTRAL_NOT_FOUND' } });
    await until(() => cb.history().filter((v) => v.deleted).length === 1, 'B to see the tombstone');
    expect(cb.resolve(ra.get('h1')!)?.config).toEqual({ inputs: [{ type: 'cpu' }] }); // back to the global one
  });

  it('due mail is claimed by one collector only (FOR UPDATE SKIP LOCKED), and again once its lease ran out', async () => {
    const url = await newDb();
    const a = await pgState(url, { id: 'A' });
    const b = await pgState(url, { id: 'B', leader: false });
    const sa = await PgAlertStore.load(a);
    const ids: number[] = [];
    for (let i = 0; i < 40; i++)
      ids.push(sa.commitNotification({ groupKey: `g${i}`, recipient: 'ops@example.org', firing: [], resolved: [], at: 1000 + i, mail }));
    await a.flush();
    const sb = await PgAlertStore.load(b);
    // Both claim at once, many times: every mail goes to exactly one of them.
    const rounds = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? sa : sb).claimDueMail(5000, 8)));
    const got = rounds.flat().map((m) => m.id);
    expect(got.length).toBe(40);
    expect(new Set(got).size).toBe(40);
    expect([...got].sort((x, y) => x - y)).toEqual(ids);
    expect(await sb.claimDueMail(5000, 100)).toEqual([]);
    // A claimer that died: after the lease (120 s) the mail is due again, for one claimer.
    const later = await Promise.all([sa.claimDueMail(5000 + 121_000, 100), sb.claimDueMail(5000 + 121_000, 100)]);
    expect(later[0].length + later[1].length).toBe(40);
  });

  it('the leader lock fails over when its session dies, and the old leader’s alert state is fenced off', async () => {
    const url = await newDb();
    const a = await pgState(url, { id: 'A' });
    const b = await pgState(url, { id: 'B', leader: false });
    // B campaigns too, but A holds the lock.
    const bCampaign = await PgState.open({ url, password: pgServer.password, log, leaderPollMs: 100, collectorId: 'B2' });
    states.push(bCampaign);
    bCampaign.start();
    await until(() => a.cluster().leader === 'A' && a.cluster().collectors.length === 3, 'the cluster table');
    expect(bCampaign.isLeader).toBe(false);
    const sa = await PgAlertStore.load(a);
    sa.insertAlert(alert({ fingerprint: 'before' }));
    await a.flush();
    // Kill A's session from the server side, as a dead host or a partition would.
    const changes: boolean[] = [];
    a.onLeader = (l) => changes.push(l);
    a.setCampaign(false);
    await pgServer.query('SELECT pg_terminate_backend($1)', [a.sessionPid]);
    await until(() => bCampaign.isLeader, 'B2 to take the lead');
    expect(changes[0]).toBe(false);
    expect(bCampaign.epoch).toBeGreaterThan(a.epoch);
    // A, no longer leader, writes alert state: none of it lands.
    sa.insertAlert(alert({ fingerprint: 'after' }));
    await a.flush();
    const rows = await pgServer.query<{ fingerprint: string }>('SELECT fingerprint FROM alerts ORDER BY id', [], url.split('/').pop());
    expect(rows.map((r) => r.fingerprint)).toEqual(['before']);
    expect(a.stats.fencedOut).toBeGreaterThan(0);
    void b;
  });

  it('a leader that has not yet noticed a takeover writes nothing: its epoch is no longer current', async () => {
    const url = await newDb();
    const a = await pgState(url, { id: 'A' });
    const sa = await PgAlertStore.load(a);
    sa.insertAlert(alert({ fingerprint: 'mine' }));
    await a.flush();
    // Another collector took over (its epoch bumped) while A's session still looks fine to A.
    await pgServer.query('UPDATE canh_leader SET epoch = epoch + 1, holder = $1', ['B'], url.split('/').pop());
    expect(a.isLeader).toBe(true);
    const changes: boolean[] = [];
    a.onLeader = (l) => changes.push(l);
    sa.insertAlert(alert({ fingerprint: 'stale' }));
    // Silences are not the leader's alone: they still land.
    sa.addSilence({ id: 'sil-x', matchers: [], createdBy: 'x', comment: '', startsAt: 0, endsAt: 1, createdAt: 1 });
    await a.flush();
    const db = url.split('/').pop();
    expect((await pgServer.query<{ fingerprint: string }>('SELECT fingerprint FROM alerts ORDER BY id', [], db)).map((r) => r.fingerprint)).toEqual(['mine']);
    expect((await pgServer.query<{ id: string }>('SELECT id FROM silences', [], db)).map((r) => r.id)).toEqual(['sil-x']);
    expect(a.stats.fencedOut).toBe(1);
    // It stepped down on finding out.
    expect(changes[0]).toBe(false);
  });

  it('writes made while PostgreSQL is down wait in the queue and land when it returns', async () => {
    const url = await newDb();
    const a = await pgState(url, { id: 'A' });
    const reg = await PgRegistry.open(a);
    await pgServer.stopServer();
    let added: { token: string } | undefined;
    try {
      added = reg.add({ name: 'while-down', agency: 'a', site: 's' });
      // The mirror answers at once; the write waits.
      expect(reg.authenticate(added.token)?.name).toBe('while-down');
      await until(() => a.stats.retries > 0, 'a failed attempt');
      expect(a.stats.queued).toBeGreaterThan(0);
    } finally {
      await pgServer.startServer();
    }
    await until(() => a.stats.queued === 0, 'the queue to drain', 60_000);
    const rows = await pgServer.query<{ name: string }>('SELECT name FROM agents', [], url.split('/').pop());
    expect(rows.map((r) => r.name)).toEqual(['while-down']);
  }, 90_000);
});

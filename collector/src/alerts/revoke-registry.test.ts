// Revoked agents cleaned up from the registry's list, on SQLite and on a real PostgreSQL
// (test/helpers/postgres.ts): a host this engine never heard of (revoked after a restart,
// or while its agent was on a collector that died) still has its open alerts resolved
// (`agent_revoked`) and every row of it removed — `alert_series` rows of any rule,
// `alert_agents`, and on PostgreSQL the pending episodes another collector wrote and the
// session rows (also that of an agent `agent remove` deleted). At most MAX_FORGET_PER_PASS
// hosts per pass; again after a restart without harm; the host's later inputs bring nothing back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startPostgres, type Postgres } from '../../../test/helpers/postgres.ts';
import { SqliteRegistry } from '../registry/sqlite.ts';
import { CentralConfigStore } from '../central/store.ts';
import type { AgentRegistry } from '../registry/types.ts';
import { PgState } from '../state/postgres.ts';
import { PgRegistry } from '../state/pg-registry.ts';
import { PgAlertStore } from '../state/pg-alert-store.ts';
import { MAX_FORGET_PER_PASS } from './engine.ts';
import { SqliteAlertStore, type AlertStore } from './store.ts';
import type { Alert } from './types.ts';
import { fingerprint } from './rules.ts';
import { batch, hanoi, harness, hue, MIN, T0 } from './test-kit.ts';

const log = pino({ level: 'silent' });
let pgServer: Postgres;
const dirs: string[] = [];
const states: PgState[] = [];

beforeAll(async () => {
  pgServer = await startPostgres();
}, 60_000);

afterAll(async () => {
  for (const s of states) await s.stop();
  await pgServer?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function until(f: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What is left in the state, read by a reader of its own (not the engine's store). */
interface Rows {
  series: string[];
  agents: string[];
  alerts: { host: string; rule: string; state: string; by?: string }[];
  sessions: string[];
  /** central_config_state's agent ids, and removed_agents' names. */
  central: string[];
  removed: string[];
}

interface Side {
  registry: AgentRegistry;
  store: AlertStore;
  hostRulesElsewhere: boolean;
  /** Rows another collector wrote (PostgreSQL): a session per agent id. */
  session(agentId: string): Promise<void>;
  /** What an agent applied of the central config (central_config_state), as its collector records it. */
  applied(agentId: string): Promise<void>;
  rows(): Promise<Rows>;
}

function alertRow(host: string, rule: string, state: Alert['state']): Omit<Alert, 'id'> {
  const labels = { rule, agency: 'so-tttt', host };
  return {
    fingerprint: JSON.stringify(labels),
    rule,
    labels,
    severity: 'high',
    state,
    value: 97,
    summary: 'cpu 97',
    activeAt: T0 - 30 * MIN,
    firedAt: state === 'firing' ? T0 - 25 * MIN : null,
    resolvedAt: null,
    lastSampleAt: T0 - 20 * MIN,
    clearSince: null,
    details: {},
  };
}

function summarize(
  series: { labels: string }[],
  agents: { host: string }[],
  alerts: { labels: string; rule: string; state: string; details: string }[],
): Omit<Rows, 'sessions' | 'central' | 'removed'> {
  return {
    series: series.map((s) => `${(JSON.parse(s.labels) as Record<string, string>).host}/${(JSON.parse(s.labels) as Record<string, string>).rule}`).sort(),
    agents: agents.map((a) => a.host).sort(),
    alerts: alerts
      .map((a) => ({
        host: (JSON.parse(a.labels) as Record<string, string>).host!,
        rule: a.rule,
        state: a.state,
        ...((JSON.parse(a.details) as Record<string, string>).resolved_by ? { by: (JSON.parse(a.details) as Record<string, string>).resolved_by } : {}),
      }))
      .sort((x, y) => (x.host + x.rule < y.host + y.rule ? -1 : 1)),
  };
}

async function sqliteSide(): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), 'canh-revoke-'));
  dirs.push(dir);
  const file = join(dir, 'collector.db');
  const registry = new SqliteRegistry(file);
  const store = new SqliteAlertStore(file);
  const central = new CentralConfigStore(registry.db);
  return {
    registry,
    store,
    hostRulesElsewhere: false,
    session: async () => {},
    applied: async (agentId) => central.recordResult(agentId, 1, []),
    rows: async () => {
      const q = <T>(sql: string) => registry.db.prepare(sql).all() as T[];
      return {
        ...summarize(q('SELECT labels FROM alert_series'), q('SELECT host FROM alert_agents'), q('SELECT * FROM alerts')),
        sessions: [],
        central: q<{ agent_id: string }>('SELECT agent_id FROM central_config_state ORDER BY agent_id').map((r) => r.agent_id),
        removed: q<{ name: string }>('SELECT name FROM removed_agents ORDER BY name').map((r) => r.name),
      };
    },
  };
}

async function pgSide(): Promise<Side> {
  const url = await pgServer.createDatabase(`revoke_${process.pid}_${states.length}`);
  const state = await PgState.open({ url, password: pgServer.password, log, leaderPollMs: 100, campaign: true });
  states.push(state);
  state.start();
  await until(() => state.isLeader, 'leadership');
  const registry = await PgRegistry.open(state);
  const store = await PgAlertStore.load(state);
  const db = url.split('/').pop()!;
  const q = <T extends object>(sql: string) => pgServer.query<T & Record<string, unknown>>(sql, [], db) as Promise<T[]>;
  return {
    registry,
    store,
    hostRulesElsewhere: true,
    session: async (agentId) => {
      await state.flush();
      await pgServer.query(`INSERT INTO canh_agent_sessions (agent_id, collector, session, started_at) VALUES ($1, 'b', 's', 1)`, [agentId], db);
    },
    applied: async (agentId) => {
      await pgServer.query(`INSERT INTO central_config_state (agent_id, version, errors, at) VALUES ($1, 1, '[]', 1)`, [agentId], db);
    },
    rows: async () => {
      await state.flush();
      const [series, agents, alerts] = await Promise.all([
        q<{ labels: string }>('SELECT labels FROM alert_series'),
        q<{ host: string }>('SELECT host FROM alert_agents'),
        q<{ labels: string; rule: string; state: string; details: string }>('SELECT * FROM alerts'),
      ]);
      const sessions = await q<{ agent_id: string }>('SELECT agent_id FROM canh_agent_sessions ORDER BY agent_id');
      const central = await q<{ agent_id: string }>('SELECT agent_id FROM central_config_state ORDER BY agent_id');
      const removed = await q<{ name: string }>('SELECT name FROM removed_agents ORDER BY name');
      return {
        ...summarize(series, agents, alerts),
        sessions: sessions.map((s) => s.agent_id),
        central: central.map((r) => r.agent_id),
        removed: removed.map((r) => r.name),
      };
    },
  };
}

const rules = [
  { name: 'cpu_high', type: 'threshold', measurement: 'cpu', field: 'usage', op: '>', value: 90, group_by: ['host'], severity: 'high' },
  {
    name: 'disk_full',
    type: 'threshold',
    measurement: 'disk',
    field: 'used_percent',
    op: '>',
    value: 95,
    for: '10m',
    group_by: ['host', 'path'],
    severity: 'high',
  },
  { name: 'feed_silent', type: 'absence', measurement: 'feed', for: '5m', group_by: ['host'], severity: 'medium' },
  // A collector's own disk: labelled with the collector's host, which an agent may be named like.
  {
    name: 'own_disk',
    type: 'threshold',
    measurement: 'influxdb_disk',
    field: 'used_percent',
    op: '>',
    value: 90,
    for: '5m',
    group_by: ['host'],
    severity: 'high',
  },
];
const hueFeed = { rule: 'feed_silent', agency: hue.agency, host: hue.host };
const feed = (t: number) => ({ name: 'feed', time: t, tags: {}, fields: { n: 1 } });

for (const [name, open] of [
  ['sqlite', sqliteSide],
  ['postgres', pgSide],
] as const) {
  describe(`revocation from the registry over ${name}`, () => {
    it('a revoked host the engine never heard of: its alerts resolve, its rows go, MAX_FORGET_PER_PASS a pass, again after a restart without harm', async () => {
      const side = await open();
      const { registry, store } = side;
      const a = registry.add({ name: hanoi.host, agency: hanoi.agency, site: hanoi.site }).agent;
      const b = registry.add({ name: hue.host, agency: hue.agency, site: hue.site }).agent;
      const more = Array.from({ length: MAX_FORGET_PER_PASS + 2 }, (_, i) => registry.add({ name: `old-${i}`, agency: 'so-tttt', site: 'dc' }).agent.name);
      // Left by an earlier run, or by the collector the agent was on: rows of a rule no longer
      // loaded, an open alert, a pending episode of another collector's host rules, sessions.
      store.saveSeries([
        { key: 'a-old', labels: { rule: 'old_rule', agency: hanoi.agency, host: hanoi.host }, lastSeen: T0 - 40 * MIN },
        { key: fingerprint(hueFeed), labels: hueFeed, lastSeen: T0 - MIN },
        ...more.map((h) => ({ key: `s-${h}`, labels: { rule: 'old_rule', agency: 'so-tttt', host: h }, lastSeen: T0 - 40 * MIN })),
      ]);
      store.saveAgent({ host: hue.host, agency: hue.agency, site: hue.site, online: true, since: T0 - 60 * MIN });
      store.insertAlert(alertRow(hanoi.host, 'cpu_high', 'firing'));
      store.insertAlert(alertRow(hue.host, 'cpu_high', 'firing'));
      if (side.hostRulesElsewhere) store.insertAlert(alertRow(hanoi.host, 'disk_full', 'pending'));
      await side.session(a.id);
      await side.session(b.id);
      await side.session('an-agent-removed-since');
      // Revoked while this collector was down: the engine that starts never hears of them.
      for (const h of [hanoi.host, ...more]) registry.revoke(h);
      const isRevoked = (host: string) => registry.get(host)?.revokedAt !== null;
      const h = harness(
        { rules, recipients: [] },
        { store, isRevoked, revokedHosts: () => registry.revokedNames(), hostRulesElsewhere: side.hostRulesElsewhere, start: T0 },
      );
      try {
        await h.advance(10_000, (t) => h.engine.onBatch(hue, batch([feed(t)])));
        await store.sync?.();
        const first = await side.rows();
        // One pass: MAX_FORGET_PER_PASS hosts; three wait for the next.
        const revokedLeft = (r: Rows) => [...new Set(r.series.map((s) => s.split('/')[0]!).filter((x) => x === hanoi.host || x.startsWith('old-')))];
        expect(revokedLeft(first)).toHaveLength(3);
        await h.advance(MIN, (t) => h.engine.onBatch(hue, batch([feed(t)])));
        // Inputs of the revoked host bring nothing back.
        h.engine.onAgentState(hanoi, true, h.now());
        h.engine.onBatch(hanoi, batch([feed(h.now()), { name: 'cpu', time: h.now(), tags: {}, fields: { usage: 99 } }]));
        await h.restart();
        await h.advance(2 * MIN, (t) => h.engine.onBatch(hue, batch([feed(t)])));
        await h.engine.stop();
        await store.sync?.();
        const after = await side.rows();
        expect(after.series).toEqual([`${hue.host}/feed_silent`]);
        expect(after.agents).toEqual([hue.host]);
        // hanoi's resolution is kept until mailed (no recipients: the dispatcher may forget it).
        expect(after.alerts.filter((x) => x.host === hanoi.host && x.state !== 'resolved')).toEqual([]);
        expect(after.alerts.filter((x) => x.host === hue.host && x.rule === 'cpu_high')).toEqual([{ host: hue.host, rule: 'cpu_high', state: 'firing' }]);
        const resolved = h.lines.filter((l) => l.startsWith('alert,') && l.includes(`host=${hanoi.host}`));
        expect(resolved).toHaveLength(1);
        expect(resolved[0]).toContain('state="resolved"');
        if (side.hostRulesElsewhere) expect(after.sessions).toEqual([b.id]);
      } finally {
        await h.stop();
        store.close();
      }
    }, 60_000);

    it('an agent removed before its clean-up: central config state and session go at once, its alerts resolve and its rows go at the next pass, a collector of its name keeps its own-disk episode', async () => {
      const side = await open();
      const { registry, store } = side;
      const x = registry.add({ name: hanoi.host, agency: hanoi.agency, site: hanoi.site }).agent;
      const y = registry.add({ name: hue.host, agency: hue.agency, site: hue.site }).agent;
      for (const id of [x.id, y.id]) {
        await side.applied(id);
        await side.session(id);
      }
      // No liveness row: the engine that starts has never heard of the host.
      store.saveSeries([{ key: 'x-old', labels: { rule: 'old_rule', agency: hanoi.agency, host: hanoi.host }, lastSeen: T0 - 40 * MIN }]);
      store.insertAlert(alertRow(hanoi.host, 'cpu_high', 'firing'));
      if (side.hostRulesElsewhere) {
        store.insertAlert(alertRow(hanoi.host, 'disk_full', 'pending'));
        store.insertAlert(alertRow(hanoi.host, 'own_disk', 'pending'));
      }
      registry.revoke(hanoi.host);
      expect(registry.remove(x.id)).toBe(true);
      expect(registry.remove(x.id)).toBe(false);
      expect(registry.removedAt(hanoi.host)).toBeTypeOf('number');
      const before = await side.rows();
      expect(before.central).toEqual([y.id]);
      if (side.hostRulesElsewhere) expect(before.sessions).toEqual([y.id]);
      expect(before.removed).toEqual([hanoi.host]);
      const h = harness(
        { rules, recipients: [] },
        {
          store,
          isRevoked: (host) => registry.get(host)?.revokedAt !== null,
          revokedHosts: () => registry.revokedNames(),
          hostsCleaned: (hosts) => registry.forgetRemoved(hosts),
          hostRulesElsewhere: side.hostRulesElsewhere,
          start: T0,
        },
      );
      try {
        await h.advance(MIN + 10_000, (t) => h.engine.onBatch(hue, batch([feed(t)])));
        await h.engine.stop();
        await store.sync?.();
        const after = await side.rows();
        expect(after.series.filter((k) => k.startsWith(`${hanoi.host}/`))).toEqual([]);
        expect(after.alerts.filter((a) => a.host === hanoi.host && a.state !== 'resolved')).toEqual(
          side.hostRulesElsewhere ? [{ host: hanoi.host, rule: 'own_disk', state: 'pending' }] : [],
        );
        const resolved = h.lines.filter((l) => l.startsWith('alert,') && l.includes(`host=${hanoi.host}`) && l.includes('rule=cpu_high'));
        expect(resolved).toHaveLength(1);
        expect(resolved[0]).toContain('state="resolved"');
        // Cleaned: the name is forgotten, a new agent of that name is judged afresh.
        expect(after.removed).toEqual([]);
        expect(registry.removedAt(hanoi.host)).toBeUndefined();
        expect(registry.revokedNames()).toEqual([]);
        expect(after.central).toEqual([y.id]);
      } finally {
        await h.stop();
        store.close();
      }
    }, 60_000);

    it('a new agent given a removed name is judged afresh: the name no longer waits for clean-up', async () => {
      const side = await open();
      const { registry } = side;
      const x = registry.add({ name: 'reused-01', agency: 'so-tttt', site: 'dc' }).agent;
      registry.revoke(x.name);
      registry.remove(x.id);
      expect(registry.revokedNames()).toEqual(['reused-01']);
      registry.add({ name: 'reused-01', agency: 'so-tttt', site: 'dc' });
      expect(registry.removedAt('reused-01')).toBeUndefined();
      expect(registry.revokedNames()).toEqual([]);
      expect((await side.rows()).removed).toEqual([]);
      side.store.close();
    }, 60_000);
  });
}

// Host rules where the host's agent is connected (issue 27), all real: a private PostgreSQL,
// InfluxDB, an SMTP server and three `canh-collector serve` processes. Two agents (scripted
// protocol clients, so the test chooses their values) start on a follower:
//   - hx's threshold fires there and is mailed once by the leader;
//   - hy's threshold, with a long `for`, is still pending when that follower is killed;
//   - hw's threshold goes pending only just before the kill: its pending episode is in
//     PostgreSQL from its second sample on (not after 30 s), so its `for` carries on too;
//   - both move to the third collector, then the leader is killed as well;
//   - hy fires on the third collector from the `for` it began on the first (same episode,
//     same start), hx stays the one episode it was (no second mail, no gap), and resolves
//     there with one resolution mail;
//   - a third agent dies with the follower: the leader marks it offline (agent_offline) from
//     that collector's last heartbeat, and only it (the others moved);
//   - the input log carried a few rows per transition and agent state, none per batch.
// Before that, each collector's own data disk fires on that collector (not only the
// leader's). After it, with the dead collectors back: a host's event rule judged on its
// agent's collector mails each new event once across a kill of that collector and of the
// leader; a windowed rule (avg over 45 s) begun on the killed collector fires 45 s after it
// began (its samples read back from InfluxDB); a host's input that fell silent just before
// the kill fires once on the next collector — none of it through the input log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { SecurityEvent } from '@canh/protocol';
import { PgState } from '../collector/src/state/postgres.ts';
import { PgRegistry } from '../collector/src/state/pg-registry.ts';
import { startPostgres, type Postgres } from './helpers/postgres.ts';
import { startInfluxd, seriesRows, type Influxd } from './helpers/influxd.ts';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from './helpers/smtp.ts';
import { freePorts } from './helpers/ports.ts';
import { clusterNodeYaml, serveCollector, until } from './helpers/cluster.ts';
import { ScriptedAgent } from './helpers/scripted-agent.ts';
import type { ManagedProcess } from './helpers/process.ts';

const log = pino({ level: 'silent' });

interface Node {
  id: string;
  port: number;
  proc: ManagedProcess;
}

let dir: string;
let pg: Postgres;
let influx: Influxd;
let smtp: TestSmtpServer;
let pgUrl: string;
let registryState: PgState;
let registry: PgRegistry;
const nodes = new Map<string, Node>();
const killed = new Set<string>();

function figure(name: string, value: string | number): void {
  console.log(`[ha-host-rules] ${name}: ${value}`);
}

function collectorYaml(id: string, port: number): string {
  return `${clusterNodeYaml({ id, port, stateDir: join(dir, id), influxUrl: influx.url, pgUrl, passwordFile: pg.passwordFile, ownDisk: true })}alerting:
  evaluation_interval: 200
  rules:
    - { name: hot_host, type: threshold, measurement: sensor, field: temp, op: ">", value: 50, for: 2s, group_by: [host], severity: high, title: Host hot }
    - { name: hot_slow, type: threshold, measurement: sensor, field: slow, op: ">", value: 50, for: 40s, group_by: [host], severity: high, title: Host slowly hot }
    # The collector's own data disk (each its own folder here): over 0 %, so it fires on each.
    - { name: intrusion, type: event, event_types: [test_intrusion], group_by: [host], severity: high, resolve_after: 10m, title: Intrusion seen }
    - { name: busy_avg, type: threshold, measurement: sensor, field: load, function: avg, window: 45s, op: ">", value: 50, group_by: [host], severity: medium, title: Host busy on average }
    - { name: feed_silent, type: absence, measurement: feed, for: 10s, group_by: [host], severity: medium, title: Feed silent }
    - { name: own_disk, type: threshold, measurement: influxdb_disk, field: used_percent, op: ">", value: 0, group_by: [host, path], severity: medium, title: Own disk used }
  recipients:
    - { email: noc@tinh.gov.vn, language: en, rules: [hot_host, hot_slow, own_disk, intrusion, busy_avg, feed_silent] }
  smtp: { host: ${smtp.host}, port: ${smtp.port}, security: none, from: "Canh <canh@tinh.gov.vn>" }
  grouping: { group_wait: 1s, group_interval: 2s, repeat_interval: 1h }
`;
}

async function startNode(id: string, port: number): Promise<Node> {
  const configFile = join(dir, `${id}.yaml`);
  mkdirSync(join(dir, id), { recursive: true });
  writeFileSync(configFile, collectorYaml(id, port));
  const proc = await serveCollector(id, port, configFile);
  const n = { id, port, proc };
  nodes.set(id, n);
  return n;
}

interface Health {
  cluster: { is_leader: boolean; host_rules?: { hosts: number; loads: number; transitions: number; open: number; news: number; seededSamples: number } };
}

async function health(n: Node): Promise<Health> {
  const r = await fetch(`http://127.0.0.1:${n.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
  return (await r.json()) as Health;
}

interface AlertRowView {
  id: number;
  state: string;
  active_at: number;
  fired_at: number | null;
}

async function alertRows(rule: string, host: string): Promise<AlertRowView[]> {
  return pg.query<AlertRowView>(
    `SELECT id, state, active_at, fired_at FROM alerts WHERE rule = $1 AND (labels::jsonb ->> 'host') = $2 ORDER BY id`,
    [rule, host],
    'canh_hr',
  );
}

async function leaderNode(): Promise<Node> {
  return until(async () => {
    for (const n of nodes.values()) if (n.proc.running && (await health(n)).cluster.is_leader) return n;
    return undefined;
  }, 'a leader');
}

const mailsAbout = (host: string, title: string, status: RegExp): ReceivedMail[] =>
  smtp.mails.filter((m) => status.test(m.parsed.subject ?? '') && (m.parsed.subject ?? '').includes(title) && (m.parsed.subject ?? '').includes(host));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canh-ha-hr-'));
  [pg, influx, smtp] = await Promise.all([startPostgres(), startInfluxd(), startSmtpServer()]);
  pgUrl = await pg.createDatabase('canh_hr');
  registryState = await PgState.open({ url: pgUrl, password: pg.password, log, campaign: false });
  registry = await PgRegistry.open(registryState);
  const ports = await freePorts(3);
  // One at a time: the first takes the leader lock.
  for (const [i, id] of ['c1', 'c2', 'c3'].entries()) await startNode(id, ports[i]!);
}, 180_000);

afterAll(async () => {
  for (const n of nodes.values()) if (!n.proc.running && !killed.has(n.id)) console.log(`[ha-host-rules] ${n.id} exited:\n${n.proc.describe()}`);
  for (const n of nodes.values()) await n.proc.stop().catch(() => {});
  await registryState?.stop();
  await Promise.all([pg?.stop(), influx?.stop(), smtp?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('host rules on the collector of the host’s agent', () => {
  it('each collector judges its own data disk, not only the leader, and the leader mails each once', async () => {
    const leader = await leaderNode();
    const paths = ['c1', 'c2', 'c3'].map((id) => join(dir, id));
    const rows = await until(
      async () => {
        const r = await pg.query<{ id: number; path: string; state: string }>(
          `SELECT id, labels::jsonb ->> 'path' AS path, state FROM alerts WHERE rule = 'own_disk' ORDER BY id`,
          [],
          'canh_hr',
        );
        return r.filter((x) => x.state === 'firing').length === 3 ? r : undefined;
      },
      'the own disk of each of the three collectors firing',
      90_000,
    );
    // One episode per collector, each about its own folder: the two followers' too.
    expect(rows.map((r) => r.path).sort()).toEqual([...paths].sort());
    expect(rows.every((r) => r.state === 'firing')).toBe(true);
    // The leader mails them (one group: agency and rule), each folder in a FIRING mail.
    const about = (p: string) => smtp.mails.filter((m) => /FIRING/.test(m.parsed.subject ?? '') && (m.parsed.text ?? '').includes(p));
    await until(() => (paths.every((p) => about(p).length > 0) ? true : undefined), 'a mail about each collector’s disk', 60_000);
    figure(
      'own disk judged on',
      `${rows.length} collectors (leader ${leader.id}), ${smtp.mails.filter((m) => (m.parsed.subject ?? '').includes('Own disk')).length} mails`,
    );
  }, 180_000);

  it('fire once on a follower, survive the agent’s move and the leader’s death, and keep batches out of the input log', async () => {
    const leader = await leaderNode();
    const [first, second] = [...nodes.values()].filter((n) => n !== leader) as [Node, Node];
    const add = async (name: string, values: Record<string, number>, agency = 'so-tttt') => {
      const { token } = registry.add({ name, agency, site: 'dc' });
      await registryState.flush();
      return new ScriptedAgent(name, token, values);
    };
    const hx = await add('hx', { temp: 80, slow: 10 });
    const hy = await add('hy', { temp: 10, slow: 80 });
    // Crosses only shortly before its collector is killed.
    // Another agency: its mail is its own group, not joined to hy's.
    const hw = await add('hw', { temp: 10, slow: 10 }, 'so-yte');
    // An agent that dies with its collector: nobody says it went offline but the leader.
    const hz = await add('hz', { temp: 10, slow: 10 });
    const logRows = async () =>
      (await pg.query<{ kind: string; n: number }>(`SELECT kind, count(*)::int AS n FROM canh_alert_inputs GROUP BY kind`, [], 'canh_hr')).reduce(
        (m, r) => m.set(r.kind, r.n),
        new Map<string, number>(),
      );
    const before = await logRows();
    const t0 = Date.now();
    await hx.connect(first);
    await hy.connect(first);
    await hz.connect(first);
    await hw.connect(first);

    // hx fires on the follower; the leader mails it.
    const fired = await smtp.waitForMail((m) => /FIRING/.test(m.parsed.subject ?? '') && (m.parsed.subject ?? '').includes('Host hot —'), 90_000);
    figure('firing mail of a host rule judged on a follower', `${fired.receivedAt.getTime() - t0} ms after the agent connected`);
    const hxRows = await until(async () => {
      const r = await alertRows('hot_host', 'hx');
      return r.length === 1 && r[0]!.state === 'firing' ? r : undefined;
    }, 'hx firing in PostgreSQL');
    // hy's `for` (40 s) is under way on the first collector.
    const pending = await until(async () => {
      const r = await alertRows('hot_slow', 'hy');
      return r.length === 1 && r[0]!.state === 'pending' ? r[0] : undefined;
    }, 'hy pending in PostgreSQL');
    expect((await health(first)).cluster.host_rules?.hosts).toBe(4);
    // hw crosses now; its pending episode is written once a second sample confirms it
    // (300 ms here, one interval of a real agent), well before the 30 s a pending once
    // waited for its first write: a kill right after loses none of its `for`.
    hw.values = { temp: 10, slow: 80 };
    const tHot = Date.now();
    const hwPending = await until(
      async () => {
        const r = await alertRows('hot_slow', 'hw');
        return r.length === 1 && r[0]!.state === 'pending' ? r[0] : undefined;
      },
      'hw pending in PostgreSQL long before 30 s',
      20_000,
    );
    figure('pending alert in PostgreSQL', `${Date.now() - tHot} ms after the host's value crossed`);

    // The first collector dies; both agents move to the third.
    killed.add(first.id);
    await first.proc.kill9();
    hz.close();
    const tMove = Date.now();
    await hx.connect(second);
    await hy.connect(second);
    await hw.connect(second);
    await until(async () => (((await health(second)).cluster.host_rules?.loads ?? 0) >= 3 ? true : undefined), 'the third collector to load the three hosts');
    figure('hosts loaded on the collector they moved to', `${Date.now() - tMove} ms after the kill`);
    // Then the leader dies too: the third collector leads.
    killed.add(leader.id);
    await leader.proc.kill9();
    const tKill = Date.now();
    expect((await leaderNode()).id).toBe(second.id);
    figure('new leader', `${second.id} after ${Date.now() - tKill} ms`);

    // hy fires on the third collector, as the episode that began on the first.
    await smtp.waitForMail(
      (m) => /FIRING/.test(m.parsed.subject ?? '') && (m.parsed.subject ?? '').includes('Host slowly hot') && (m.parsed.subject ?? '').includes('hy'),
      120_000,
    );
    const hyRows = await alertRows('hot_slow', 'hy');
    expect(hyRows.map((r) => [r.id, r.state, r.active_at])).toEqual([[pending.id, 'firing', pending.active_at]]);
    figure('pending `for` carried across the move', `fired ${hyRows[0]!.fired_at! - pending.active_at} ms after it began (for: 40 s)`);
    // So does hw's, though it was pending for only a moment when its collector died.
    await smtp.waitForMail(
      (m) => /FIRING/.test(m.parsed.subject ?? '') && (m.parsed.subject ?? '').includes('Host slowly hot') && (m.parsed.subject ?? '').includes('hw'),
      120_000,
    );
    const hwRows = await alertRows('hot_slow', 'hw');
    expect(hwRows.map((r) => [r.id, r.state, r.active_at])).toEqual([[hwPending.id, 'firing', hwPending.active_at]]);
    expect(Number(hwPending.active_at)).toBeLessThan(tMove);
    figure(
      'a `for` begun just before the kill',
      `pending ${tMove - hwPending.active_at} ms when its collector died; fired ${hwRows[0]!.fired_at! - hwPending.active_at} ms after it began (for: 40 s)`,
    );

    // hx resolves there: one resolution mail, and it was the one episode throughout.
    hx.values = { temp: 20, slow: 10 };
    await smtp.waitForMail((m) => /RESOLVED/.test(m.parsed.subject ?? '') && (m.parsed.subject ?? '').includes('Host hot —'), 60_000);
    await new Promise((r) => setTimeout(r, 5_000));
    expect(mailsAbout('hx', 'Host hot —', /FIRING/).length).toBe(1);
    expect(mailsAbout('hx', 'Host hot —', /RESOLVED/).length).toBe(1);
    expect(mailsAbout('hy', 'Host slowly hot', /FIRING/).length).toBe(1);
    expect(mailsAbout('hw', 'Host slowly hot', /FIRING/).length).toBe(1);
    // The `alert` points (Grafana's annotations): written by the collectors that judged hx.
    const states = await until(async () => {
      const rows = seriesRows(await influx.query(`SELECT "state" FROM alert WHERE "rule" = 'hot_host' AND "host" = 'hx'`, 'canh'));
      return rows.length >= 2 ? rows.map((p) => p.state) : undefined;
    }, 'hx’s alert points in InfluxDB');
    expect(states).toEqual(['firing', 'resolved']);
    const hxAfter = await alertRows('hot_host', 'hx');
    expect(hxAfter.every((r) => r.id === hxRows[0]!.id)).toBe(true);

    // hz went with its collector: the leader (the third collector by now, which kept the
    // others' liveness as stored) marks it offline; hx and hy, which moved, are not.
    const offline = await until(async () => {
      const r = await pg.query<{ host: string; active_at: number }>(
        `SELECT labels::jsonb ->> 'host' AS host, active_at FROM alerts WHERE rule = 'agent_offline' AND state IN ('pending', 'firing')`,
        [],
        'canh_hr',
      );
      return r.length ? r : undefined;
    }, 'agent_offline for hz');
    expect(offline.map((r) => r.host)).toEqual(['hz']);
    figure('agent gone with its collector, offline from', `${tMove - offline[0]!.active_at} ms before the kill (its collector's last heartbeat)`);

    // The input log: agent states and transitions, no batch (these carry no events).
    hx.close();
    hy.close();
    hw.close();
    const after = await logRows();
    const grew = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    const batches = hx.batches + hy.batches + hz.batches + hw.batches;
    figure('input log rows while the agents sent ' + batches + ' batches', [...after.keys()].map((k) => `${k} +${grew(k)}`).join(', '));
    expect(batches).toBeGreaterThan(100);
    expect(grew('batch')).toBe(0);
    expect(grew('alert')).toBeGreaterThanOrEqual(3);
    expect(grew('agent')).toBeLessThanOrEqual(11);
  }, 300_000);
  it('judge a host’s event rule on its agent’s collector: each new event mailed once across a kill of that collector and of the leader', async () => {
    // The collectors killed above come back (as followers).
    for (const id of killed) await startNode(id, nodes.get(id)!.port);
    killed.clear();
    const leader = await leaderNode();
    const [first, second] = [...nodes.values()].filter((n) => n !== leader) as [Node, Node];
    const { token } = registry.add({ name: 'he', agency: 'so-tttt', site: 'dc' });
    await registryState.flush();
    const he = new ScriptedAgent('he', token, { temp: 10, slow: 10 });
    const batchRows = async () => (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM canh_alert_inputs WHERE kind = 'batch'`, [], 'canh_hr'))[0]!.n;
    const batchesBefore = await batchRows();
    const intrusion = (src: string): SecurityEvent => ({
      time: Date.now(),
      detector: 'test',
      type: 'test_intrusion',
      severity: 'high',
      message: `intrusion from ${src}`,
      evidence: { src_ip: src },
      count: 1,
    });
    const mails = () => smtp.mails.filter((m) => /FIRING/.test(m.parsed.subject ?? '') && (m.parsed.subject ?? '').includes('Intrusion seen'));
    /** One more mail, and it tells of `src`. */
    const next = async (src: string, n: number) => {
      he.events.push(intrusion(src));
      const m = await until(() => (mails().length >= n ? mails()[n - 1] : undefined), `mail ${n} (${src})`, 90_000);
      expect(m.parsed.text).toContain(src);
    };
    // hv is busy from the start; its rule averages over 45 s, so it cannot fire on `first`
    // before that collector dies. The next one reads hv's samples back from InfluxDB.
    const hvToken = registry.add({ name: 'hv', agency: 'so-yte', site: 'dc' }).token;
    await registryState.flush();
    const hv = new ScriptedAgent('hv', hvToken, { temp: 10, slow: 10, load: 80 });
    await hv.connect(first);
    const tBusy = Date.now();
    // hs feeds an input that falls silent just before its collector dies.
    const hsToken = registry.add({ name: 'hs', agency: 'so-yte', site: 'dc' }).token;
    await registryState.flush();
    const hs = new ScriptedAgent('hs', hsToken, { temp: 10 });
    hs.feed = true;
    await hs.connect(first);
    const hsBatches = hs.batches;
    await he.connect(first);
    await until(async () => (((await health(first)).cluster.host_rules?.loads ?? 0) >= 1 ? true : undefined), 'he loaded on its collector');
    await next('203.0.113.1', 1);
    await next('203.0.113.2', 2);
    // Judged on the follower the agent is on, not on the leader: the news came from there.
    expect((await health(first)).cluster.host_rules?.news).toBeGreaterThanOrEqual(1);

    // The agent's collector dies: the agent goes on from the other follower.
    // hs's feed was seen on `first` (and recorded as a series hs has); now it stops.
    await until(
      async () =>
        (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM alert_series WHERE (labels::jsonb ->> 'host') = 'hs'`, [], 'canh_hr'))[0]!.n === 1
          ? true
          : undefined,
      'hs’s feed series recorded',
    );
    expect(hs.batches).toBeGreaterThan(hsBatches);
    hs.feed = false;
    killed.add(first.id);
    const tMove = Date.now();
    await first.proc.kill9();
    await he.connect(second);
    await hv.connect(second);
    await hs.connect(second);
    await next('203.0.113.3', 3);
    // And the leader dies: the follower the agent is on leads now, and judges on.
    killed.add(leader.id);
    await leader.proc.kill9();
    expect((await leaderNode()).id).toBe(second.id);
    await next('203.0.113.4', 4);

    // hv's average fires from the samples `first` stored: 45 s after hv began, not 45 s
    // after it reached `second` (which it would without the samples read back).
    const busy = await until(
      async () => {
        const r = await alertRows('busy_avg', 'hv');
        return r.length && r[0]!.state === 'firing' ? r : undefined;
      },
      'hv’s average firing',
      120_000,
    );
    expect(busy).toHaveLength(1);
    const busyAt = Number(busy[0]!.active_at);
    expect(busyAt).toBeGreaterThanOrEqual(tBusy + 45_000 - 1_000);
    expect(busyAt).toBeLessThan(tMove + 45_000);
    expect((await health(second)).cluster.host_rules?.seededSamples).toBeGreaterThan(0);
    figure(
      'windowed rule after the move',
      `fired ${busyAt - tBusy} ms after the host got busy (window 45 s), ${busyAt - tMove} ms after its collector was killed`,
    );
    // hs's feed stayed silent on `second`: judged there from its arrival (a fresh `for`, as a
    // reconnect to one collector gives), once.
    const silent = await until(
      async () => {
        const r = await alertRows('feed_silent', 'hs');
        return r.length && r[0]!.state === 'firing' ? r : undefined;
      },
      'hs’s feed silent',
      90_000,
    );
    expect(silent).toHaveLength(1);
    expect(Number(silent[0]!.active_at)).toBeGreaterThanOrEqual(tMove);
    const [from, fired] = [Number(silent[0]!.active_at), Number(silent[0]!.fired_at)];
    figure('silent input after the move', `silent from the agent's arrival ${from - tMove} ms after the kill, fired ${fired - from} ms later (for: 10 s)`);
    await new Promise((r) => setTimeout(r, 5_000));
    expect(mails().length).toBe(4);
    expect(smtp.mails.filter((m) => /FIRING/.test(m.parsed.subject ?? '') && (m.parsed.subject ?? '').includes('Feed silent')).length).toBe(1);
    expect(smtp.mails.filter((m) => /FIRING/.test(m.parsed.subject ?? '') && (m.parsed.subject ?? '').includes('Host busy on average')).length).toBe(1);
    const rows = await pg.query<{ id: number; state: string; events_told: string }>(
      `SELECT id, state, events_told FROM alerts WHERE rule = 'intrusion' AND (labels::jsonb ->> 'host') = 'he'`,
      [],
      'canh_hr',
    );
    expect(rows.map((r) => r.state)).toEqual(['firing']);
    expect((JSON.parse(rows[0]!.events_told) as string[]).length).toBe(4);
    // No leader rule takes these events: they never went through the input log.
    expect(await batchRows()).toBe(batchesBefore);
    figure('intrusion episode', `4 events, 4 mails, judged on the agent's collector across two kills; ${he.batches} batches, input log batch rows +0`);
    he.close();
    hv.close();
    hs.close();
  }, 300_000);
});

// What a host's rules keep when its agent moves to another collector, and what a collector
// leaves behind when it dies (issue 27), all real: a private PostgreSQL, InfluxDB, an SMTP
// server and two `canh-collector serve` processes. One agent (a scripted protocol client, so
// the test chooses its values and events) starts on the follower, which is then killed -9;
// the agent goes on from the leader, which reads the host's history back from InfluxDB:
//   - a `min_count: 5` event rule with 3 events seen before the kill fires once after 2 more
//     (one of the 3 sent again as a spool replay would send it counts once);
//   - a threshold that flapped (4 transitions) before the kill is still flapping after it:
//     when it clears, the flap hold keeps it firing;
//   - an event repeated until just before the kill resolves `resolve_after` after its last
//     repetition, not after the first (the row's last-seen time lags up to a minute);
//   - the dead follower's own-disk alert is resolved by the leader once its heartbeat has
//     expired: one resolution mail, saying it is no longer watched;
//   - the agent revoked: its `alert_series` rows (recorded by host rules, which the leader
//     never held) and its session row go.
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
const DB = 'canh_hs';

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
const nodes: Node[] = [];

function figure(name: string, value: string | number): void {
  console.log(`[ha-host-state] ${name}: ${value}`);
}

function collectorYaml(id: string, port: number): string {
  return `${clusterNodeYaml({ id, port, stateDir: join(dir, id), influxUrl: influx.url, pgUrl, passwordFile: pg.passwordFile, ownDisk: true })}alerting:
  evaluation_interval: 200
  flap: { transitions: 4, window: 10m, hold: 10m }
  rules:
    - { name: brute, type: event, event_types: [test_login_fail], min_count: 5, within: 10m, group_by: [host], severity: high, resolve_after: 10m, title: Brute force }
    - { name: repeat_ev, type: event, event_types: [test_repeat], group_by: [host], severity: medium, resolve_after: 20s, title: Repeated event }
    - { name: marker_ev, type: event, event_types: [test_marker], group_by: [host], severity: low, resolve_after: 10m, title: Marker event }
    - { name: flappy, type: threshold, measurement: sensor, field: flap, op: ">", value: 50, group_by: [host], severity: medium, title: Flappy value }
    - { name: marker, type: threshold, measurement: sensor, field: mark, op: ">", value: 50, group_by: [host], severity: low, title: Marker value }
    - { name: feed_silent, type: absence, measurement: feed, for: 10m, group_by: [host], severity: medium, title: Feed silent }
    - { name: own_disk, type: threshold, measurement: influxdb_disk, field: used_percent, op: ">", value: 0, group_by: [host, path], severity: medium, title: Own disk used }
  recipients:
    - { email: noc@tinh.gov.vn, language: en }
  smtp: { host: ${smtp.host}, port: ${smtp.port}, security: none, from: "Canh <canh@tinh.gov.vn>" }
  grouping: { group_wait: 1s, group_interval: 2s, repeat_interval: 1h }
`;
}

async function startNode(id: string, port: number): Promise<Node> {
  const configFile = join(dir, `${id}.yaml`);
  mkdirSync(join(dir, id), { recursive: true });
  writeFileSync(configFile, collectorYaml(id, port));
  const n = { id, port, proc: await serveCollector(id, port, configFile) };
  nodes.push(n);
  return n;
}

interface Health {
  cluster: {
    is_leader: boolean;
    host_rules?: { loads: number; seeded: number; seededEvents: number; seededFlaps: number; seedFailures: number; forgotten: number };
  };
}

async function health(n: Node): Promise<Health> {
  const r = await fetch(`http://127.0.0.1:${n.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
  return (await r.json()) as Health;
}

const event = (type: string, src: string, time = Date.now()): SecurityEvent => ({
  time,
  detector: 'test',
  type,
  severity: 'high',
  message: `${type} from ${src}`,
  evidence: { src_ip: src },
  count: 1,
});

async function rows(rule: string, host: string): Promise<{ id: number; state: string; clear_since: number | null }[]> {
  return pg.query(`SELECT id, state, clear_since FROM alerts WHERE rule = $1 AND (labels::jsonb ->> 'host') = $2 ORDER BY id`, [rule, host], DB);
}

async function alertPoints(rule: string, host: string): Promise<{ time: number; state: string }[]> {
  const r = seriesRows(await influx.query(`SELECT "state" FROM alert WHERE "rule" = '${rule}' AND "host" = '${host}'`, 'canh'));
  return r.map((p) => ({ time: p.time as number, state: p.state as string }));
}

async function storedEvents(type: string, since = 0): Promise<number> {
  const r = seriesRows(await influx.query(`SELECT count("message") FROM security_event WHERE "type" = '${type}' AND time >= ${since}ms`, 'canh'));
  return Number(r[0]?.count ?? 0);
}

const subject = (m: ReceivedMail) => m.parsed.subject ?? '';
const mails = (title: string, status: RegExp) => smtp.mails.filter((m) => status.test(subject(m)) && subject(m).includes(title));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canh-ha-hs-'));
  [pg, influx, smtp] = await Promise.all([startPostgres(), startInfluxd(), startSmtpServer()]);
  pgUrl = await pg.createDatabase(DB);
  registryState = await PgState.open({ url: pgUrl, password: pg.password, log, campaign: false });
  registry = await PgRegistry.open(registryState);
  const ports = await freePorts(2);
  // One at a time: the first takes the leader lock.
  await startNode('c1', ports[0]!);
  await startNode('c2', ports[1]!);
}, 180_000);

afterAll(async () => {
  for (const n of nodes) await n.proc.stop().catch(() => {});
  await registryState?.stop();
  await Promise.all([pg?.stop(), influx?.stop(), smtp?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a host’s rule state across its agent’s move, and what a dead collector leaves', () => {
  it('min_count, flap history and last-seen carry over; the dead collector’s own disk resolves once; a revoked host leaves no rows', async () => {
    const leader = await until(async () => {
      for (const n of nodes) if ((await health(n)).cluster.is_leader) return n;
      return undefined;
    }, 'a leader');
    const follower = nodes.find((n) => n !== leader)!;
    // Both collectors judge their own disk: one episode each.
    await until(async () => {
      const r = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM alerts WHERE rule = 'own_disk' AND state = 'firing'`, [], DB);
      return r[0]!.n === 2 ? true : undefined;
    }, 'both own disks firing');
    await until(
      () => (mails('Own disk used', /FIRING/).some((m) => (m.parsed.text ?? '').includes(join(dir, follower.id))) ? true : undefined),
      'the follower’s own disk mailed',
    );

    const { agent, token } = registry.add({ name: 'hm', agency: 'so-tttt', site: 'dc' });
    await registryState.flush();
    // A sensor and a feed each batch, as this test's rules read them; no agent point.
    const hm = new ScriptedAgent('hm', token, { flap: 10, mark: 10 });
    hm.feed = true;
    hm.selfPoint = false;
    await hm.connect(follower);
    await until(async () => (((await health(follower)).cluster.host_rules?.loads ?? 0) >= 1 ? true : undefined), 'hm loaded on the follower');

    // Flapping on the follower: firing, resolved, firing, resolved (4 transitions in 10 min).
    for (const [flap, n] of [
      [80, 1],
      [10, 2],
      [80, 3],
      [10, 4],
    ] as const) {
      hm.values = { ...hm.values, flap };
      await until(async () => ((await alertPoints('flappy', 'hm')).length >= n ? true : undefined), `flappy transition ${n}`);
    }
    // Three of the five login failures brute needs, stored by the follower; no alert yet.
    const first = [event('test_login_fail', '198.51.100.1'), event('test_login_fail', '198.51.100.2'), event('test_login_fail', '198.51.100.3')];
    hm.events.push(...first);
    await until(async () => ((await storedEvents('test_login_fail')) === 3 ? true : undefined), 'three login failures stored');
    // An event repeated every 500 ms for 8 s: one episode, its row's last-seen time its first.
    const tFirst = Date.now();
    let tLast = tFirst;
    while (Date.now() - tFirst < 8_000) {
      tLast = Date.now();
      hm.events.push(event('test_repeat', '203.0.113.9', tLast));
      await new Promise((r) => setTimeout(r, 500));
    }
    // Identical contents within one second are one stored point: the last second's is enough.
    const lastSecond = tLast - (tLast % 1000);
    await until(async () => ((await storedEvents('test_repeat', lastSecond)) >= 1 ? true : undefined), 'the last repetition stored');
    expect((await rows('repeat_ev', 'hm')).map((r) => r.state)).toEqual(['firing']);
    expect(await rows('brute', 'hm')).toEqual([]);

    // The follower dies; hm goes on from the leader.
    await follower.proc.kill9();
    const tKill = Date.now();
    await hm.connect(leader);
    await until(async () => (((await health(leader)).cluster.host_rules?.seeded ?? 0) >= 1 ? true : undefined), 'hm’s history read back on the leader');
    const hr = (await health(leader)).cluster.host_rules!;
    figure('read back on the leader', `${hr.seededEvents} event occurrences, ${hr.seededFlaps} label sets' flap history, ${hr.seedFailures} failures`);

    // One of the three again (a spool replay) and a fourth: 4, not 5 — nothing fires; a marker
    // event sent after them shows they were judged (its firing is written after theirs would be).
    hm.events.push(first[2]!, event('test_login_fail', '198.51.100.4'));
    await new Promise((r) => setTimeout(r, 1_000));
    hm.events.push(event('test_marker', '192.0.2.1'));
    await until(async () => ((await rows('marker_ev', 'hm')).some((r) => r.state === 'firing') ? true : undefined), 'the marker event firing');
    expect(await rows('brute', 'hm')).toEqual([]);
    hm.events.push(event('test_login_fail', '198.51.100.5'));
    await until(() => (mails('Brute force', /FIRING/).length ? true : undefined), 'brute force mailed after the fifth failure', 60_000);
    figure('min_count 5 across the move', `3 events before the kill, 1 resent and 2 after: fired ${Date.now() - tKill} ms after the kill`);

    // The flapping value crosses again (its 5th transition) and clears with the marker rising in
    // the same sample: by the marker's firing its clear was judged, and the flap hold keeps it firing.
    hm.values = { flap: 80, mark: 10 };
    await until(async () => ((await alertPoints('flappy', 'hm')).length >= 5 ? true : undefined), 'flappy firing again');
    hm.values = { flap: 10, mark: 80 };
    await until(async () => ((await rows('marker', 'hm')).some((r) => r.state === 'firing') ? true : undefined), 'the marker value firing');
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await alertPoints('flappy', 'hm')).map((p) => p.state)).toEqual(['firing', 'resolved', 'firing', 'resolved', 'firing']);
    expect((await rows('flappy', 'hm')).at(-1)?.state).toBe('firing');
    figure('flap history across the move', '4 transitions on the dead collector; the 5th on the leader is held as flapping');

    // The repeated event resolves 20 s after its last repetition (to the stored second), not its first.
    const resolved = await until(async () => (await alertPoints('repeat_ev', 'hm')).find((p) => p.state === 'resolved'), 'the repeated event resolved', 90_000);
    expect(resolved.time).toBeGreaterThanOrEqual(tLast - 1_000 + 20_000);
    await until(() => (mails('Repeated event', /RESOLVED/).length ? true : undefined), 'its resolution mailed');
    figure(
      'repeated event after the move',
      `resolved ${resolved.time - tLast} ms after its last repetition (resolve_after 20 s; first ${tLast - tFirst} ms earlier)`,
    );

    // The dead follower's own disk: resolved by the leader once its heartbeat expired, one mail.
    const path = join(dir, follower.id);
    // Its group (agency and rule) still has the leader's own disk firing: the mail is [FIRING:1]
    // and lists the dead collector's as resolved, no longer watched.
    const goneMails = () => smtp.mails.filter((m) => (m.parsed.text ?? '').includes('no longer watched') && (m.parsed.text ?? '').includes(path));
    const gone = await until(() => goneMails()[0], 'the dead collector’s own disk resolved', 90_000);
    expect(gone.parsed.text).toContain('no longer watched');
    figure('own disk of the dead collector', `resolution mailed ${gone.receivedAt.getTime() - tKill} ms after the kill`);

    // Revoked: its series (recorded by the host rules of the collectors it was on) and its session go.
    const perHost = async () =>
      (
        await pg.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM alert_series WHERE (labels::jsonb ->> 'host') = 'hm') + (SELECT count(*) FROM canh_agent_sessions WHERE agent_id = $1) AS n`,
          [agent.id],
          DB,
        )
      )[0]!.n;
    await until(async () => (Number(await perHost()) >= 2 ? true : undefined), 'hm’s series and session recorded');
    registry.revoke('hm');
    await registryState.flush();
    const tRevoke = Date.now();
    await until(async () => (Number(await perHost()) === 0 ? true : undefined), 'hm’s series and session removed', 150_000);
    figure('revoked host', `alert_series and session rows removed ${Date.now() - tRevoke} ms after the revocation`);
    hm.close();
    // Its collector (the leader now) forgot it at once when the revoked agent's connection closed.
    await until(async () => (((await health(leader)).cluster.host_rules?.forgotten ?? 0) >= 1 ? true : undefined), 'hm forgotten on its collector');

    await new Promise((r) => setTimeout(r, 3_000));
    expect(mails('Brute force', /FIRING/).length).toBe(1);
    expect(goneMails().length).toBe(1);
    // The leader's own disk is still judged and firing.
    const own = await pg.query<{ state: string }>(
      `SELECT state FROM alerts WHERE rule = 'own_disk' AND (labels::jsonb ->> 'path') = $1`,
      [join(dir, leader.id)],
      DB,
    );
    expect(own.map((r) => r.state)).toEqual(['firing']);
  }, 420_000);
});

// Delivery under faults, with real processes: InfluxDB, the collector and three agents,
// while the test kills the collector (-9), stops InfluxDB, kills an agent (-9), cuts the
// agent–collector path, and lets a small agent spool overflow. Afterwards InfluxDB must
// hold exactly what each agent spooled (its audit file), minus what the overflowing
// spool reported as dropped — nothing else lost, nothing stored twice.
//
// CANH_FAULT_SCALE stretches every phase (npm run test:faults uses 10: minutes-long
// outages); CI runs the short version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startInfluxd, seriesRows, type Influxd } from './helpers/influxd.ts';
import { spawnManaged, type ManagedProcess } from './helpers/process.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';
import { freePort } from './helpers/ports.ts';
import { fakeClock, type FakeClock as FakeClockRef } from './helpers/faketime.ts';
import { startLyingCollector } from './helpers/lying-collector.ts';

const SCALE = Number(process.env.CANH_FAULT_SCALE ?? 1);
const root = join(import.meta.dirname, '..');
const node = process.execPath;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms * SCALE));

interface AgentProc {
  name: string;
  config: string;
  audit: string;
  proc?: ManagedProcess;
}

let dir: string;
let influx: Influxd;
let collector: ManagedProcess | undefined;
let collectorConfig: string;
let collectorPort: number;
let proxy: TcpProxy;
const agents: AgentProc[] = [];

function startCollector(): ManagedProcess {
  return spawnManaged(node, [join(root, 'collector/src/cli.ts'), 'serve', '--config', collectorConfig], { name: 'collector', env: { CANH_LOG_LEVEL: 'warn' } });
}

async function waitHealthy(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${collectorPort}/healthz`);
      if (r.status === 200 || r.status === 503) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`collector did not start:\n${collector?.describe() ?? ''}`);
}

function startAgent(a: AgentProc): void {
  a.proc = spawnManaged(node, [join(root, 'agent/src/cli.ts'), 'run', '--config', a.config], { name: a.name, env: { CANH_LOG_LEVEL: 'warn' } });
}

function register(name: string): string {
  const out = execFileSync(node, [join(root, 'collector/src/cli.ts'), 'agent', 'add', '--config', collectorConfig, '--name', name, '--agency', 'so-tttt', '--site', 'dc', '--json'], { encoding: 'utf8' });
  return (JSON.parse(out) as { token: string }).token;
}

/** Every point key an agent spooled, from its audit file. */
function audited(a: AgentProc): Set<string> {
  const keys = new Set<string>();
  if (!existsSync(a.audit)) return keys;
  for (const line of readFileSync(a.audit, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      for (const k of (JSON.parse(line) as { points: string[] }).points) keys.add(k);
    } catch {
      // a line torn by kill -9 of the agent; its batch is in the spool either way
    }
  }
  return keys;
}

/** Every point InfluxDB holds for a host, keyed like the audit (collector tags removed). */
async function stored(host: string): Promise<{ keys: Set<string>; rows: number }> {
  const res = await influx.query(`SELECT * FROM /.*/ WHERE host = '${host}' GROUP BY *`, 'canh');
  const keys = new Set<string>();
  let rows = 0;
  for (const st of res.results ?? []) {
    for (const s of st.series ?? []) {
      const tags = Object.entries(s.tags ?? {})
        .filter(([k, v]) => !['host', 'agency', 'site'].includes(k) && v !== '')
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      for (const v of s.values) {
        rows++;
        keys.add(`${s.name}|${tags}|${String(v[0])}`);
      }
    }
  }
  return { keys, rows };
}

/** What the agent reported dropping: never sent, and sent but not acked (maybe stored). */
async function droppedBy(host: string): Promise<{ unsent: number; unacked: number }> {
  const r = seriesRows(await influx.query(`SELECT max(dropped_points) AS d, max(dropped_unacked_points) AS u FROM agent WHERE host = '${host}'`, 'canh'));
  return { unsent: Number(r[0]?.d ?? 0), unacked: Number(r[0]?.u ?? 0) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canh-faults-'));
  influx = await startInfluxd();
  collectorPort = await freePort();
  collectorConfig = join(dir, 'collector.yaml');
  writeFileSync(
    collectorConfig,
    `listen: { host: 127.0.0.1, port: ${collectorPort} }
state_dir: ${join(dir, 'collector')}
influx: { url: "${influx.url}", database: canh, flush_interval: 100ms, timeout: 2s }
liveness: { ping_interval: 500ms, offline_after: 3s }
`,
  );
  collector = startCollector();
  await waitHealthy();
  proxy = await startTcpProxy({ host: '127.0.0.1', port: collectorPort });
  const specs = [
    { name: 'direct', port: collectorPort, inputs: ['mem', 'system', 'kernel'], interval: '200ms', spool: 256 * 1024 * 1024 },
    { name: 'cut-off', port: proxy.port, inputs: ['mem', 'system', 'kernel'], interval: '200ms', spool: 256 * 1024 * 1024 },
    // Many points, tiny spool: it overflows during the cut and must count what it drops.
    { name: 'overflow', port: proxy.port, inputs: ['mem', 'system', 'kernel', 'cpu', 'processes', 'diskio', 'swap'], interval: '100ms', spool: 64 * 1024 },
  ];
  for (const s of specs) {
    const token = register(s.name);
    const a: AgentProc = { name: s.name, config: join(dir, `${s.name}.yaml`), audit: join(dir, `${s.name}.audit`) };
    writeFileSync(join(dir, `${s.name}.token`), token);
    writeFileSync(
      a.config,
      `collector:
  url: ws://127.0.0.1:${s.port}/v1/agent
  token_file: ${join(dir, `${s.name}.token`)}
  ping_interval: 1s
  reconnect_min: 100ms
  reconnect_max: 1s
agent:
  interval: ${s.interval}
  flush_interval: 100ms
  hostname: ${s.name}
  state_dir: ${join(dir, s.name)}
  spool_max_bytes: ${s.spool}
  audit_file: ${a.audit}
inputs:
${s.inputs.map((i) => `  - type: ${i}`).join('\n')}
`,
    );
    agents.push(a);
    startAgent(a);
  }
}, 60_000);

afterAll(async () => {
  for (const a of agents) await a.proc?.stop();
  await collector?.stop();
  await proxy?.close();
  await influx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('delivery under faults', () => {
  it('loses nothing but what a full spool reports, stores nothing twice', async () => {
    await sleep(2000);
    // 1. The collector dies mid-stream and comes back.
    await collector!.kill9();
    await sleep(2000);
    collector = startCollector();
    await waitHealthy();
    await sleep(1500);
    // 2. InfluxDB dies; the collector spools to disk and drains when it is back.
    await influx.kill9();
    await sleep(3000);
    await influx.restart();
    await sleep(1500);
    // 3. An agent dies and restarts on its spool.
    await agents[0]!.proc!.kill9();
    await sleep(1000);
    startAgent(agents[0]!);
    // 4. The path to the collector is cut for two agents; one of them overflows.
    proxy.cut();
    await sleep(5000);
    proxy.restore();
    await sleep(2000);
    // Stop measuring; let everything drain.
    for (const a of agents) await a.proc!.stop();

    const results: string[] = [];
    for (const a of agents) {
      let expected = audited(a);
      let missing: string[] = [];
      let extra = 0;
      let dropped = { unsent: 0, unacked: 0 };
      let rows = 0;
      let keys = new Set<string>();
      for (let attempt = 0; ; attempt++) {
        const s = await stored(a.name);
        expected = audited(a);
        dropped = await droppedBy(a.name);
        keys = s.keys;
        rows = s.rows;
        missing = [...expected].filter((k) => !s.keys.has(k));
        extra = [...s.keys].filter((k) => !expected.has(k)).length;
        if (missing.length <= dropped.unsent + dropped.unacked || attempt >= 5) break;
        // Unacked batches left in the spool at stop: run the agent again to send them.
        startAgent(a);
        await new Promise((r) => setTimeout(r, 3000));
        await a.proc!.stop();
      }
      results.push(`${a.name}: spooled ${expected.size}, stored ${rows}, missing ${missing.length}, reported dropped ${dropped.unsent} unsent + ${dropped.unacked} sent-unacked, extra ${extra}`);
      expect(rows, `${a.name}: a point stored twice`).toBe(keys.size);
      if (a.name === 'overflow') {
        expect(dropped.unsent, 'the overflowing spool reports drops').toBeGreaterThan(0);
        // Everything never sent is lost; of what was sent but never acked, some may have
        // reached InfluxDB before the cut. Nothing else may be missing.
        expect(missing.length, `${a.name}: lost more than it reported`).toBeLessThanOrEqual(dropped.unsent + dropped.unacked);
        expect(missing.length, `${a.name}: lost less than it reported as never sent`).toBeGreaterThanOrEqual(dropped.unsent);
      } else {
        expect(dropped).toEqual({ unsent: 0, unacked: 0 });
        expect(missing, `${a.name}: points lost`).toEqual([]);
      }
    }
    console.log(`[faults] scale ${SCALE}\n  ${results.join('\n  ')}`);
  }, 600_000);
});

// ---------------------------------------------------------------------------------------
// Clock steps and a lying collector: a collector of their own (its wall clock stepped by
// libfaketime), writing to the same InfluxDB.

interface Phase {
  name: string;
  agent: AgentProc;
}

/** A collector for these phases, its clock under `clock`, and a way to register agents. */
async function clockCollector(env: Record<string, string>): Promise<{ proc: ManagedProcess; port: number; config: string }> {
  const port = await freePort();
  const config = join(dir, 'clock-collector.yaml');
  writeFileSync(
    config,
    `listen: { host: 127.0.0.1, port: ${port} }
state_dir: ${join(dir, 'clock-collector')}
influx: { url: "${influx.url}", database: canh, flush_interval: 100ms, timeout: 2s }
liveness: { ping_interval: 500ms, offline_after: 3s }
`,
  );
  const proc = spawnManaged(node, [join(root, 'collector/src/cli.ts'), 'serve', '--config', config], { name: 'clock-collector', env: { CANH_LOG_LEVEL: 'warn', ...env } });
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.status === 200 || r.status === 503) break;
    } catch {
      // not up yet
    }
    if (i > 100) throw new Error(`collector did not start:\n${proc.describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, port, config };
}

/** Register an agent with that collector and write its config; `extra` goes under `collector:`. */
function clockAgent(collectorConfigFile: string, name: string, port: number, extra: string, agentExtra = ''): AgentProc {
  const out = execFileSync(node, [join(root, 'collector/src/cli.ts'), 'agent', 'add', '--config', collectorConfigFile, '--name', name, '--agency', 'so-tttt', '--site', 'dc', '--json'], { encoding: 'utf8' });
  writeFileSync(join(dir, `${name}.token`), (JSON.parse(out) as { token: string }).token);
  const a: AgentProc = { name, config: join(dir, `${name}.yaml`), audit: join(dir, `${name}.audit`) };
  writeFileSync(
    a.config,
    `collector:
  url: ws://127.0.0.1:${port}/v1/agent
  token_file: ${join(dir, `${name}.token`)}
  ping_interval: 1s
  reconnect_min: 100ms
  reconnect_max: 1s
${extra}agent:
  interval: 200ms
  flush_interval: 100ms
  hostname: ${name}
  state_dir: ${join(dir, name)}
  audit_file: ${a.audit}
${agentExtra}inputs:
  - type: mem
  - type: system
`,
  );
  return a;
}

/** Keys the audit holds more than once: a point stamped with a time already used (a step back). */
function reusedKeys(a: AgentProc): number {
  const seen = new Set<string>();
  let reused = 0;
  if (!existsSync(a.audit)) return 0;
  for (const line of readFileSync(a.audit, 'utf8').split('\n')) {
    if (!line) continue;
    for (const k of (JSON.parse(line) as { points: string[] }).points) {
      if (seen.has(k)) reused++;
      seen.add(k);
    }
  }
  return reused;
}

/** Stop the agent and compare InfluxDB with its audit, running it again while its spool holds unacked batches. */
async function account(p: Phase, start: () => void): Promise<{ line: string; measured: number; missing: number; dropped: number; duplicated: number }> {
  await p.agent.proc!.stop();
  for (let attempt = 0; ; attempt++) {
    const expected = audited(p.agent);
    const s = await stored(p.agent.name);
    const d = await droppedBy(p.agent.name);
    const missing = [...expected].filter((k) => !s.keys.has(k)).length;
    const dropped = d.unsent + d.unacked;
    if (missing <= dropped || attempt >= 5) {
      const duplicated = s.rows - s.keys.size;
      const line = `${p.name}: measured ${expected.size}, stored ${s.rows}, missing ${missing}, counted as dropped ${dropped}, duplicated ${duplicated}, reused timestamps ${reusedKeys(p.agent)}`;
      return { line, measured: expected.size, missing, dropped, duplicated };
    }
    start();
    await new Promise((r) => setTimeout(r, 3000));
    await p.agent.proc!.stop();
  }
}

const agentTicks = (a: AgentProc) => [...audited(a)].filter((k) => k.startsWith('agent|')).length;

describe('delivery across clock steps (libfaketime)', () => {
  it('gathers on through steps of −7 h, −90 s and +1 h on the agent and then the collector; nothing offline, nothing lost', async () => {
    const collectorClock = fakeClock(join(dir, 'clock-collector.faketime'));
    const agentClock = fakeClock(join(dir, 'clock-agent.faketime'));
    const c = await clockCollector(collectorClock.env);
    const agent = clockAgent(c.config, 'clock', c.port, '');
    const start = () => {
      agent.proc = spawnManaged(node, [join(root, 'agent/src/cli.ts'), 'run', '--config', agent.config], { name: agent.name, env: { CANH_LOG_LEVEL: 'warn', ...agentClock.env } });
    };
    const storedTicks = async () => Number(seriesRows(await influx.query(`SELECT count(rss_bytes) AS n FROM agent WHERE host = 'clock'`, 'canh'))[0]?.n ?? 0);
    try {
      start();
      // Running and connected before the first step (a start takes seconds on a loaded machine).
      for (let i = 0; i < 600 && agentTicks(agent) < 3; i++) await new Promise((r) => setTimeout(r, 50));
      await sleep(1000);
      const steps: [string, FakeClockRef, number][] = [
        ['agent', agentClock, -7 * 3600],
        ['agent', agentClock, -90],
        ['agent', agentClock, 3600],
        ['collector', collectorClock, -7 * 3600],
        ['collector', collectorClock, -90],
        ['collector', collectorClock, 3600],
      ];
      const perPhase: string[] = [];
      for (const [who, clock, s] of steps) {
        const before = agentTicks(agent);
        const storedBefore = await storedTicks();
        clock.step(s);
        await sleep(2000);
        // A loaded machine may be slower: up to 10 s more, far less than any stall seen
        // before (the step itself, or 46 s and more for the collector's rate limit).
        for (let i = 0; i < 40 && (agentTicks(agent) - before < 3 || (await storedTicks()) - storedBefore < 3); i++) await new Promise((r) => setTimeout(r, 250));
        const ticks = agentTicks(agent) - before;
        const delivered = (await storedTicks()) - storedBefore;
        perPhase.push(`${who} ${s > 0 ? '+' : ''}${s} s: ${ticks} ticks, ${delivered} stored`);
        // About ten ticks of 200 ms in two seconds; a stalled scheduler made none, and a
        // paused connection (the collector's rate limit after a step back) delivered none.
        expect(ticks, `${who} stepped ${s} s: the agent stopped gathering`).toBeGreaterThanOrEqual(3);
        expect(delivered, `${who} stepped ${s} s: delivery stalled`).toBeGreaterThanOrEqual(3);
      }
      // Never marked offline, never reconnected: one online point, no offline one, while it runs.
      await new Promise((r) => setTimeout(r, 500));
      const states = seriesRows(await influx.query(`SELECT online FROM agent WHERE host = 'clock'`, 'canh'));
      const online = states.map((r) => Number(r.online));
      expect(online, 'online/offline points written by the collector').toEqual([1]);
      expect(agent.proc!.running, agent.proc!.describe()).toBe(true);
      const r = await account({ name: 'clock-step', agent }, start);
      const self = seriesRows(await influx.query(`SELECT max(clock_steps) AS steps FROM agent WHERE host = 'clock'`, 'canh'))[0];
      // Each step as the agent measured it, in whole seconds, from its clock_step events.
      const events = seriesRows(await influx.query(`SELECT step_ms FROM security_event WHERE host = 'clock' AND "type" = 'clock_step'`, 'canh'))
        .map((e) => Math.round(Number(e.step_ms) / 1000))
        .sort((a, b) => a - b);
      const collectorSaw = c.proc.tail().filter((l) => l.includes('the wall clock stepped')).length;
      console.log(`[faults] clock steps, scale ${SCALE}\n  ${r.line}\n  ${perPhase.join('; ')}\n  agent clock_steps ${String(self?.steps)}, clock_step events [${events.join(', ')}] s; collector logged ${collectorSaw} steps`);
      expect(r.missing, 'points lost').toBe(r.dropped);
      expect(r.dropped).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(Number(self?.steps)).toBe(3);
      expect(events).toEqual([-25200, -90, 3600]);
      expect(collectorSaw).toBe(3);
    } finally {
      await agent.proc?.stop();
      await c.proc.stop();
    }
  }, 600_000);
});

describe('delivery through a collector that acks what it was not sent', () => {
  it('closes on the lie, keeps the spool, loses nothing', async () => {
    const c = await clockCollector({});
    const mitm = await startLyingCollector({ upstream: `ws://127.0.0.1:${c.port}/v1/agent`, lies: 3, ahead: 2, holdHelloMs: 1000 });
    // One frame in flight and one batch a frame: the lie names a batch spooled and not sent.
    const agent = clockAgent(c.config, 'lied-to', mitm.port, '  max_in_flight: 1\n', '  batch_size: 5\n');
    const start = () => {
      agent.proc = spawnManaged(node, [join(root, 'agent/src/cli.ts'), 'run', '--config', agent.config], { name: agent.name, env: { CANH_LOG_LEVEL: 'warn' } });
    };
    try {
      start();
      for (let i = 0; i < 300 && mitm.connections < 4; i++) await new Promise((r) => setTimeout(r, 50));
      await sleep(2000);
      const r = await account({ name: 'lying-collector', agent }, start);
      const bad = seriesRows(await influx.query(`SELECT max(bad_acks) AS n FROM agent WHERE host = 'lied-to'`, 'canh'))[0];
      const closes = mitm.agentCloseCodes.filter((code) => code === 4009).length;
      console.log(`[faults] lying collector, scale ${SCALE}\n  ${r.line}\n  lies ${mitm.lies}, connections ${mitm.connections}, closed by the agent with 4009: ${closes}, agent bad_acks ${String(bad?.n)}`);
      expect(mitm.lies).toBe(3);
      expect(closes).toBe(3);
      expect(Number(bad?.n)).toBe(3);
      expect(r.measured).toBeGreaterThan(0);
      expect(r.missing, 'points lost').toBe(0);
      expect(r.dropped).toBe(0);
      expect(r.duplicated).toBe(0);
    } finally {
      await agent.proc?.stop();
      await mitm.close();
      await c.proc.stop();
    }
  }, 600_000);
});

// Delivery under faults, with real processes: InfluxDB, the collector and three agents,
// while the test kills the collector (-9), stops InfluxDB, kills an agent (-9), cuts the
// agent–collector path, and lets a small agent spool overflow. Afterwards InfluxDB must
// hold exactly what each agent spooled (its audit file), minus what the overflowing
// spool reported as dropped — nothing else lost, nothing stored twice.
//
// CANH_FAULT_SCALE stretches every phase (npm run test:faults uses 10: minutes-long
// outages); CI runs the short version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
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
  const out = execFileSync(
    node,
    [join(root, 'collector/src/cli.ts'), 'agent', 'add', '--config', collectorConfig, '--name', name, '--agency', 'so-tttt', '--site', 'dc', '--json'],
    { encoding: 'utf8' },
  );
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
    // The cut lasts 5 s and until the overflowing agent has dropped data: a loaded machine
    // gathers fewer points in 5 s, and the drop is what this phase is for.
    proxy.cut();
    await Promise.all([sleep(5000), agents[2]!.proc!.waitForLine(/spool full: oldest data dropped/, 120_000)]);
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
      results.push(
        `${a.name}: spooled ${expected.size}, stored ${rows}, missing ${missing.length}, reported dropped ${dropped.unsent} unsent + ${dropped.unacked} sent-unacked, extra ${extra}`,
      );
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
  const proc = spawnManaged(node, [join(root, 'collector/src/cli.ts'), 'serve', '--config', config], {
    name: 'clock-collector',
    env: { CANH_LOG_LEVEL: 'warn', ...env },
  });
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
  const out = execFileSync(
    node,
    [join(root, 'collector/src/cli.ts'), 'agent', 'add', '--config', collectorConfigFile, '--name', name, '--agency', 'so-tttt', '--site', 'dc', '--json'],
    { encoding: 'utf8' },
  );
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
      agent.proc = spawnManaged(node, [join(root, 'agent/src/cli.ts'), 'run', '--config', agent.config], {
        name: agent.name,
        env: { CANH_LOG_LEVEL: 'warn', ...agentClock.env },
      });
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
        // A loaded machine may be slower: up to 25 s more by the clock (was 40 sleeps of
        // 250 ms), still less than any stall seen before (the step itself, or 46 s and more
        // for the collector's rate limit).
        const until = Date.now() + 25_000;
        while (Date.now() < until && (agentTicks(agent) - before < 3 || (await storedTicks()) - storedBefore < 3)) await new Promise((r) => setTimeout(r, 250));
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
      console.log(
        `[faults] clock steps, scale ${SCALE}\n  ${r.line}\n  ${perPhase.join('; ')}\n  agent clock_steps ${String(self?.steps)}, clock_step events [${events.join(', ')}] s; collector logged ${collectorSaw} steps`,
      );
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
      // Up to 60 s by the clock (was 300 sleeps of 50 ms): the counts below tell what happened.
      const until = Date.now() + 60_000;
      while (mitm.connections < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      await sleep(2000);
      const r = await account({ name: 'lying-collector', agent }, start);
      const bad = seriesRows(await influx.query(`SELECT max(bad_acks) AS n FROM agent WHERE host = 'lied-to'`, 'canh'))[0];
      const closes = mitm.agentCloseCodes.filter((code) => code === 4009).length;
      console.log(
        `[faults] lying collector, scale ${SCALE}\n  ${r.line}\n  lies ${mitm.lies}, connections ${mitm.connections}, closed by the agent with 4009: ${closes}, agent bad_acks ${String(bad?.n)}`,
      );
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

// ---- Disk faults (issue 19): spools on a tiny tmpfs that fills ----
// The agent's spool (and, in the second phase, the collector's) lives on a tmpfs of its
// own (mounted here; the suite runs as root), filled by a filler file. The agent's audit
// says what it measured: the batches it spooled, and those the full disk refused. Then
// InfluxDB must hold every point spooled ("acked but missing" = 0), the missing ones must
// be exactly those refused and as many as the agent counts as dropped, nothing twice.

const mounts: string[] = [];

/** A tmpfs of `bytes` at `path`. */
function mountTmpfs(path: string, bytes: number): void {
  mkdirSync(path, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0750`, 'tmpfs', path]);
  mounts.push(path);
}

/** Fill the file system holding `path` until about `leave` bytes are free (0: full). */
function fillDisk(path: string, leave: number, name = 'filler'): string {
  const file = join(path, name);
  const st = statfsSync(path);
  const n = Math.max(0, Number(st.bavail) * Number(st.bsize) - leave);
  const fd = openSync(file, 'a');
  try {
    // On tmpfs what fits is written and the rest refused: either way the disk is as full as asked.
    writeSync(fd, Buffer.alloc(n || 4096));
  } catch {
    // ENOSPC: full
  } finally {
    closeSync(fd);
  }
  return file;
}

/** What an agent's audit says it measured: points spooled, and points the full disk refused. */
function auditOf(file: string): { spooled: Set<string>; refused: Set<string> } {
  const spooled = new Set<string>();
  const refused = new Set<string>();
  if (!existsSync(file)) return { spooled, refused };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const a = JSON.parse(line) as { points: string[]; dropped?: string };
      for (const k of a.points) (a.dropped ? refused : spooled).add(k);
    } catch {
      // a line torn by kill -9
    }
  }
  return { spooled, refused };
}

interface DiskAgent {
  name: string;
  config: string;
  audit: string;
  stateDir: string;
  proc?: ManagedProcess;
  /** Short writes the agent logged (summed over its runs). */
  shortWrites: number;
}

function diskAgent(name: string, url: string, token: string, extra: string): DiskAgent {
  const a: DiskAgent = { name, config: join(dir, `${name}.yaml`), audit: join(dir, `${name}.audit`), stateDir: join(dir, name), shortWrites: 0 };
  writeFileSync(join(dir, `${name}.token`), token);
  writeFileSync(
    a.config,
    `collector:
  url: ${url}
  token_file: ${join(dir, `${name}.token`)}
  ping_interval: 1s
  reconnect_min: 100ms
  reconnect_max: 1s
agent:
  interval: 100ms
  flush_interval: 100ms
  hostname: ${name}
  state_dir: ${a.stateDir}
  spool_max_bytes: 67108864
  audit_file: ${a.audit}
${extra}
inputs:
  - type: mem
  - type: system
  - type: kernel
  - type: cpu
`,
  );
  return a;
}

function startDiskAgent(a: DiskAgent): void {
  a.proc = spawnManaged(node, [join(root, 'agent/src/cli.ts'), 'run', '--config', a.config], { name: a.name, env: { CANH_LOG_LEVEL: 'warn' }, ringSize: 5000 });
}

/** Count the short writes an agent's spool logged, before its process goes. */
function harvest(a: DiskAgent): void {
  for (const l of a.proc?.tail() ?? []) a.shortWrites += Number(/"shortWrites":(\d+)/.exec(l)?.[1] ?? 0);
}

async function stopDiskAgent(a: DiskAgent, kill = false): Promise<void> {
  if (kill) await a.proc?.kill9();
  else await a.proc?.stop();
  harvest(a);
}

interface DiskAccount {
  measured: number;
  stored: number;
  missing: number;
  counted: number;
  duplicated: number;
  ackedButMissing: number;
  line: string;
}

/** Compare InfluxDB with the agent's audit; run it again to send what its spool still holds, if need be. */
async function accountDisk(a: DiskAgent): Promise<DiskAccount & { refused: number; missingNotRefused: number; unacked: number; diskFull: number }> {
  for (let attempt = 0; ; attempt++) {
    const { spooled, refused } = auditOf(a.audit);
    const s = await stored(a.name);
    const r = seriesRows(
      await influx.query(
        `SELECT max(dropped_points) AS d, max(dropped_points_disk_full) AS f, max(dropped_unacked_points) AS u FROM agent WHERE host = '${a.name}'`,
        'canh',
      ),
    );
    const counted = Number(r[0]?.d ?? 0);
    const measured = new Set([...spooled, ...refused]);
    const missing = [...measured].filter((k) => !s.keys.has(k));
    const ackedButMissing = [...spooled].filter((k) => !s.keys.has(k)).length;
    if ((ackedButMissing === 0 && missing.length === counted) || attempt >= 5) {
      if (attempt) console.log(`[faults] ${a.name}: ran ${attempt} more time(s) to send what its spool held`);
      const out = {
        measured: measured.size,
        stored: s.rows,
        missing: missing.length,
        counted,
        duplicated: s.rows - s.keys.size,
        ackedButMissing,
        refused: refused.size,
        missingNotRefused: missing.filter((k) => !refused.has(k)).length,
        unacked: Number(r[0]?.u ?? 0),
        diskFull: Number(r[0]?.f ?? 0),
      };
      return {
        ...out,
        line: `${a.name}: measured ${out.measured}, stored ${out.stored}, missing ${out.missing}, counted as dropped ${out.counted} (disk_full ${out.diskFull}), duplicated ${out.duplicated}, acked but missing ${out.ackedButMissing}, short writes ${a.shortWrites}`,
      };
    }
    // Batches left in the spool at stop, or the last count not yet reported: run it again.
    startDiskAgent(a);
    await new Promise((res) => setTimeout(res, 3000));
    await stopDiskAgent(a);
  }
}

describe('delivery when the disk fills (tmpfs)', () => {
  const diskAgents: DiskAgent[] = [];
  let collector2: ManagedProcess | undefined;

  afterAll(async () => {
    for (const a of diskAgents) await a.proc?.stop();
    await collector2?.stop();
    for (const m of mounts.splice(0)) {
      try {
        execFileSync('umount', ['-l', m]);
      } catch {
        // already gone
      }
    }
  });

  it('agent: a full spool disk drops and counts new batches, keeps running, resumes; short writes and restarts on a full disk lose nothing kept', async () => {
    const url = `ws://127.0.0.1:${collectorPort}/v1/agent`;
    // One agent meets the real ENOSPC (no floor), the other stops at its free-space floor (auto: 5 % of 2 MiB).
    const enospc = diskAgent('disk-enospc', url, register('disk-enospc'), '  spool_min_free: 0');
    const floor = diskAgent('disk-floor', url, register('disk-floor'), '  spool_min_free: auto');
    diskAgents.push(enospc, floor);
    const spoolOf = (a: DiskAgent) => join(a.stateDir, 'spool');
    for (const a of diskAgents) mountTmpfs(spoolOf(a), 2 * 1024 * 1024);
    for (const a of diskAgents) startDiskAgent(a);
    await sleep(1000);
    // The disks fill: the segment being written (acked batches stay in it until it is
    // done) grows into the last free bytes; acked segments go and appends resume, over and over.
    const fillers = [fillDisk(spoolOf(enospc), 8 * 1024), fillDisk(spoolOf(floor), Math.floor(0.05 * 2 * 1024 * 1024) + 8 * 1024)];
    for (const a of diskAgents) await a.proc!.waitForLine(/the disk takes no more/, 60_000 * SCALE);
    await sleep(1000);
    // A crash, and a restart on a disk with no byte free: the spool opens (its ack log and
    // meta cannot be rewritten), the agent runs and counts what it cannot keep.
    fillers.push(fillDisk(spoolOf(enospc), 0, 'filler-all'));
    await stopDiskAgent(enospc, true);
    startDiskAgent(enospc);
    await enospc.proc!.waitForLine(/the disk takes no more/, 30_000 * SCALE);
    await sleep(1000);
    expect(enospc.proc!.running, `agent died on a full disk: ${enospc.proc!.describe()}`).toBe(true);
    // Space returns.
    for (const f of fillers) rmSync(f);
    await sleep(1500);
    // Another crash after the short write and the refusals: the next start must find every kept record.
    await stopDiskAgent(enospc, true);
    startDiskAgent(enospc);
    await sleep(1500);
    for (const a of diskAgents) {
      expect(a.proc!.running, `${a.name}: ${a.proc!.describe()}`).toBe(true);
      await stopDiskAgent(a);
    }
    const lines: string[] = [];
    for (const a of diskAgents) {
      const r = await accountDisk(a);
      lines.push(r.line);
      expect(r.counted, `${a.name}: the full disk cost nothing?`).toBeGreaterThan(0);
      expect(r.diskFull, `${a.name}: every drop is a disk_full drop here`).toBe(r.counted);
      expect(r.unacked).toBe(0);
      expect(r.ackedButMissing, `${a.name}: spooled but missing`).toBe(0);
      expect(r.missingNotRefused, `${a.name}: missing though not refused`).toBe(0);
      expect(r.missing, `${a.name}: missing vs counted`).toBe(r.counted);
      expect(r.duplicated).toBe(0);
    }
    expect(enospc.shortWrites, 'the disk filled in the middle of a record: a short write, retried and cut back').toBeGreaterThan(0);
    console.log(`[faults] disk full, agent spool (scale ${SCALE})\n  ${lines.join('\n  ')}`);
  }, 600_000);

  it('collector: a full spool disk with InfluxDB down stops acking (agents keep theirs), survives a restart on the full disk, loses nothing', async () => {
    const cdir = join(dir, 'collector-disk');
    const port = await freePort();
    const config = join(dir, 'collector-disk.yaml');
    writeFileSync(
      config,
      `listen: { host: 127.0.0.1, port: ${port} }
state_dir: ${cdir}
influx: { url: "${influx.url}", database: canh, flush_interval: 100ms, timeout: 2s, max_queued_lines: 1000 }
liveness: { ping_interval: 500ms, offline_after: 3s }
spool: { min_free: 0 }
`,
    );
    mountTmpfs(join(cdir, 'spool'), 2 * 1024 * 1024);
    const start = () =>
      spawnManaged(node, [join(root, 'collector/src/cli.ts'), 'serve', '--config', config], { name: 'collector-disk', env: { CANH_LOG_LEVEL: 'warn' } });
    const health = async (): Promise<{ spool?: { spool_disk_full: number } } | undefined> => {
      try {
        return (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { spool?: { spool_disk_full: number } };
      } catch {
        return undefined;
      }
    };
    const up = async () => {
      // Up to 60 s by the clock (was 200 tries 100 ms apart): a start takes seconds on a loaded machine.
      const until = Date.now() + 60_000;
      while (!(await health()) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(await health(), `collector did not answer: ${collector2?.describe() ?? ''}`).toBeDefined();
    };
    collector2 = start();
    await up();
    const out = execFileSync(
      node,
      [join(root, 'collector/src/cli.ts'), 'agent', 'add', '--config', config, '--name', 'disk-via-collector', '--agency', 'so-tttt', '--site', 'dc', '--json'],
      { encoding: 'utf8' },
    );
    const a = diskAgent('disk-via-collector', `ws://127.0.0.1:${port}/v1/agent`, (JSON.parse(out) as { token: string }).token, '');
    diskAgents.push(a);
    startDiskAgent(a);
    await sleep(1500);
    // InfluxDB goes; the collector spools to a disk that fills.
    const filler = fillDisk(join(cdir, 'spool'), 8 * 1024);
    await influx.kill9();
    await collector2.waitForLine(/the disk takes no more/, 60_000 * SCALE);
    let h: Awaited<ReturnType<typeof health>> = undefined;
    const fullBy = Date.now() + 30_000; // by the clock (was 100 tries 100 ms apart)
    while ((h = await health())?.spool?.spool_disk_full !== 1 && Date.now() < fullBy) await new Promise((r) => setTimeout(r, 100));
    expect(h?.spool?.spool_disk_full, 'health answers, and says the spool disk is full').toBe(1);
    await sleep(1500);
    // A crash and a restart on the full disk: the spool opens and the collector serves.
    await collector2.kill9();
    collector2 = start();
    await up();
    await sleep(1500);
    expect(collector2.running, collector2.describe()).toBe(true);
    await influx.restart();
    await sleep(3000);
    rmSync(filler);
    await sleep(1500);
    await stopDiskAgent(a);
    const r = await accountDisk(a);
    console.log(`[faults] disk full, collector spool (scale ${SCALE})\n  ${r.line}`);
    expect(r.counted, 'the agent kept everything the collector did not ack').toBe(0);
    expect(r.missing).toBe(0);
    expect(r.ackedButMissing).toBe(0);
    expect(r.duplicated).toBe(0);
  }, 600_000);
});

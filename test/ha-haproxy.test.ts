// Agents behind a real HAProxy (issue 27, the load-balancer alternative to collector.urls):
// a private PostgreSQL holding the shared state (one registry for both collectors), one
// influxd, two `canh-collector serve` processes, and an HAProxy in TCP mode started here
// (not the system unit) with the configuration docs/operating/ha.md shows — read from that
// page, only its addresses replaced by loopback ports and the TLS check dropped (these
// collectors speak plain ws://; `-n` lowers maxconn for the test's few agents). Agents (the real Agent, in this process) have one URL:
// HAProxy's.
//  1. `haproxy -c` accepts the file; HAProxy spreads the agents over both collectors;
//  2. kill -9 of the collector holding the most agents: every agent ends on the other;
//  3. nothing lost, nothing stored twice: per host, InfluxDB holds exactly the points the
//     agent audited.
// Scale: CANH_HA_SCALE=full (npm run test:ha) runs 20 agents, otherwise (npm test) 4.
// Figures are printed; nothing is timed against a limit but the generous waits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { Agent } from '../agent/src/agent.ts';
import { parseConfig } from '../agent/src/config.ts';
import { PgState } from '../collector/src/state/postgres.ts';
import { PgRegistry } from '../collector/src/state/pg-registry.ts';
import { startInfluxd, type Influxd } from './helpers/influxd.ts';
import { startPostgres, type Postgres } from './helpers/postgres.ts';
import { freePorts } from './helpers/ports.ts';
import { pollUntil, spawnManaged, type ManagedProcess } from './helpers/process.ts';

const FULL = process.env.CANH_HA_SCALE === 'full';
const AGENTS = Number(process.env.CANH_HA_AGENTS ?? (FULL ? 20 : 4));
const root = join(import.meta.dirname, '..');
const log = pino({ level: process.env.CANH_TEST_LOG ?? 'silent' });

interface Collector {
  name: string;
  port: number;
  proc: ManagedProcess;
}
interface AgentRun {
  name: string;
  audit: string;
  agent: Agent;
}

let dir: string;
let pg: Postgres;
let influx: Influxd;
let haproxy: ManagedProcess | undefined;
let lbPort: number;
const collectors: Collector[] = [];
const agents: AgentRun[] = [];

const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

/** The ```haproxy block of docs/operating/ha.md, pointed at loopback ports. */
function haproxyConfFromDocs(listen: number, upstreams: [number, number]): string {
  const doc = readFileSync(join(root, 'docs/operating/ha.md'), 'utf8');
  const block = /```haproxy\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/operating/ha.md has no ```haproxy block');
  const swaps: [string, string][] = [
    ['bind :443', `bind 127.0.0.1:${listen}`],
    ['10.0.0.11:8443', `127.0.0.1:${upstreams[0]}`],
    ['10.0.0.12:8443', `127.0.0.1:${upstreams[1]}`],
    [' check-ssl verify none', ''],
  ];
  let conf = block;
  for (const [from, to] of swaps) {
    if (!conf.includes(from)) throw new Error(`the documented HAProxy block lost "${from}"`);
    conf = conf.replace(from, to);
  }
  return conf;
}

async function agentsOn(c: Collector): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${c.port}/healthz`, { signal: AbortSignal.timeout(5000) });
  return ((await r.json()) as { agents_connected?: number }).agents_connected ?? -1;
}

/** Every mem point key an agent spooled (name|tags|time), from its audit file. */
function audited(audit: string): Set<string> {
  const keys = new Set<string>();
  if (!existsSync(audit)) return keys;
  for (const line of readFileSync(audit, 'utf8').split('\n')) {
    if (!line) continue;
    for (const k of (JSON.parse(line) as { points?: string[] }).points ?? []) if (k.startsWith('mem|')) keys.add(k);
  }
  return keys;
}

/** Every mem point InfluxDB holds for a host, keyed as the audit keys them (collector tags left out). */
async function stored(host: string): Promise<{ keys: Set<string>; rows: number }> {
  const res = await influx.query(`SELECT * FROM mem WHERE host = '${host}' GROUP BY *`, 'canh');
  const keys = new Set<string>();
  let rows = 0;
  for (const s of (res.results ?? []).flatMap((st) => st.series ?? [])) {
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
  return { keys, rows };
}

async function startCollector(name: string, port: number, pgUrl: string): Promise<Collector> {
  const config = join(dir, `collector-${name}.yaml`);
  writeFileSync(
    config,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      state_dir: join(dir, `collector-${name}`),
      log_level: 'warn',
      influx: { url: influx.url, database: 'canh', flush_interval: '100ms' },
      liveness: { ping_interval: '1s', offline_after: '3s' },
      state: { postgres: { url: pgUrl, password_file: pg.passwordFile, collector_id: `lb-${name}`, leader_poll: '300ms' } },
    }),
  );
  const proc = spawnManaged(process.execPath, [join(root, 'collector/src/cli.ts'), 'serve', '--config', config], { name: `collector-${name}`, ringSize: 200 });
  await pollUntil(async () => ((await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })).ok ? true : undefined), {
    timeoutMs: 60_000,
    what: `collector ${name} answering /healthz with 200`,
    abortIf: () => (proc.running ? undefined : proc.describe()),
  });
  return { name, port, proc };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canh-ha-haproxy-'));
  [pg, influx] = await Promise.all([startPostgres(), startInfluxd()]);
  const pgUrl = await pg.createDatabase('canh_lb');
  // The shared registry: both collectors know every token.
  const state = await PgState.open({ url: pgUrl, password: pg.password, log, campaign: false });
  const tokens: { name: string; token: string }[] = [];
  try {
    const registry = await PgRegistry.open(state);
    for (let i = 0; i < AGENTS; i++) {
      const name = `lb-host-${String(i).padStart(2, '0')}`;
      tokens.push({ name, token: registry.add({ name, agency: 'so-lb', site: 'dc' }).token });
    }
    await state.flush();
  } finally {
    await state.stop();
  }
  const [pa, pb, pl] = await freePorts(3);
  collectors.push(await startCollector('a', pa!, pgUrl), await startCollector('b', pb!, pgUrl));
  lbPort = pl!;
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(conf, haproxyConfFromDocs(lbPort, [pa!, pb!]));
  const check = execFileSync('haproxy', ['-c', '-f', conf], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  console.log(`[ha-haproxy] haproxy -c: ${check.trim()}`);
  // -db: in the foreground, no daemon. -n: the documented maxconn needs twice as many file
  // descriptors, above this machine's hard limit; a handful of agents need far fewer.
  haproxy = spawnManaged('haproxy', ['-db', '-n', '1000', '-f', conf], { name: 'haproxy', ringSize: 200 });
  await pollUntil(
    async () => {
      const r = await fetch(`http://127.0.0.1:${lbPort}/healthz`, { signal: AbortSignal.timeout(2000) });
      return r.ok ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'HAProxy passing a connection to a collector', abortIf: () => (haproxy!.running ? undefined : haproxy!.describe()) },
  );
  for (const { name, token } of tokens) {
    const audit = join(dir, `${name}.audit`);
    mkdirSync(join(dir, 'agents', name), { recursive: true });
    const cfg = parseConfig(
      {
        collector: { url: `ws://127.0.0.1:${lbPort}/v1/agent`, token, reconnect_min: 200, reconnect_max: 2000, ping_interval: '2s' },
        agent: { interval: '1s', flush_interval: 100, state_dir: join(dir, 'agents', name), hostname: name, audit_file: audit },
        inputs: [{ type: 'mem' }],
      },
      { env: {} },
    );
    const agent = new Agent(cfg, { log: log.child({ agent: name }) });
    await agent.start();
    agents.push({ name, audit, agent });
  }
}, 180_000);

afterAll(async () => {
  for (const a of agents) await a.agent.stop().catch(() => {});
  await haproxy?.stop();
  for (const c of collectors) await c.proc.stop(10_000);
  await Promise.all([influx?.stop(), pg?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe(`agents through HAProxy in front of two collectors on PostgreSQL (${AGENTS} agents)`, () => {
  it('spreads the agents; after kill -9 of the busier collector all of them end on the other, every point stored once', async () => {
    const spread = await pollUntil(
      async () => {
        if (!agents.every((a) => a.agent.transport.connectionState === 'connected')) return undefined;
        const on = await Promise.all(collectors.map(agentsOn));
        return on[0]! + on[1]! === AGENTS ? on : undefined;
      },
      { timeoutMs: 60_000, what: 'every agent connected through HAProxy' },
    );
    console.log(`[ha-haproxy] agents per collector through HAProxy (leastconn): a ${spread[0]}, b ${spread[1]}`);
    expect(Math.min(...spread)).toBeGreaterThan(0);
    const vi = spread[0]! >= spread[1]! ? 0 : 1;
    const [victim, survivor] = [collectors[vi]!, collectors[1 - vi]!];
    await new Promise((r) => setTimeout(r, 2000));
    await victim.proc.kill9();
    const t0 = performance.now();
    await pollUntil(
      async () => (agents.every((a) => a.agent.transport.connectionState === 'connected') && (await agentsOn(survivor)) === AGENTS ? true : undefined),
      { timeoutMs: 90_000, what: `every agent on collector ${survivor.name}`, abortIf: () => (survivor.proc.running ? undefined : survivor.proc.describe()) },
    );
    console.log(`[ha-haproxy] kill -9 of ${victim.name} (${spread[vi]} agents): all ${AGENTS} on ${survivor.name} ${seconds(t0)} s later`);
    const down = haproxy!.tail().filter((l) => / is DOWN/.test(l));
    if (down.length) console.log(`[ha-haproxy] HAProxy said: ${down.join(' | ')}`);
    // A few more cycles through the survivor, then the agents stop with nothing left to send.
    const acked = agents.map((a) => a.agent.transport.acked);
    await pollUntil(async () => (agents.every((a, i) => a.agent.transport.acked >= acked[i]! + 2) ? true : undefined), {
      timeoutMs: 60_000,
      what: 'two more acks for every agent',
    });
    for (const a of agents) await a.agent.stop();
    expect(agents.map((a) => a.agent.spool.stats().batches)).toEqual(agents.map(() => 0));
    expect(agents.filter((a) => a.agent.transport.connects >= 2).length).toBeGreaterThanOrEqual(spread[vi]!);

    const problems: string[] = [];
    let total = 0;
    for (const a of agents) {
      const expected = audited(a.audit);
      total += expected.size;
      const got = await pollUntil(
        async () => {
          const s = await stored(a.name);
          return s.keys.size >= expected.size ? s : undefined;
        },
        { timeoutMs: 30_000, what: `${a.name}'s points in InfluxDB` },
      ).catch(() => stored(a.name));
      const missing = [...expected].filter((k) => !got.keys.has(k)).length;
      const extra = [...got.keys].filter((k) => !expected.has(k)).length;
      if (missing || extra || got.rows !== got.keys.size)
        problems.push(`${a.name}: ${missing} missing, ${extra} not audited, ${got.rows} rows for ${got.keys.size} keys`);
    }
    console.log(`[ha-haproxy] audited ${total} mem points from ${AGENTS} agents; problems: ${problems.length ? problems.join('; ') : 'none'}`);
    expect(total).toBeGreaterThan(AGENTS * 3);
    expect(problems).toEqual([]);
  }, 300_000);
});

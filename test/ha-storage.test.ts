// Surviving a node, on real processes (issue 27, the agent and storage half):
// two influxd, two collectors started by their CLI (each writing to both InfluxDB targets,
// write_quorum at its default: both), and agents (the real Agent, in this process) holding
// both collectors' URLs (collector.urls), one point set a second each, every point they
// spool written to an audit file.
//  1. kill -9 the collector holding the most agents: every agent sends through the other;
//  2. kill -9 one influxd for a while: the other keeps serving (agents keep getting acks,
//     the stopped target's backlog waits in each collector's spool for it), and after its
//     return it catches up;
//  3. nothing lost, nothing stored twice: per host, the points on each InfluxDB are
//     exactly the points the agent audited, and count() is equal on both;
//  4. an nginx `stream` upstream over both collectors (the load-balancer alternative to
//     collector.urls): `nginx -t` passes, and an agent through it reaches the live one.
//
// The registry is still per collector here (SQLite): until the PostgreSQL state is
// configured, both collectors accept the same agents because the registry file is copied
// from the first collector's state folder to the second's before either starts.
//
// Scale: CANH_HA_SCALE=full (npm run test:ha) runs 30 agents and stops an influxd for
// 2 minutes, as the issue asks; otherwise (npm test) 6 agents and 6 seconds. Figures are
// printed; nothing here is timed against a limit but the generous waits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { DATASOURCE_UID } from '../dashboards/src/influxql.ts';
import { Agent } from '../agent/src/agent.ts';
import { parseConfig } from '../agent/src/config.ts';
import { openRegistry } from '../collector/src/collector.ts';
import { startInfluxd, type Influxd } from './helpers/influxd.ts';
import { freePort } from './helpers/ports.ts';
import { pollUntil, spawnManaged, type ManagedProcess } from './helpers/process.ts';

const FULL = process.env.CANH_HA_SCALE === 'full';
const AGENTS = Number(process.env.CANH_HA_AGENTS ?? (FULL ? 30 : 6));
const INFLUX_DOWN_MS = Number(process.env.CANH_HA_INFLUX_DOWN_SECONDS ?? (FULL ? 120 : 6)) * 1000;
const root = new URL('..', import.meta.url).pathname;
const log = pino({ level: process.env.CANH_TEST_LOG ?? 'silent' });

interface CollectorProc {
  name: string;
  port: number;
  url: string;
  config: string;
  stateDir: string;
  proc: ManagedProcess;
}
interface AgentRun {
  name: string;
  token: string;
  audit: string;
  agent: Agent;
}

let dir: string;
let influxA: Influxd;
let influxB: Influxd;
const collectors: CollectorProc[] = [];
const agents: AgentRun[] = [];
let lbToken = '';
let nginx: ManagedProcess | undefined;
let lbAgent: Agent | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

async function startCollector(c: Omit<CollectorProc, 'proc' | 'url'>): Promise<CollectorProc> {
  const proc = spawnManaged(process.execPath, [join(root, 'collector/src/cli.ts'), 'serve', '--config', c.config], {
    name: `collector-${c.name}`,
    ringSize: 200,
  });
  await pollUntil(async () => ((await fetch(`http://127.0.0.1:${c.port}/healthz`, { signal: AbortSignal.timeout(2000) })).status > 0 ? true : undefined), {
    timeoutMs: 30_000,
    what: `collector ${c.name} answering /healthz`,
    abortIf: () => (proc.running ? undefined : proc.describe()),
  });
  return { ...c, proc, url: `ws://127.0.0.1:${c.port}/v1/agent` };
}

interface Health {
  agents_connected?: number;
  influx_targets?: { write_quorum: number; targets: { name: string; healthy: boolean; spooled_records: number; queued_lines: number; lost_lines: number }[] };
}
async function health(c: CollectorProc): Promise<Health> {
  return (await (await fetch(`http://127.0.0.1:${c.port}/healthz`, { signal: AbortSignal.timeout(5000) })).json()) as Health;
}

function agentConfig(name: string, token: string, urls: string[], audit: string) {
  return parseConfig(
    {
      collector: { urls, token, reconnect_min: 200, reconnect_max: 2000, ping_interval: '2s' },
      agent: { interval: '1s', flush_interval: 100, state_dir: join(dir, 'agents', name), hostname: name, audit_file: audit },
      inputs: [{ type: 'mem' }],
    },
    { env: {} },
  );
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

/** Every mem point an InfluxDB holds for a host, keyed as the audit keys them (collector tags left out). */
async function stored(influx: Influxd, host: string): Promise<{ keys: Set<string>; rows: number }> {
  const res = await influx.query(`SELECT * FROM mem WHERE host = '${host}' GROUP BY *`, 'canh');
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

async function countMem(influx: Influxd): Promise<number> {
  const r = await influx.query('SELECT count("total") FROM mem', 'canh');
  return Number(r.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
}

const totalAcked = () => agents.reduce((n, a) => n + a.agent.transport.acked, 0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canh-ha-storage-'));
  [influxA, influxB] = await Promise.all([startInfluxd(), startInfluxd()]);
  const specs: Omit<CollectorProc, 'proc' | 'url'>[] = [];
  for (const name of ['a', 'b']) {
    const port = await freePort();
    const stateDir = join(dir, `collector-${name}`);
    const config = join(dir, `collector-${name}.yaml`);
    writeFileSync(
      config,
      JSON.stringify({
        listen: { host: '127.0.0.1', port },
        state_dir: stateDir,
        log_level: 'warn',
        influx: {
          database: 'canh',
          flush_interval: '100ms',
          timeout: '2s',
          targets: [
            { name: 'influx-a', url: influxA.url },
            { name: 'influx-b', url: influxB.url },
          ],
        },
        liveness: { ping_interval: '1s', offline_after: '3s' },
      }),
    );
    specs.push({ name, port, config, stateDir });
  }
  // One registry for both, by copy (see the head of this file).
  const registry = openRegistry(specs[0]!.stateDir);
  const tokens: { name: string; token: string }[] = [];
  try {
    for (let i = 0; i < AGENTS; i++) {
      const name = `ha-host-${String(i).padStart(2, '0')}`;
      tokens.push({ name, token: registry.add({ name, agency: `so-${i % 3}`, site: 'dc' }).token });
    }
    lbToken = registry.add({ name: 'via-nginx', agency: 'so-lb', site: 'dc' }).token;
  } finally {
    registry.close();
  }
  mkdirSync(specs[1]!.stateDir, { recursive: true, mode: 0o750 });
  for (const f of ['collector.db', 'collector.db-wal']) {
    if (existsSync(join(specs[0]!.stateDir, f))) copyFileSync(join(specs[0]!.stateDir, f), join(specs[1]!.stateDir, f));
  }
  for (const s of specs) collectors.push(await startCollector(s));
  const urls = collectors.map((c) => c.url);
  for (const { name, token } of tokens) {
    const audit = join(dir, `${name}.audit`);
    const agent = new Agent(agentConfig(name, token, urls, audit), { log: log.child({ agent: name }) });
    await agent.start();
    agents.push({ name, token, audit, agent });
  }
}, 180_000);

afterAll(async () => {
  await lbAgent?.stop().catch(() => {});
  await nginx?.stop();
  for (const a of agents) await a.agent.stop().catch(() => {});
  for (const c of collectors) await c.proc.stop(10_000);
  await influxA?.stop();
  await influxB?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe(`HA storage and agent failover (${AGENTS} agents, an influxd down ${INFLUX_DOWN_MS / 1000} s)`, () => {
  let survivor: CollectorProc;

  it('kill -9 of the collector holding the most agents: all of them send through the other', async () => {
    await pollUntil(async () => (agents.every((a) => a.agent.transport.connectionState === 'connected') ? true : undefined), {
      timeoutMs: 60_000,
      what: 'every agent connected',
    });
    const on = (c: CollectorProc) => agents.filter((a) => a.agent.transport.url === c.url).length;
    const [victim, other] = on(collectors[0]!) >= on(collectors[1]!) ? [collectors[0]!, collectors[1]!] : [collectors[1]!, collectors[0]!];
    survivor = other;
    const moved = agents.filter((a) => a.agent.transport.url === victim.url);
    console.log(`agents per collector before: ${collectors.map((c) => `${c.name} ${on(c)}`).join(', ')}; killing ${victim.name} (kill -9)`);
    await sleep(2000);
    const acked0 = totalAcked();
    await victim.proc.kill9();
    const t0 = performance.now();
    await pollUntil(
      async () => (agents.every((a) => a.agent.transport.url === survivor.url && a.agent.transport.connectionState === 'connected') ? true : undefined),
      {
        timeoutMs: 60_000,
        what: `every agent connected to collector ${survivor.name}`,
      },
    );
    console.log(`all ${moved.length} agents of collector ${victim.name} connected to ${survivor.name} ${seconds(t0)} s after the kill`);
    // And they are acked there: every agent's spool empties again.
    await pollUntil(async () => (agents.every((a) => a.agent.spool.stats().batches <= 2) && totalAcked() > acked0 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'spools drained into the survivor',
    });
    console.log(`their spools drained into ${survivor.name} ${seconds(t0)} s after the kill`);
    expect(moved.every((a) => a.agent.transport.failovers >= 1)).toBe(true);
    expect((await health(survivor)).agents_connected).toBe(AGENTS);
  }, 180_000);

  it(
    `one influxd stopped: the other keeps serving, and the stopped one catches up after its return`,
    async () => {
      const countA0 = await countMem(influxA);
      const acked0 = totalAcked();
      await influxB.kill9();
      const t0 = performance.now();
      console.log(`influxd B stopped (kill -9) for ${INFLUX_DOWN_MS / 1000} s`);
      await sleep(INFLUX_DOWN_MS);
      // Served all along: acks went on, influxd A took the points, B's share waits in the spool.
      const countA1 = await countMem(influxA);
      const h = await health(survivor);
      const b = h.influx_targets?.targets.find((t) => t.name === 'influx-b');
      console.log(
        `while B was down: ${totalAcked() - acked0} batches acked, influxd A count(total) ${countA0} → ${countA1}; collector ${survivor.name}'s spool for B holds ${b?.spooled_records} records (B healthy: ${b?.healthy})`,
      );
      expect(totalAcked() - acked0).toBeGreaterThan(AGENTS);
      expect(countA1).toBeGreaterThan(countA0);
      expect(b?.spooled_records).toBeGreaterThan(0);
      expect(h.influx_targets?.write_quorum).toBe(2);

      await influxB.restart();
      const t1 = performance.now();
      await pollUntil(
        async () => ((await health(survivor)).influx_targets?.targets.find((t) => t.name === 'influx-b')?.spooled_records === 0 ? true : undefined),
        {
          timeoutMs: 180_000,
          intervalMs: 250,
          what: "the survivor's spool for influxd B drained",
        },
      );
      console.log(
        `influxd B back after ${seconds(t0)} s; its backlog drained ${seconds(t1)} s after its return; B count(total) ${await countMem(influxB)}, A ${await countMem(influxA)}`,
      );
    },
    INFLUX_DOWN_MS + 300_000,
  );

  it('nothing lost, nothing stored twice: each InfluxDB holds exactly what every agent audited, count() equal on both', async () => {
    for (const a of agents) await a.agent.stop();
    // Whatever an agent's stop left unacked would be in its spool: there is none.
    expect(agents.map((a) => a.agent.spool.stats().batches)).toEqual(agents.map(() => 0));
    await pollUntil(
      async () => ((await health(survivor)).influx_targets?.targets.every((t) => t.spooled_records === 0 && t.queued_lines === 0) ? true : undefined),
      {
        timeoutMs: 60_000,
        what: "the survivor's spools empty",
      },
    );
    let audit = 0;
    const problems: string[] = [];
    for (const a of agents) {
      const expected = audited(a.audit);
      audit += expected.size;
      for (const [label, influx] of [
        ['A', influxA],
        ['B', influxB],
      ] as const) {
        const got = await stored(influx, a.name);
        const missing = [...expected].filter((k) => !got.keys.has(k)).length;
        const extra = [...got.keys].filter((k) => !expected.has(k)).length;
        if (missing || extra || got.rows !== got.keys.size)
          problems.push(`${a.name} on ${label}: ${missing} missing, ${extra} not audited, ${got.rows} rows for ${got.keys.size} keys`);
      }
    }
    const [ca, cb] = [await countMem(influxA), await countMem(influxB)];
    const lost = (await health(survivor)).influx_targets?.targets.map((t) => t.lost_lines);
    console.log(
      `audited ${audit} mem points from ${AGENTS} agents; count(total) on influxd A ${ca}, on B ${cb}; lost lines per target ${JSON.stringify(lost)}; problems: ${problems.length ? problems.join('; ') : 'none'}`,
    );
    expect(audit).toBeGreaterThan(AGENTS * 5);
    expect(problems).toEqual([]);
    expect(ca).toBe(audit);
    expect(cb).toBe(ca);
    expect(lost).toEqual([0, 0]);
  }, 180_000);

  it('an nginx stream upstream over both collectors passes nginx -t and carries an agent to the live one', async () => {
    const lbDir = join(dir, 'nginx');
    mkdirSync(lbDir, { recursive: true });
    chmodSync(lbDir, 0o755);
    const port = await freePort();
    const conf = join(lbDir, 'nginx.conf');
    writeFileSync(
      conf,
      streamConf(
        lbDir,
        port,
        collectors.map((c) => c.port),
      ),
    );
    const t = execFileSync('nginx', ['-t', '-c', conf, '-p', lbDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(t).toBe('');
    nginx = spawnManaged('nginx', ['-c', conf, '-p', lbDir, '-g', 'daemon off;'], { name: 'nginx' });
    const audit = join(dir, 'via-nginx.audit');
    lbAgent = new Agent(agentConfig('via-nginx', lbToken, [`ws://127.0.0.1:${port}/v1/agent`], audit), { log: log.child({ agent: 'via-nginx' }) });
    await lbAgent.start();
    // One of the two upstreams is dead (the kill above): nginx passes the connection on to the other.
    await pollUntil(async () => ((await stored(influxA, 'via-nginx')).keys.size >= 3 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'points of the agent behind nginx in InfluxDB',
    });
    await lbAgent.stop();
    const expected = audited(audit);
    const got = await stored(influxB, 'via-nginx');
    console.log(`agent through nginx stream: ${expected.size} points audited, ${got.keys.size} on influxd B, connections ${lbAgent.transport.connects}`);
    expect([...expected].every((k) => got.keys.has(k))).toBe(true);
  }, 120_000);
});

/** nginx as a TCP load balancer in front of the collectors (the config docs/operating/ha.md shows). */
function streamConf(prefix: string, listen: number, upstreams: number[]): string {
  return `
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 256; }
stream {
  upstream canh_collectors {
    least_conn;
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${listen};
    proxy_pass canh_collectors;
    proxy_connect_timeout 2s;
    proxy_timeout 10m;
  }
}
`;
}

describe('Grafana provisioning for two InfluxDB nodes', () => {
  it('keeps the uid the dashboards use on node A and adds node B with its own URL and credentials', () => {
    const file = join(root, 'deploy/grafana/ha/datasources-two-influxdb.yaml');
    const doc = parseYaml(readFileSync(file, 'utf8')) as {
      datasources: { uid: string; url: string; isDefault: boolean; user: string; type: string; jsonData: { dbName: string } }[];
    };
    const [a, b] = doc.datasources;
    expect(doc.datasources).toHaveLength(2);
    expect(a!.uid).toBe(DATASOURCE_UID);
    expect(a!.isDefault).toBe(true);
    expect(b!.uid).not.toBe(DATASOURCE_UID);
    expect([a!.type, b!.type]).toEqual(['influxdb', 'influxdb']);
    expect(a!.url).toContain('CANH_INFLUXDB_URL:-');
    expect(b!.url).toContain('CANH_INFLUXDB_URL_B:-');
    expect(b!.user).toContain('CANH_INFLUXDB_USER_B');
    expect(a!.jsonData.dbName).toBe(b!.jsonData.dbName);
  });
});

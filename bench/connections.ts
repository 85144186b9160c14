// bench:connections — BENCH_CONNECTIONS agents (default 10,000) connected at once to
// one collector process, each sending one batch (15 points, one host's cycle) every
// 10 s at its own phase, then a reconnect storm: the collector is killed (SIGKILL),
// stays down BENCH_OUTAGE_SECONDS, and is started again; the agents come back with
// the agent's own jittered backoff (1 s doubling to 60 s) and send what they spooled.
//
// Targets: all connected; p99 from batch sent to ack < 1 s; collector RSS < 1 GiB.
// Reported: how long until all are connected again and every spool is drained.
//
// Telling the collector from its load generators: beside the latency the agents measure,
// each generator's CPU and event-loop lag are printed, and the collector's own figure —
// from a batch's last byte read to its ack written (its batch_ack_ms histogram in
// /healthz, the difference over the phase). When a generator is saturated (a whole core,
// or its event loop late by more than GENERATOR_LAG_MS) or the machine has no idle CPU
// left, a missed latency or ramp target is reported INCONCLUSIVE, not MISSED: the figures
// then say more about the harness than about Canh.
//
// Two collectors (BENCH_CONN_COLLECTORS=2): the agents hold both URLs (collector.urls, as
// canh-agent does: a random start, stick, the next one on failure); after the steady phase
// the collector holding the most agents is killed (SIGKILL) and the time until all of
// its agents are connected to, and acked by, the other is reported (target < 90 s). The
// collectors share their state in a private PostgreSQL (test/helpers/postgres.ts): the
// agents are registered in a SQLite registry and moved there by `canh-collector state
// migrate --to postgres`, as a site growing to a second collector would. Printed besides:
// each collector's RSS, the PostgreSQL connections each holds (pg_stat_activity, by
// application_name), its state writer's queue, and the new leader after the kill.
//
// Env: BENCH_CONNECTIONS (10000) BENCH_CONN_WORKERS (4 load-generator processes, each
//      bound to its own 127.0.0.x source address) BENCH_CONNECT_RATE (1000/s total)
//      BENCH_STEADY_SECONDS (60) BENCH_OUTAGE_SECONDS (10) BENCH_STORM_TIMEOUT (180)
//      BENCH_FORM (rows, as canh-agent sends batches; `points` for the other spelling)
//      BENCH_CONN_COLLECTORS (1, or 2) BENCH_FAILOVER_TIMEOUT (180 s)
//      BENCH_SETTLE_SECONDS (60: after the ramp, the longest wait for the collectors'
//      InfluxDB queues to drain, so the ramp's backlog is not counted as steady latency)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { productionDataConfig } from './lib/influx-config.ts';
import { startInfluxd } from '../test/helpers/influxd.ts';
import { startPostgres, type Postgres } from '../test/helpers/postgres.ts';
import { startSmtpServer } from '../test/helpers/smtp.ts';
import { freePort } from '../test/helpers/ports.ts';
import { cpuOf, cpuTreeOf, envInt, finish, fmt, mergeHist, MiB, percentile, RssWatch } from './lib/proc.ts';
import { registerAgents, root, sleep, startCollector, startWorker, type CollectorProc, type Worker } from './lib/harness.ts';
import { SERIES_PER_HOST } from './lib/points.ts';
import { percentileBetween, type AckHistogramSnapshot } from '../collector/src/ack-histogram.ts';

const N = envInt('BENCH_CONNECTIONS', 10_000);
const WORKERS = Math.max(1, Math.min(envInt('BENCH_CONN_WORKERS', 4), N));
const CONNECT_RATE = envInt('BENCH_CONNECT_RATE', 1000);
const STEADY = envInt('BENCH_STEADY_SECONDS', 60);
const OUTAGE = envInt('BENCH_OUTAGE_SECONDS', 10);
const STORM_TIMEOUT = envInt('BENCH_STORM_TIMEOUT', 180);
const INTERVAL_MS = 10_000;
const COLLECTORS = Math.max(1, Math.min(envInt('BENCH_CONN_COLLECTORS', 1), 2));
const FAILOVER_TIMEOUT = envInt('BENCH_FAILOVER_TIMEOUT', 180);
/** A generator whose event loop runs this late (p99 over a second) measures its own delay. */
const GENERATOR_LAG_MS = envInt('BENCH_GENERATOR_LAG_MS', 100);
/** A generator using this share of one core, or a machine with less idle CPU than MACHINE_IDLE_MIN, is saturated. */
const GENERATOR_CPU_MAX = 0.85;
const MACHINE_IDLE_MIN = 0.05;
/** Longest wait after the ramp for the collectors' InfluxDB queues to drain before the steady phase. */
const SETTLE_MAX_S = envInt('BENCH_SETTLE_SECONDS', 60);

/** Idle share of the whole machine between two /proc/stat readings. */
function machineCpu(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: (f[3] ?? 0) + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}

/** What the load generators did during a phase: CPU share of one core and event-loop lag, per generator. */
class GeneratorWatch {
  private readonly cpu0: number[];
  private readonly at0 = Date.now();
  private readonly machine0 = machineCpu();
  readonly lagP99: number[];
  readonly lagMax: number[];
  private readonly workers: Worker[];
  constructor(workers: Worker[]) {
    this.workers = workers;
    this.cpu0 = workers.map((w) => w.last?.cpuMs ?? 0);
    this.lagP99 = workers.map(() => 0);
    this.lagMax = workers.map(() => 0);
  }
  /** Fold in a status line of worker i. */
  seen(i: number, s: { loopLagP99Ms?: number; loopLagMaxMs?: number }): void {
    this.lagP99[i] = Math.max(this.lagP99[i]!, s.loopLagP99Ms ?? 0);
    this.lagMax[i] = Math.max(this.lagMax[i]!, s.loopLagMaxMs ?? 0);
  }
  summary(): { cpu: number[]; machineIdle: number; saturated: string | undefined; machineBusy: boolean; line: string } {
    const secs = Math.max(1, Date.now() - this.at0);
    const cpu = this.workers.map((w, i) => ((w.last?.cpuMs ?? 0) - this.cpu0[i]!) / secs);
    const m = machineCpu();
    const machineIdle = (m.idle - this.machine0.idle) / Math.max(1, m.total - this.machine0.total);
    const why: string[] = [];
    cpu.forEach((c, i) => c >= GENERATOR_CPU_MAX && why.push(`generator ${i} used ${(c * 100).toFixed(0)} % of a core`));
    this.lagP99.forEach((l, i) => l > GENERATOR_LAG_MS && why.push(`generator ${i}'s event loop ran up to ${l} ms late (p99 of a second)`));
    if (machineIdle < MACHINE_IDLE_MIN) why.push(`the machine had ${(machineIdle * 100).toFixed(1)} % idle CPU`);
    const line = `load generators: CPU ${cpu.map((c) => `${(c * 100).toFixed(0)} %`).join(', ')} of a core; event-loop lag p99 ${this.lagP99.join(', ')} ms, max ${this.lagMax.join(', ')} ms; machine idle ${(machineIdle * 100).toFixed(0)} %${why.length ? ` — SATURATED: ${why.join('; ')}` : ''}`;
    return { cpu, machineIdle, saturated: why.length ? why.join('; ') : undefined, machineBusy: machineIdle < MACHINE_IDLE_MIN, line };
  }
}

async function ackHistogram(port: number): Promise<AckHistogramSnapshot | undefined> {
  const h = (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) })
    .then((r) => r.json())
    .catch(() => ({}))) as { batch_ack_ms?: AckHistogramSnapshot };
  return h.batch_ack_ms;
}
/**
 * Wait (up to SETTLE_MAX_S) until every collector's InfluxDB queue is below one request's
 * worth, so the ramp's backlog is not counted as steady-state latency; says how long it took.
 */
async function settle(ports: number[]): Promise<string> {
  const t0 = performance.now();
  let queued: number[] = [];
  while (performance.now() - t0 < SETTLE_MAX_S * 1000) {
    queued = await Promise.all(
      ports.map((p) =>
        fetch(`http://127.0.0.1:${p}/healthz`, { signal: AbortSignal.timeout(10_000) })
          .then((r) => r.json() as Promise<{ influx?: { queued_lines?: number } }>)
          .then((h) => h.influx?.queued_lines ?? Infinity)
          .catch(() => Infinity),
      ),
    );
    if (queued.every((q) => q < 5000)) return `the ramp's InfluxDB backlog drained ${((performance.now() - t0) / 1000).toFixed(1)} s after the settle pause`;
    await sleep(1000);
  }
  return `the ramp's InfluxDB backlog NOT drained within ${SETTLE_MAX_S} s (queues ${queued.join(', ')} lines): steady starts with it`;
}

/** Write requests the collector made to InfluxDB and the lines they carried (its /healthz). */
async function influxRequests(port: number): Promise<{ requests: number; lines: number }> {
  const h = (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) })
    .then((r) => r.json())
    .catch(() => ({}))) as { influx?: { requests?: number; written_lines?: number } };
  return { requests: h.influx?.requests ?? 0, lines: h.influx?.written_lines ?? 0 };
}
const ms = (v: number | undefined) => (v === undefined ? '?' : v === Infinity ? '> 30000' : `≤ ${v}`);

const total = (workers: Worker[], k: 'welcomed' | 'spooled' | 'ackedBatches' | 'errors' | 'connects' | 'rssBytes') =>
  workers.reduce((n, w) => n + (w.last?.[k] ?? 0), 0);
const oldest = (workers: Worker[]) => Math.max(...workers.map((w) => w.last?.oldestUnackedMs ?? Infinity));

async function waitFor(cond: () => boolean, timeoutMs: number, workers: Worker[], collector?: CollectorProc): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    const dead = workers.find((w) => !w.proc.running);
    if (dead) throw new Error(`load generator died: ${dead.proc.describe()}`);
    if (collector && !collector.proc.running) throw new Error(`collector died: ${collector.proc.describe()}`);
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canh-bench-conn-'));
  const influx = await startInfluxd({ dataConfig: productionDataConfig() });
  const workers: Worker[] = [];
  let collector: CollectorProc | undefined;
  try {
    const stateDir = join(dir, 'collector');
    let t = performance.now();
    const agents = registerAgents(stateDir, N);
    const registerSeconds = (performance.now() - t) / 1000;
    console.log(`registered ${fmt(N)} agents (SqliteRegistry.add, one transaction) in ${registerSeconds.toFixed(1)} s`);

    const port = await freePort();
    const config = { listen: { host: '127.0.0.1', port }, state_dir: stateDir, influx: { url: influx.url, database: 'canh' } };
    const nofile = N + 4096;
    collector = await startCollector(dir, config, { port, nofile });
    let rss = new RssWatch(collector.pid);
    const per = Math.ceil(N / WORKERS);
    for (let w = 0; w < WORKERS; w++) {
      const slice = agents.slice(w * per, (w + 1) * per);
      if (!slice.length) continue;
      workers.push(
        startWorker(
          dir,
          w,
          {
            url: collector.url,
            localAddress: `127.0.0.${10 + w}`,
            agents: slice,
            mode: 'periodic',
            window: 8,
            connectRate: CONNECT_RATE / WORKERS,
            reconnectMinMs: 1000,
            reconnectMaxMs: 60_000,
            base: 0,
            batchCycles: 1,
            floodMs: 0,
            intervalMs: INTERVAL_MS,
            maxSeconds: N / CONNECT_RATE + STEADY + OUTAGE + STORM_TIMEOUT + 120,
            form: process.env.BENCH_FORM === 'points' ? 'points' : 'rows',
          },
          per + 1024,
        ),
      );
    }
    // Ack latencies, by phase.
    let phase: 'ramp' | 'steady' | 'storm' = 'ramp';
    const hist = { ramp: new Map<number, number>(), steady: new Map<number, number>(), storm: new Map<number, number>() };
    let watch = new GeneratorWatch(workers);
    workers.forEach((w, i) => {
      w.onStatus = (s) => {
        mergeHist(hist[phase], s.hist);
        watch.seen(i, s);
      };
    });

    t = performance.now();
    const allIn = await waitFor(() => total(workers, 'welcomed') === N, (N / CONNECT_RATE) * 1000 + 60_000, workers, collector);
    const rampSeconds = (performance.now() - t) / 1000;
    console.log(
      `${allIn ? 'all' : 'NOT all'} ${fmt(total(workers, 'welcomed'))} agents connected after ${rampSeconds.toFixed(1)} s; collector RSS ${fmt(rss.last / MiB)} MiB`,
    );
    const ramp = watch.summary();
    console.log(`  ramp ${ramp.line}`);

    // Steady state: every agent sends a batch every 10 s.
    await sleep(INTERVAL_MS); // let the ramp's backlog settle
    console.log(`  ${await settle([port])}`);
    phase = 'steady';
    watch = new GeneratorWatch(workers);
    const ack0 = await ackHistogram(port);
    const req0 = await influxRequests(port);
    const c0 = cpuOf(collector.pid);
    // influxd shares the machine: its CPU in the steady phase, beside the collector's.
    const influxTree = () => {
      const t = cpuTreeOf(influx.process.pid!);
      return { ms: t.selfMs + t.childrenMs + t.liveChildrenMs, at: t.at };
    };
    const i0 = influxTree();
    const minWelcomed = { n: N };
    const watchMin = setInterval(() => (minWelcomed.n = Math.min(minWelcomed.n, total(workers, 'welcomed'))), 500);
    for (let s = 0; s < STEADY; s += 10) {
      await sleep(Math.min(10, STEADY - s) * 1000);
      const h0 = performance.now();
      const health = (await fetch(`http://127.0.0.1:${port}/healthz`)
        .then((r) => r.json())
        .catch(() => ({}))) as { influx?: { queued_lines?: number } };
      const healthMs = performance.now() - h0;
      console.log(
        `  steady t+${Math.min(s + 10, STEADY)} s: ${fmt(total(workers, 'welcomed'))} connected, p99 ${percentile(hist.steady, 99)} ms, collector RSS ${fmt(rss.last / MiB)} MiB, /healthz answered in ${healthMs.toFixed(0)} ms (InfluxDB queue ${health.influx?.queued_lines ?? '?'} lines)`,
      );
    }
    clearInterval(watchMin);
    const ack1 = await ackHistogram(port);
    const req1 = await influxRequests(port);
    const gen = watch.summary();
    const collectorP50 = ack1 ? percentileBetween(ack0, ack1, 50) : undefined;
    const collectorP99 = ack1 ? percentileBetween(ack0, ack1, 99) : undefined;
    const c1 = cpuOf(collector.pid);
    const steadyCpu = (c1.selfMs - c0.selfMs) / (c1.at - c0.at);
    const i1 = influxTree();
    const influxCpu = (i1.ms - i0.ms) / Math.max(1, i1.at - i0.at);
    const steadyRssMax = rss.max;
    const steadyBatches = [...hist.steady.values()].reduce((a, b) => a + b, 0);
    phase = 'storm';

    // Reconnect storm: the collector dies and comes back.
    console.log(`killing the collector (SIGKILL); down for ${OUTAGE} s`);
    rss.stop();
    await collector.proc.kill9();
    await waitFor(() => total(workers, 'welcomed') === 0, 30_000, workers);
    await sleep(OUTAGE * 1000);
    collector = await startCollector(dir, config, { port, nofile });
    rss = new RssWatch(collector.pid);
    t = performance.now();
    const back = await waitFor(() => total(workers, 'welcomed') === N, STORM_TIMEOUT * 1000, workers, collector);
    const reconnectSeconds = (performance.now() - t) / 1000;
    console.log(`${back ? 'all' : 'NOT all'} agents connected again ${reconnectSeconds.toFixed(1)} s after the restart`);
    await sleep(1500); // a fresh status line from every worker
    const drained = await waitFor(() => oldest(workers) < 2000, Math.max(1000, STORM_TIMEOUT * 1000 - (performance.now() - t)), workers, collector);
    const drainSeconds = (performance.now() - t) / 1000;
    const stormRssMax = rss.max;
    rss.stop();

    finish(
      'bench:connections',
      [
        ...scaleNote(),
        `agents ${fmt(N)} in ${workers.length} processes (127.0.0.10-${9 + workers.length}), one ${SERIES_PER_HOST}-point batch per agent every 10 s; registered in ${registerSeconds.toFixed(1)} s; ramp at ${fmt(CONNECT_RATE)}/s took ${rampSeconds.toFixed(1)} s`,
        `steady ${STEADY} s: ${fmt(minWelcomed.n)} of ${fmt(N)} connected at the lowest; ${fmt(steadyBatches)} batches; ack latency p50 ${percentile(hist.steady, 50)} ms, p99 ${percentile(hist.steady, 99)} ms, max ${percentile(hist.steady, 100)} ms`,
        `collector's own batch last byte → ack (batch_ack_ms): p50 ${ms(collectorP50)} ms, p99 ${ms(collectorP99)} ms over ${fmt((ack1?.count ?? 0) - (ack0?.count ?? 0))} batches`,
        `steady ${gen.line}`,
        `collector → InfluxDB (steady): ${fmt((req1.requests - req0.requests) / STEADY, 1)} requests/s, ${fmt((req1.lines - req0.lines) / Math.max(1, req1.requests - req0.requests))} lines each; influxd ${fmt(((i1.ms - i0.ms) * 1000) / Math.max(1, req1.lines - req0.lines), 1)} µs CPU per line (${
          productionDataConfig()
            .trim()
            .replace(/\s*\n\s*/g, ', ') || "the helper's defaults"
        })`,
        `collector: CPU ${(steadyCpu * 100).toFixed(0)} % of one core (influxd ${(influxCpu * 100).toFixed(0)} %), RSS max ${fmt(steadyRssMax / MiB)} MiB (steady), ${fmt(stormRssMax / MiB)} MiB (after restart); load generators RSS ${fmt(total(workers, 'rssBytes') / MiB)} MiB`,
        `reconnect storm (collector SIGKILL, down ${OUTAGE} s): all connected again ${back ? `after ${reconnectSeconds.toFixed(1)} s` : 'NOT within the timeout'}, spools drained ${drained ? `after ${drainSeconds.toFixed(1)} s` : 'NOT within the timeout'}; storm ack latency p99 ${percentile(hist.storm, 99)} ms`,
      ],
      [
        {
          what: `all ${fmt(N)} agents connected (lowest during steady state ${fmt(minWelcomed.n)})`,
          ok: allIn && minWelcomed.n === N,
          inconclusive: !allIn && ramp.saturated ? `the load generators were saturated during the ramp (${ramp.saturated})` : gen.saturated,
        },
        {
          what: `p99 batch sent → ack < 1 s (${percentile(hist.steady, 99)} ms; the collector's own part p99 ${ms(collectorP99)} ms)`,
          ok: percentile(hist.steady, 99) < 1000,
          // A miss the collector's own histogram does not show, while a generator was saturated, is the
          // harness's; with no idle CPU on the machine at all, even the collector's own figure is not its own.
          inconclusive:
            gen.saturated && (gen.machineBusy || !(collectorP99 !== undefined && collectorP99 >= 1000))
              ? `the load generators were saturated (${gen.saturated})`
              : undefined,
        },
        { what: `collector RSS < 1 GiB (${fmt(Math.max(steadyRssMax, stormRssMax) / MiB)} MiB)`, ok: Math.max(steadyRssMax, stormRssMax) < 1024 * MiB },
        { what: `after the storm all reconnected and spools drained within ${STORM_TIMEOUT} s`, ok: back && drained },
      ],
    );
  } finally {
    for (const w of workers) await w.proc.stop(2000);
    await collector?.proc.stop(10_000);
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The issue's figures are for 10,000 agents (one collector, or 5,000 on each of two): a smaller run says so first. */
function scaleNote(): string[] {
  const full = 10_000;
  return N < full
    ? [
        `REDUCED SCALE: ${fmt(N)} agents (${COLLECTORS === 2 ? `${fmt(N / 2)} per collector; ` : ''}the issue's figure is ${fmt(full)}${COLLECTORS === 2 ? ', 5,000 each' : ''}): the targets below are judged at this scale only`,
      ]
    : [];
}

/** Two collectors, agents holding both URLs; kill the busier one and time the move to the other. */
async function mainTwo(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canh-bench-conn2-'));
  const [influx, pg, smtp] = await Promise.all([startInfluxd({ dataConfig: productionDataConfig() }), startPostgres(), startSmtpServer()]);
  const workers: Worker[] = [];
  const collectors: CollectorProc[] = [];
  const rss: RssWatch[] = [];
  let pgWatch: PgConnWatch | undefined;
  try {
    const pgUrl = await pg.createDatabase('canh_bench');
    const pgVersion = (await pg.query<{ server_version: string }>('SHOW server_version'))[0]?.server_version ?? '?';
    const ids = ['bench-a', 'bench-b'];
    const cfgOf = (i: number, port: number) => ({
      listen: { host: '127.0.0.1', port },
      state_dir: join(dir, `collector-${i}`),
      influx: { url: influx.url, database: 'canh' },
      state: { postgres: { url: pgUrl, password_file: pg.passwordFile, collector_id: ids[i] } },
      // The shipped rules, as in a province: host rules on each agent's collector, the rest on the leader.
      alerting: {
        recipients: [{ email: 'soc@tinh.gov.vn', language: 'en' }],
        smtp: { host: smtp.host, port: smtp.port, security: 'none', from: 'Canh <canh@tinh.gov.vn>' },
      },
    });
    let t = performance.now();
    const agents = registerAgents(join(dir, 'collector-0'), N);
    const registerSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const migrateCfg = join(dir, 'migrate.yaml');
    writeFileSync(migrateCfg, JSON.stringify(cfgOf(0, 1)));
    execFileSync(process.execPath, [join(root, 'collector/src/cli.ts'), 'state', 'migrate', '--to', 'postgres', '--config', migrateCfg], { stdio: 'pipe' });
    const migrateSeconds = (performance.now() - t) / 1000;
    console.log(`registered ${fmt(N)} agents in SQLite in ${registerSeconds.toFixed(1)} s; state migrate --to postgres took ${migrateSeconds.toFixed(1)} s`);
    const nofile = N + 4096;
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const cdir = join(dir, `run-${i}`);
      mkdirSync(cdir);
      collectors.push(await startCollector(cdir, cfgOf(i, port), { port, nofile }));
      rss.push(new RssWatch(collectors[i]!.pid));
    }
    pgWatch = new PgConnWatch(pg, 'canh_bench');
    const urls = collectors.map((c) => c.url);
    const per = Math.ceil(N / WORKERS);
    for (let w = 0; w < WORKERS; w++) {
      const slice = agents.slice(w * per, (w + 1) * per);
      if (!slice.length) continue;
      const cfg = {
        url: urls[0]!,
        urls,
        localAddress: `127.0.0.${10 + w}`,
        agents: slice,
        mode: 'periodic' as const,
        window: 8,
        connectRate: CONNECT_RATE / WORKERS,
        reconnectMinMs: 1000,
        reconnectMaxMs: 60_000,
        base: 0,
        batchCycles: 1,
        floodMs: 0,
        intervalMs: INTERVAL_MS,
        maxSeconds: N / CONNECT_RATE + STEADY + FAILOVER_TIMEOUT + 120,
        form: process.env.BENCH_FORM === 'points' ? ('points' as const) : ('rows' as const),
      };
      workers.push(startWorker(dir, w, cfg, per + 1024));
    }
    let phase: 'ramp' | 'steady' | 'failover' = 'ramp';
    const hist = { ramp: new Map<number, number>(), steady: new Map<number, number>(), failover: new Map<number, number>() };
    let watch = new GeneratorWatch(workers);
    workers.forEach((w, i) => {
      w.onStatus = (s) => {
        mergeHist(hist[phase], s.hist);
        watch.seen(i, s);
      };
    });
    const on = (url: string) => workers.reduce((n, w) => n + (w.last?.welcomedBy?.[url] ?? 0), 0);

    t = performance.now();
    const allIn = await waitFor(() => total(workers, 'welcomed') === N, (N / CONNECT_RATE) * 1000 + 60_000, workers);
    const rampSeconds = (performance.now() - t) / 1000;
    const ramp = watch.summary();
    console.log(`${allIn ? 'all' : 'NOT all'} ${fmt(total(workers, 'welcomed'))} agents connected after ${rampSeconds.toFixed(1)} s`);
    console.log(`  ramp ${ramp.line}`);
    await sleep(INTERVAL_MS);
    console.log(`  ${await settle(collectors.map((c) => c.port))}`);
    phase = 'steady';
    watch = new GeneratorWatch(workers);
    const ack0 = await Promise.all(collectors.map((c) => ackHistogram(c.port)));
    const in0 = { ...pgWatch.inputs, at: performance.now() };
    const cpu0 = collectors.map((c) => cpuOf(c.pid));
    // PostgreSQL (the postmaster and its backends) and influxd share the machine: their CPU too.
    const treeMs = (pid: number | undefined) => {
      if (!pid) return { ms: 0, at: Date.now() };
      const t = cpuTreeOf(pid);
      return { ms: t.selfMs + t.childrenMs + t.liveChildrenMs, at: t.at };
    };
    const side0 = [treeMs(pg.process.pid), treeMs(influx.process.pid)];
    for (let s = 0; s < STEADY; s += 10) {
      await sleep(Math.min(10, STEADY - s) * 1000);
      const cl = await Promise.all(collectors.map((c) => clusterOf(c.port)));
      console.log(
        `  steady t+${Math.min(s + 10, STEADY)} s: ${fmt(total(workers, 'welcomed'))} connected, p99 ${percentile(hist.steady, 99)} ms, RSS ${rss.map((r, i) => `${i ? 'B' : 'A'} ${fmt(r.last / MiB)} MiB`).join(', ')}, PostgreSQL connections ${pgWatch.line()}, state writes queued ${cl.map((c) => c?.state?.queued ?? '?').join(' / ')}`,
      );
    }
    const ack1 = await Promise.all(collectors.map((c) => ackHistogram(c.port)));
    const in1 = { ...pgWatch.inputs, at: performance.now() };
    const cpu = collectors.map((c, i) => {
      const c1 = cpuOf(c.pid);
      return (c1.selfMs - cpu0[i]!.selfMs) / (c1.at - cpu0[i]!.at);
    });
    const side = [treeMs(pg.process.pid), treeMs(influx.process.pid)].map((x, i) => (x.ms - side0[i]!.ms) / Math.max(1, x.at - side0[i]!.at));
    const inputRate = (in1.head - in0.head) / ((in1.at - in0.at) / 1000);
    const inputBytes =
      (
        await pg
          .query<{ b: number }>(
            'SELECT coalesce(avg(length(body)), 0)::float8 AS b FROM (SELECT body FROM canh_alert_inputs ORDER BY id DESC LIMIT 1000) x',
            [],
            'canh_bench',
          )
          .catch(() => [])
      )[0]?.b ?? 0;
    const gen = watch.summary();
    const steadyState = await Promise.all(collectors.map((c) => clusterOf(c.port)));
    const steadyRss = rss.map((r) => r.max);
    const leaderBefore = steadyState[0]?.leader ?? steadyState[1]?.leader ?? '?';
    const own = collectors.map((c, i) => ({
      name: i ? 'B' : 'A',
      p99: ack1[i] ? percentileBetween(ack0[i], ack1[i]!, 99) : undefined,
      n: (ack1[i]?.count ?? 0) - (ack0[i]?.count ?? 0),
    }));
    const p99 = percentile(hist.steady, 99);
    const before = collectors.map((c) => on(c.url));
    const vi = before[0]! >= before[1]! ? 0 : 1;
    const victim = collectors[vi]!;
    const survivor = collectors[1 - vi]!;
    console.log(`steady ${STEADY} s: agents per collector A ${fmt(before[0]!)}, B ${fmt(before[1]!)}; ack p99 ${p99} ms; killing ${vi ? 'B' : 'A'} (SIGKILL)`);

    phase = 'failover';
    watch = new GeneratorWatch(workers);
    rss[vi]!.stop();
    await victim.proc.kill9();
    t = performance.now();
    // The survivor leads at once if it led; else it takes the lock once PostgreSQL ends the dead one's session.
    const leads = (async () => {
      while (performance.now() - t < FAILOVER_TIMEOUT * 1000) {
        if ((await clusterOf(survivor.port))?.is_leader) return (performance.now() - t) / 1000;
        await sleep(100);
      }
      return undefined;
    })();
    const moved = await waitFor(() => on(survivor.url) === N, FAILOVER_TIMEOUT * 1000, workers, survivor);
    const movedSeconds = (performance.now() - t) / 1000;
    await sleep(1500); // a fresh status line from every worker
    const acked = await waitFor(() => oldest(workers) < 2000, Math.max(1000, FAILOVER_TIMEOUT * 1000 - (performance.now() - t)), workers, survivor);
    const ackedSeconds = (performance.now() - t) / 1000;
    const leadSeconds = await Promise.race([leads, sleep(1000).then(() => undefined)]);
    const fo = watch.summary();
    const after = await clusterOf(survivor.port);
    const survivorRss = rss[1 - vi]!.max;
    const fmtState = (c: ClusterView | undefined) =>
      c?.state ? `queued ${c.state.queued}, written ${fmt(c.state.written)}, retries ${c.state.retries}, dropped ${c.state.dropped}` : '?';
    finish(
      'bench:connections (two collectors)',
      [
        ...scaleNote(),
        `agents ${fmt(N)} in ${workers.length} processes, collector.urls of two collectors sharing state in PostgreSQL ${pgVersion} (registry moved there by state migrate in ${migrateSeconds.toFixed(1)} s; one influxd); ramp at ${fmt(CONNECT_RATE)}/s took ${rampSeconds.toFixed(1)} s`,
        `steady ${STEADY} s: A held ${fmt(before[0]!)}, B ${fmt(before[1]!)}; ack latency p50 ${percentile(hist.steady, 50)} ms, p99 ${p99} ms; the collectors' own batch last byte → ack p99 ${own.map((o) => `${o.name} ${ms(o.p99)} ms (${fmt(o.n)} batches)`).join(', ')}`,
        `steady ${gen.line}`,
        `collector CPU (steady, share of one core): A ${(cpu[0]! * 100).toFixed(0)} %, B ${(cpu[1]! * 100).toFixed(0)} % (each judges its agents' host rules; the leader, ${leaderBefore}, also reads the input log, runs the rules spanning agents and mails); PostgreSQL ${(side[0]! * 100).toFixed(0)} %, influxd ${(side[1]! * 100).toFixed(0)} %`,
        `collector RSS max (steady): A ${fmt(steadyRss[0]! / MiB)} MiB, B ${fmt(steadyRss[1]! / MiB)} MiB; the survivor after taking all ${fmt(N)}: ${fmt(survivorRss / MiB)} MiB`,
        `alert input log (events, agent states, host rules' transitions, points of rules spanning agents: for the leader): ${fmt(inputRate)} rows/s appended in the steady phase, ${fmt(inputBytes)} bytes each on average; the leader's cursor at most ${fmt(pgWatch.inputs.maxBacklog)} rows behind (sampled every 2 s), ${fmt(in1.head - in1.cursor)} at the end of steady`,
        `PostgreSQL connections (pg_stat_activity, max over the run): ${pgWatch.line(true)}; state writers at the end of steady: A ${fmtState(steadyState[0])}; B ${fmtState(steadyState[1])}`,
        `kill -9 of ${vi ? 'B' : 'A'} (${fmt(before[vi]!)} agents; leader before: ${leaderBefore}): all ${fmt(N)} on the other ${moved ? `after ${movedSeconds.toFixed(1)} s` : 'NOT within the timeout'}, every spool acked ${acked ? `after ${ackedSeconds.toFixed(1)} s` : 'NOT within the timeout'}; ${leaderBefore === ids[1 - vi] ? 'the survivor led already' : leadSeconds === undefined ? `the survivor NOT leading (leader: ${after?.leader ?? '?'})` : `the survivor leads ${leadSeconds.toFixed(1)} s after the kill`}; failover ack latency p99 ${percentile(hist.failover, 99)} ms; survivor's state writer: ${fmtState(after)}`,
        `failover ${fo.line}`,
      ],
      [
        { what: `all ${fmt(N)} agents connected`, ok: allIn, inconclusive: ramp.saturated },
        {
          what: `p99 batch sent → ack < 1 s (${p99} ms; the collectors' own part p99 ${own.map((o) => `${o.name} ${ms(o.p99)}`).join(', ')} ms)`,
          ok: p99 < 1000,
          // As with one collector: a miss the collectors' own histograms do not show, while a generator was
          // saturated, is the harness's; with no idle CPU at all, not even their own figures are theirs.
          inconclusive:
            gen.saturated && (gen.machineBusy || own.every((o) => o.p99 !== undefined && o.p99 < 1000))
              ? `the load generators were saturated (${gen.saturated})`
              : undefined,
        },
        {
          what: `after the kill all agents acked by the other collector within 90 s (${acked ? ackedSeconds.toFixed(1) : '—'} s)`,
          ok: moved && acked && ackedSeconds < 90,
          // The survivor takes every agent's reconnect and spool at once: on a machine with no idle CPU that measures the machine.
          inconclusive: fo.machineBusy ? `the machine had no idle CPU during the failover (${fo.saturated})` : undefined,
        },
        { what: `each collector's RSS < 1 GiB (${fmt(Math.max(...steadyRss, survivorRss) / MiB)} MiB)`, ok: Math.max(...steadyRss, survivorRss) < 1024 * MiB },
        {
          what: 'no state write dropped',
          ok: [...steadyState, after].every((c) => !c?.state || c.state.dropped === 0),
          inconclusive: [...steadyState, after].some((c) => !c?.state) ? "a collector's /healthz did not answer within 10 s" : undefined,
        },
      ],
    );
  } finally {
    pgWatch?.stop();
    for (const r of rss) r.stop();
    for (const w of workers) await w.proc.stop(2000);
    for (const c of collectors) await c.proc.stop(10_000);
    await Promise.all([influx.stop(), pg.stop(), smtp.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ClusterView {
  leader: string | null;
  is_leader: boolean;
  state?: { queued: number; written: number; retries: number; dropped: number };
}
async function clusterOf(port: number): Promise<ClusterView | undefined> {
  const h = (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) })
    .then((r) => r.json())
    .catch(() => ({}))) as { cluster?: ClusterView };
  return h.cluster;
}

/**
 * PostgreSQL connections to one database, by application_name (each collector names its
 * own), and the alert input log (rows every collector appends, the leader's cursor through
 * them), sampled every 2 s.
 */
class PgConnWatch {
  private readonly max = new Map<string, number>();
  /** Newest input row id, the leader's cursor, and the largest gap between them seen. */
  inputs = { head: 0, cursor: 0, maxBacklog: 0 };
  private now = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  constructor(pg: Postgres, db: string) {
    const sample = () =>
      pg
        .query<{ app: string; n: number }>(
          `SELECT application_name AS app, count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'canh %' GROUP BY 1`,
          [db],
        )
        .then((rows) => {
          const by = new Map<string, number>();
          for (const r of rows) {
            const who = r.app.replace(/^canh /, '').replace(/ session$/, '');
            by.set(who, (by.get(who) ?? 0) + r.n);
          }
          by.set(
            'total',
            [...by.values()].reduce((a, b) => a + b, 0),
          );
          this.now = by;
          for (const [k, v] of by) this.max.set(k, Math.max(this.max.get(k) ?? 0, v));
        })
        .catch(() => {});
    const inputs = () =>
      pg
        .query<{ head: number; cursor: number }>(
          `SELECT (SELECT coalesce(max(id), 0) FROM canh_alert_inputs)::bigint::float8 AS head, (SELECT coalesce(max(input_cursor), 0) FROM canh_leader)::bigint::float8 AS cursor`,
          [],
          db,
        )
        .then(([r]) => {
          if (!r) return;
          this.inputs = { head: r.head, cursor: r.cursor, maxBacklog: Math.max(this.inputs.maxBacklog, r.head - r.cursor) };
        })
        .catch(() => {});
    void sample();
    void inputs();
    this.timer = setInterval(() => void sample().then(inputs), 2000);
  }
  line(max = false): string {
    const m = max ? this.max : this.now;
    return [...m].map(([k, v]) => `${k} ${v}`).join(', ') || '?';
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

(COLLECTORS === 2 ? mainTwo() : main()).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 2;
});

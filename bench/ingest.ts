// bench:ingest — how many points per second reach InfluxDB through the collector,
// against what the same InfluxDB takes from a plain HTTP writer (the raw ceiling),
// measured in the same run on the same influxd.
//
//   raw ceiling   the same points (same measurements, tags, fields, one host per agent)
//                 written straight to /write by a plain writer: batches of 1000, 5000
//                 and 10000 lines, each with 2 and with 4 concurrent requests (the
//                 collector's default is 4: the ceiling gets the same chance), 10 s each,
//                 pick the best; that one is then run for as long as the collector's
//                 flood, once before it and once after, and the better of those two is
//                 the ceiling. Equal lengths, so that the ceiling and the flood each
//                 carry the same share of InfluxDB's own background work (cache
//                 snapshots, compactions); before, a 10 s burst was set against the
//                 30 s flood (docs/benchmarks.md, "Ingest, rerun")
//   collector     BENCH_AGENTS agents (real tokens, real protocol) in BENCH_WORKERS
//                 processes → the collector process (started by its CLI with a config
//                 file, default settings) → influxd
// Target: collector ≥ 0.8 × ceiling. The stored count is checked with a count query.
//
// Env: BENCH_AGENTS (1000) BENCH_WORKERS (4) BENCH_SECONDS (30, collector phase)
//      BENCH_RAW_SECONDS (10 per run choosing the batch size) BENCH_CEILING_SECONDS
//      (the flood's BENCH_SECONDS: the two ceiling runs) BENCH_RAW_BATCHES (1000,5000,10000)
//      BENCH_RAW_CONCURRENCY (2,4)
//      BENCH_BATCH_CYCLES (10 cycles × 15 points per agent batch) BENCH_WINDOW (2)
//      BENCH_FORM (rows, as canh-agent sends batches; `points` for the other spelling)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { productionDataConfig } from './lib/influx-config.ts';
import { startInfluxd, seriesRows, type Influxd } from '../test/helpers/influxd.ts';
import { freePort } from '../test/helpers/ports.ts';
import { COUNT_FIELDS, HostSource, SERIES_PER_HOST, checkSameShape, type BatchForm } from './lib/points.ts';
import { cpuOf, envInt, finish, fmt, MiB, RssWatch } from './lib/proc.ts';
import { registerAgents, sleep, startCollector, startWorker, type RegisteredAgent, type Worker } from './lib/harness.ts';

const AGENTS = envInt('BENCH_AGENTS', 1000);
const WORKERS = Math.max(1, Math.min(envInt('BENCH_WORKERS', 4), AGENTS));
const SECONDS = envInt('BENCH_SECONDS', 30);
const RAW_SECONDS = envInt('BENCH_RAW_SECONDS', 10);
const CEILING_SECONDS = envInt('BENCH_CEILING_SECONDS', SECONDS);
const RAW_BATCHES = (process.env.BENCH_RAW_BATCHES ?? '1000,5000,10000').split(',').map(Number);
const RAW_CONCURRENCY = (process.env.BENCH_RAW_CONCURRENCY ?? '2,4').split(',').map(Number);
const BATCH_CYCLES = envInt('BENCH_BATCH_CYCLES', 10);
const WINDOW = envInt('BENCH_WINDOW', 2);
const FORM: BatchForm = process.env.BENCH_FORM === 'points' ? 'points' : 'rows';
const TARGET = 0.8;

// Points are stamped on a timeline that starts 6 hours ago, 10 s apart per host.
const BASE = Math.floor((Date.now() - 6 * 3600_000) / 10_000) * 10_000;

/** Busy and total CPU time of the whole machine (all cores), ms, from /proc/stat. */
function machineCpu(): { busyMs: number; at: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy. USER_HZ is 100 on Linux.
  const busy = f.slice(0, 8).reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
  return { busyMs: busy * 10, at: Date.now() };
}

/** "machine busy 1.93 cores, 0.05 of them outside this benchmark's processes". */
function machineLine(m0: { busyMs: number; at: number }, m1: { busyMs: number; at: number }, oursMs: number): string {
  const secs = (m1.at - m0.at) / 1000;
  const busy = (m1.busyMs - m0.busyMs) / 1000 / secs;
  const others = Math.max(0, (m1.busyMs - m0.busyMs - oursMs) / 1000 / secs);
  return `machine busy ${busy.toFixed(2)} of ${cpus().length} cores, ${others.toFixed(2)} of them outside the benchmark's processes`;
}

async function storedPoints(influx: Influxd, db: string): Promise<number> {
  let n = 0;
  for (const [m, f] of Object.entries(COUNT_FIELDS)) {
    const rows = seriesRows(await influx.query(`SELECT count("${f}") FROM "${m}"`, db));
    n += Number(rows[0]?.count ?? 0);
  }
  return n;
}

interface RawResult {
  batch: number;
  concurrency: number;
  db: string;
  points: number;
  seconds: number;
  rate: number;
  /** influxd's CPU during the run, in cores. */
  influxCores: number;
  machine: string;
}

/** A plain writer: pre-shaped lines, POST /write, `concurrency` requests at a time. */
async function rawRun(influx: Influxd, agents: RegisteredAgent[], batch: number, concurrency: number, seconds: number, db: string): Promise<RawResult> {
  await influx.createDatabase(db);
  const sources = agents.map((a) => new HostSource({ host: a.name, agency: a.agency, site: a.site }, BASE));
  let next = 0;
  let points = 0;
  const url = `${influx.url}/write?db=${encodeURIComponent(db)}&precision=ms`;
  const i0 = cpuOf(influx.process.pid!);
  const me0 = cpuOf(process.pid);
  const m0 = machineCpu();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const lines: string[] = [];
      while (lines.length < batch) sources[next++ % sources.length]!.nextLines(Math.min(BATCH_CYCLES, Math.ceil(batch / SERIES_PER_HOST)), lines);
      const res = await fetch(url, { method: 'POST', body: lines.join('\n') });
      const text = await res.text();
      if (res.status !== 204) throw new Error(`raw write: HTTP ${res.status} ${text.slice(0, 300)}`);
      points += lines.length;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const secs = (performance.now() - t0) / 1000;
  const i1 = cpuOf(influx.process.pid!);
  const influxCores = (i1.selfMs - i0.selfMs) / 1000 / secs;
  const machine = machineLine(m0, machineCpu(), i1.selfMs - i0.selfMs + cpuOf(process.pid).selfMs - me0.selfMs);
  return { batch, concurrency, db, points, seconds: secs, rate: points / secs, influxCores, machine };
}

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string, workers: Worker[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    const dead = workers.find((w) => !w.proc.running && !w.final);
    if (dead) throw new Error(`load generator died: ${dead.proc.describe()}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; workers: ${JSON.stringify(workers.map((w) => ({ ...w.last, hist: undefined })))}`);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canh-bench-ingest-'));
  const influx = await startInfluxd({ dataConfig: productionDataConfig() });
  const workers: Worker[] = [];
  let collector: Awaited<ReturnType<typeof startCollector>> | undefined;
  try {
    const stateDir = join(dir, 'collector');
    const t = performance.now();
    const agents = registerAgents(stateDir, AGENTS);
    console.log(`registered ${AGENTS} agents in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    checkSameShape({ host: agents[0]!.name, agency: agents[0]!.agency, site: agents[0]!.site });

    // 1. Raw ceiling, one run per batch size.
    const raw: RawResult[] = [];
    for (const b of RAW_BATCHES)
      for (const c of RAW_CONCURRENCY) {
        const r = await rawRun(influx, agents, b, c, RAW_SECONDS, `raw_b${b}_c${c}`);
        raw.push(r);
        console.log(
          `raw writer, batches of ${b}, ${c} concurrent: ${fmt(r.rate)} points/s (${fmt(r.points)} points in ${r.seconds.toFixed(1)} s; influxd CPU ${(r.influxCores * 100).toFixed(0)} %; ${r.machine})`,
        );
      }
    const best = raw.reduce((a, b) => (b.rate > a.rate ? b : a));
    // The best one for as long as the flood, before it and (below) after it.
    const before = await rawRun(influx, agents, best.batch, best.concurrency, CEILING_SECONDS, 'raw_before');
    console.log(
      `raw writer, batches of ${best.batch}, ${best.concurrency} concurrent, for ${CEILING_SECONDS} s: ${fmt(before.rate)} points/s (influxd CPU ${(before.influxCores * 100).toFixed(0)} %; ${before.machine})`,
    );

    // 2. Through the collector.
    const port = await freePort();
    collector = await startCollector(
      dir,
      {
        listen: { host: '127.0.0.1', port },
        state_dir: stateDir,
        influx: {
          url: influx.url,
          database: 'canh',
          ...(process.env.BENCH_INFLUX_BATCH ? { batch_size: Number(process.env.BENCH_INFLUX_BATCH) } : {}),
          ...(process.env.BENCH_INFLUX_CONCURRENCY ? { concurrency: Number(process.env.BENCH_INFLUX_CONCURRENCY) } : {}),
        },
      },
      { port },
    );
    const rss = new RssWatch(collector.pid);
    const per = Math.ceil(AGENTS / WORKERS);
    for (let w = 0; w < WORKERS; w++) {
      const slice = agents.slice(w * per, (w + 1) * per);
      if (!slice.length) continue;
      workers.push(
        startWorker(dir, w, {
          url: collector.url,
          agents: slice,
          mode: 'flood',
          window: WINDOW,
          connectRate: 500,
          reconnectMinMs: 1000,
          reconnectMaxMs: 60_000,
          base: BASE,
          batchCycles: BATCH_CYCLES,
          floodMs: SECONDS * 1000,
          intervalMs: 10_000,
          maxSeconds: SECONDS + 300,
          form: FORM,
        }),
      );
    }
    const connectT0 = performance.now();
    await waitUntil(() => workers.every((w) => w.last && w.last.welcomed === w.last.agents), 60_000, 'every agent to be welcomed', workers);
    console.log(`${AGENTS} agents connected in ${((performance.now() - connectT0) / 1000).toFixed(1)} s; flooding for ${SECONDS} s`);
    const influxPid = influx.process.pid!;
    const c0 = cpuOf(collector.pid);
    const i0 = cpuOf(influxPid);
    const me0 = cpuOf(process.pid);
    const m0 = machineCpu();
    const t0 = Date.now();
    for (const w of workers) w.proc.signal('SIGUSR1');
    let lastPrint = 0;
    for (const w of workers)
      w.onStatus = (s) => {
        if (s.type === 'status' && w === workers[0] && s.at - lastPrint >= 5000) {
          lastPrint = s.at;
          const acked = workers.reduce((n, x) => n + (x.last?.ackedPoints ?? 0), 0);
          console.log(`  t+${((s.at - t0) / 1000).toFixed(0)} s: ${fmt(acked)} points acked, collector RSS ${fmt(rss.last / MiB)} MiB`);
        }
      };
    await waitUntil(() => workers.every((w) => w.final), (SECONDS + 120) * 1000, "every worker to drain its agents' spools", workers);
    const tEnd = Math.max(...workers.map((w) => w.final!.at));
    const c1 = cpuOf(collector.pid);
    const i1 = cpuOf(influxPid);
    const workerCpuMs = workers.reduce((n, w) => n + w.final!.floodCpuMs, 0);
    const flooding = machineLine(m0, machineCpu(), c1.selfMs - c0.selfMs + i1.selfMs - i0.selfMs + workerCpuMs + cpuOf(process.pid).selfMs - me0.selfMs);
    rss.stop();
    const elapsed = (tEnd - t0) / 1000;
    const acked = workers.reduce((n, w) => n + w.final!.ackedPoints, 0);
    const errors = workers.reduce((n, w) => n + w.final!.errors, 0);
    const closes = workers.reduce((n, w) => n + w.final!.closes, 0);
    const through = acked / elapsed;
    const stored = await storedPoints(influx, 'canh');
    console.log(
      `collector: ${fmt(acked)} points acked in ${elapsed.toFixed(1)} s; ${fmt(stored)} stored (count query); ${errors} busy refusals; ${closes} disconnects`,
    );

    // 3. The best raw batch size again, after, as long as the flood: the ceiling is the better of the two long runs.
    const again = await rawRun(influx, agents, best.batch, best.concurrency, CEILING_SECONDS, 'raw_again');
    console.log(
      `raw writer again, batches of ${best.batch}, ${best.concurrency} concurrent, for ${CEILING_SECONDS} s: ${fmt(again.rate)} points/s (influxd CPU ${(again.influxCores * 100).toFixed(0)} %; ${again.machine})`,
    );
    const ceiling = Math.max(before.rate, again.rate);
    const rawStored = await storedPoints(influx, before.db);

    const collectorCores = (c1.selfMs - c0.selfMs) / (tEnd - t0);
    const ratio = through / ceiling;
    finish(
      'bench:ingest',
      [
        `agents ${AGENTS} in ${workers.length} processes, batches of ${BATCH_CYCLES * SERIES_PER_HOST} points (${FORM}), window ${WINDOW}, flood ${SECONDS} s`,
        `raw ceiling (plain writer, batches of ${best.batch}, ${best.concurrency} concurrent, ${CEILING_SECONDS} s runs before and after the flood): ${fmt(ceiling)} points/s  [before: ${fmt(before.rate)}, after: ${fmt(again.rate)}; ${RAW_SECONDS} s runs choosing the batch size: ${raw.map((r) => `${r.batch}×${r.concurrency}: ${fmt(r.rate)}`).join(', ')}; stored check ${fmt(rawStored)}/${fmt(before.points)}]`,
        `through the collector: ${fmt(through)} points/s  [${fmt(acked)} acked, ${fmt(stored)} stored by count query]`,
        `ratio collector/raw: ${ratio.toFixed(2)}`,
        `collector CPU ${(collectorCores * 100).toFixed(0)} % of one core (${(((c1.selfMs - c0.selfMs) * 1000) / acked).toFixed(2)} µs per point), RSS max ${fmt(rss.max / MiB)} MiB; influxd CPU ${(((i1.selfMs - i0.selfMs) / (tEnd - t0)) * 100).toFixed(0)} %; load generators ${((workerCpuMs / (tEnd - t0)) * 100).toFixed(0)} %`,
        `while flooding: ${flooding}; raw runs: ${raw
          .map((r) =>
            r.machine
              .replace(/^machine busy /, '')
              .replace(/ of \d+ cores, /, ' (')
              .replace(/ of them outside the benchmark's processes$/, ' outside)'),
          )
          .join(', ')}`,
      ],
      [
        { what: `points/s through the collector ≥ ${TARGET} × raw ceiling (${ratio.toFixed(2)})`, ok: ratio >= TARGET },
        { what: `every acked point stored (${fmt(stored)} of ${fmt(acked)})`, ok: stored === acked },
      ],
    );
  } finally {
    for (const w of workers) await w.proc.stop(2000);
    await collector?.proc.stop(10_000);
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 2;
});

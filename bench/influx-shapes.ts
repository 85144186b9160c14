// bench:influx-shapes — what one point costs InfluxDB 1.x (influxd's CPU per point) for
// the same points sent in different request shapes or to differently configured influxd.
// bench:connections found influxd, not the collector, the bottleneck (123 % of a core for
// ~15,000 points/s over ~150,000 series); this bench asks which of the collector's
// choices (request size, order, precision, gzip) and which of influxd's documented
// settings change that, A/B in one run.
//
// Each variant gets a fresh influxd. BENCH_SHAPES_HOSTS hosts (15 series each, the points
// bench:connections sends) each send one cycle every 10 s at their own phase, paced as
// agents do; one cycle is written first (untimed) so every series exists. Then
// BENCH_SHAPES_SECONDS of paced writes and a 5 s tail (a snapshot or compaction the
// writes caused) are timed: influxd's utime+stime over the points written. The variants
// run in a rotated order per round (BENCH_SHAPES_ROUNDS), so drift on a shared machine
// falls on all of them; the machine's idle share and load average are printed per run.
//
// Request shapes: `idle` is the collector's writer as shipped (send when nothing is in
// flight, else gather up to batch_size 5,000 lines, 4 in flight); `size=N` sends every N
// lines; `sorted` sorts each request's lines by series key; `precision=s|ns`; `gzip`.
// influxd config: `fsync=D` (wal-fsync-delay), `tsi1` (index-version), `snapshot=S`
// (cache-snapshot-memory-size). BENCH_SHAPES picks variants (comma-separated), e.g.
// BENCH_SHAPES=idle,size=15,fsync=100ms.
import { readFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { gzipSync } from 'node:zlib';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { productionDataConfig } from './lib/influx-config.ts';
import { startInfluxd, type Influxd } from '../test/helpers/influxd.ts';
import { pino } from 'pino';
import { InfluxWriter } from '../collector/src/influx/writer.ts';
import { cpuOf, envInt, finish, fmt, machine } from './lib/proc.ts';
import { HostSource, SERIES_PER_HOST, CYCLE_MS } from './lib/points.ts';

const HOSTS = envInt('BENCH_SHAPES_HOSTS', 3000);
const SECONDS = envInt('BENCH_SHAPES_SECONDS', 30);
const ROUNDS = envInt('BENCH_SHAPES_ROUNDS', 2);
const TAIL_MS = 5000;
/** Each host's cycle in wall time (its points stay 10 s apart): fewer hosts at a shorter cycle send as many points over fewer series. */
const INTERVAL_MS = envInt('BENCH_SHAPES_INTERVAL_MS', CYCLE_MS);
const DEFAULT_SHAPES = 'idle,linger=20,linger=50,production,size=250,size=250+sorted,size=250+precision=s,size=250+gzip,fsync=100ms,tsi1,snapshot=256m';

interface Variant {
  name: string;
  /** Lines per request; 0: the collector's InfluxWriter (flushWhenIdle, batch_size 5,000, 4 in flight). */
  size: number;
  /** The writer's lingerMs (flush_linger). */
  linger: number;
  sort: boolean;
  precision: 'ms' | 's' | 'ns';
  gzip: boolean;
  config: string;
}

/** A variant, or several joined by `+` (e.g. `snapshot=256m+size=150`). */
function variant(name: string): Variant {
  const parts = name.split('+').map(variant1);
  const v = parts.reduce((a, p) => ({
    name,
    size: p.size || a.size,
    linger: p.linger || a.linger,
    sort: a.sort || p.sort,
    precision: p.precision !== 'ms' ? p.precision : a.precision,
    gzip: a.gzip || p.gzip,
    config: [a.config, p.config].filter(Boolean).join('\n'),
  }));
  // The writer sends its own requests: order, precision and gzip are shapes of fixed-size requests only.
  if (v.size === 0 && (v.sort || v.gzip || v.precision !== 'ms')) throw new Error(`BENCH_SHAPES: ${name}: sorted, precision and gzip need size=N`);
  return v;
}

function variant1(name: string): Variant {
  const v: Variant = { name, size: 0, linger: 0, sort: false, precision: 'ms', gzip: false, config: '' };
  const [k, arg = ''] = name.split('=') as [string, string?];
  if (k === 'idle') return v;
  if (k === 'linger') return { ...v, linger: Number(arg) };
  if (k === 'size') return { ...v, size: Number(arg) };
  if (k === 'sorted') return { ...v, sort: true };
  if (k === 'precision' && (arg === 's' || arg === 'ns')) return { ...v, precision: arg };
  if (k === 'gzip') return { ...v, gzip: true };
  if (k === 'fsync') return { ...v, config: `wal-fsync-delay = "${arg}"` };
  if (k === 'tsi1') return { ...v, config: 'index-version = "tsi1"' };
  if (k === 'snapshot') return { ...v, config: `cache-snapshot-memory-size = "${arg}"` };
  if (k === 'production') return { ...v, config: productionDataConfig().trim(), linger: 50 };
  if (k === 'conf') return { ...v, config: arg.replace(/;/g, '\n') };
  throw new Error(`BENCH_SHAPES: unknown variant ${name}`);
}

function machineCpu(): { idle: number; total: number } {
  const f = readStat();
  return { idle: (f[3] ?? 0) + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}
function readStat(): number[] {
  return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
}

class Sender {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 5 });
  inFlight = 0;
  requests = 0;
  lines = 0;
  errors = 0;
  readonly latencies: number[] = [];
  private readonly influx: Influxd;
  private readonly v: Variant;
  readonly writer: InfluxWriter;
  constructor(influx: Influxd, v: Variant) {
    this.influx = influx;
    this.v = v;
    const opts = { url: influx.url, database: 'canh', batchSize: 5000, flushIntervalMs: 1000, timeoutMs: 10_000, maxQueuedLines: 500_000, concurrency: 4 };
    this.writer = new InfluxWriter({ ...opts, lingerMs: v.linger }, pino({ level: 'silent' }));
    this.writer.start();
  }
  /** One agent batch through the collector's writer; settles when InfluxDB has accepted its request. */
  async viaWriter(lines: string[]): Promise<void> {
    const t0 = performance.now();
    try {
      await this.writer.writeText(lines.join('\n'), lines.length);
      this.lines += lines.length;
    } catch {
      this.errors++;
    }
    this.latencies.push(performance.now() - t0);
  }
  post(lines: string[]): Promise<void> {
    if (this.v.sort) lines.sort(bySeriesKey);
    let text = lines.join('\n');
    if (this.v.precision === 's') text = text.replace(/000$/gm, '');
    else if (this.v.precision === 'ns') text = text.replace(/$/gm, '000000');
    const body = this.v.gzip ? gzipSync(text, { level: 1 }) : Buffer.from(text);
    this.inFlight++;
    this.requests++;
    const t0 = performance.now();
    return new Promise<void>((resolve) => {
      const req = request(
        `${this.influx.url}/write?db=canh&precision=${this.v.precision}`,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'content-length': body.length, ...(this.v.gzip ? { 'content-encoding': 'gzip' } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 204) this.errors++;
            else this.lines += lines.length;
            this.latencies.push(performance.now() - t0);
            this.inFlight--;
            resolve();
          });
        },
      );
      req.on('error', () => {
        this.errors++;
        this.inFlight--;
        resolve();
      });
      req.end(body);
    });
  }
  async close(): Promise<void> {
    await this.writer.stop();
    this.agent.destroy();
  }
}

function seriesKey(line: string): string {
  return line.slice(0, line.indexOf(' '));
}
function bySeriesKey(a: string, b: string): number {
  const x = seriesKey(a);
  const y = seriesKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

interface Result {
  name: string;
  points: number;
  cpuMs: number;
  usPerPoint: number;
  requests: number;
  p99: number;
  errors: number;
  idle: number;
  load: number;
  engine: string;
}

/** influxd's own counters (/debug/vars) summed over shards: cache snapshots and TSM compactions, their count and wall time. */
async function engineStats(url: string): Promise<Record<string, number>> {
  const vars = (await fetch(`${url}/debug/vars`).then((r) => r.json())) as Record<string, { name?: string; values?: Record<string, number> }>;
  const sum: Record<string, number> = {};
  for (const v of Object.values(vars)) {
    if (v?.name !== 'tsm1_engine' && v?.name !== 'tsm1_cache') continue;
    for (const [k, n] of Object.entries(v.values ?? {})) sum[k] = (sum[k] ?? 0) + n;
  }
  return sum;
}
function engineLine(a: Record<string, number>, b: Record<string, number>): string {
  const d = (k: string) => (b[k] ?? 0) - (a[k] ?? 0);
  const ms = (k: string) => (d(k) / 1e6).toFixed(0);
  const levels = ['tsmLevel1', 'tsmLevel2', 'tsmLevel3', 'tsmOptimize', 'tsmFull'];
  return `snapshots ${d('cacheCompactions')} (${ms('cacheCompactionDuration')} ms), compactions ${levels.map((l) => `${l.replace('tsm', '')} ${d(`${l}Compactions`)}`).join(' ')} (${(levels.reduce((n, l) => n + d(`${l}CompactionDuration`), 0) / 1e6) | 0} ms)`;
}

/** One variant on a fresh influxd: warm-up cycle, then SECONDS of paced writes. */
async function run(v: Variant): Promise<Result> {
  const influx = await startInfluxd(v.config ? { dataConfig: `  ${v.config}` } : {});
  const sender = new Sender(influx, v);
  try {
    await influx.createDatabase('canh');
    const base = Math.floor(Date.now() / CYCLE_MS) * CYCLE_MS - 3_600_000;
    const hosts = Array.from({ length: HOSTS }, (_, i) => new HostSource({ host: `host-${i}`, agency: `agency-${i % 50}`, site: `site-${i % 400}` }, base));
    // Every series exists before the timing starts.
    let warm: string[] = [];
    for (const h of hosts) {
      h.nextLines(1, warm);
      if (warm.length >= 5000) {
        await sender.post(warm);
        warm = [];
      }
    }
    if (warm.length) await sender.post(warm);
    sender.requests = 0;
    sender.writer.stats.requests = 0;
    sender.lines = 0;
    sender.latencies.length = 0;
    await new Promise((r) => setTimeout(r, 2000));

    const pid = influx.process.pid!;
    const e0 = await engineStats(influx.url);
    const c0 = cpuOf(pid);
    const m0 = machineCpu();
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    const queue: string[] = [];
    const sent: Promise<void>[] = [];
    let next = 0; // hosts that have sent, over all cycles
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - t0) / INTERVAL_MS) * HOSTS);
      while (next < due) hosts[next++ % HOSTS]!.nextLines(1, queue);
      if (v.size === 0) {
        // The collector's writer, one agent batch (a host's 15 lines) per writeText as the receiver calls it.
        for (let i = 0; i < queue.length; i += SERIES_PER_HOST) sent.push(sender.viaWriter(queue.slice(i, i + SERIES_PER_HOST)));
        queue.length = 0;
      } else {
        while (queue.length >= v.size && sender.inFlight < 4) sent.push(sender.post(queue.splice(0, v.size)));
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    if (queue.length) sent.push(sender.post(queue.splice(0)));
    await Promise.all(sent);
    await new Promise((r) => setTimeout(r, TAIL_MS));
    const c1 = cpuOf(pid);
    const m1 = machineCpu();
    const e1 = await engineStats(influx.url);
    const cpuMs = c1.selfMs - c0.selfMs;
    const lat = sender.latencies.sort((a, b) => a - b);
    return {
      name: v.name,
      points: sender.lines,
      cpuMs,
      usPerPoint: (cpuMs * 1000) / Math.max(1, sender.lines),
      requests: sender.requests + sender.writer.stats.requests,
      p99: lat[Math.max(0, Math.ceil(lat.length * 0.99) - 1)] ?? NaN,
      errors: sender.errors,
      idle: (m1.idle - m0.idle) / Math.max(1, m1.total - m0.total),
      load: loadavg()[0]!,
      engine: engineLine(e0, e1),
    };
  } finally {
    await sender.close();
    await influx.stop();
  }
}

async function main(): Promise<void> {
  const variants = (process.env.BENCH_SHAPES ?? DEFAULT_SHAPES).split(',').map((s) => variant(s.trim()));
  console.log(
    `${fmt(HOSTS)} hosts × ${SERIES_PER_HOST} series, one cycle per host every ${INTERVAL_MS / 1000} s (${fmt((HOSTS * SERIES_PER_HOST * 1000) / INTERVAL_MS)} points/s), ${SECONDS} s timed + ${TAIL_MS / 1000} s tail per variant, ${ROUNDS} rounds`,
  );
  const all = new Map<string, Result[]>();
  for (let r = 0; r < ROUNDS; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
    for (const v of order) {
      const res = await run(v);
      (all.get(v.name) ?? all.set(v.name, []).get(v.name)!).push(res);
      console.log(
        `  round ${r + 1} ${v.name.padEnd(14)} ${res.usPerPoint.toFixed(2)} µs/point (${fmt(res.cpuMs)} ms over ${fmt(res.points)} points, ${fmt(res.requests)} requests, p99 ${res.p99.toFixed(0)} ms${res.errors ? `, ${res.errors} ERRORS` : ''}); machine idle ${(res.idle * 100).toFixed(0)} %, load ${res.load.toFixed(2)}; ${res.engine}`,
      );
    }
  }
  const mean = (rs: Result[], k: 'usPerPoint' | 'p99' | 'requests') => rs.reduce((a, r) => a + r[k], 0) / rs.length;
  const baseName = variants[0]!.name;
  const base = mean(all.get(baseName)!, 'usPerPoint');
  const figures = [...all].map(
    ([name, rs]) =>
      `${name.padEnd(14)} influxd ${mean(rs, 'usPerPoint').toFixed(2)} µs CPU per point (runs ${rs.map((r) => r.usPerPoint.toFixed(2)).join(', ')}), ×${(mean(rs, 'usPerPoint') / base).toFixed(2)} of ${baseName}; ${fmt(mean(rs, 'requests') / SECONDS, 1)} requests/s, write p99 ${mean(rs, 'p99').toFixed(0)} ms`,
  );
  figures.unshift(`${machine()}`);
  finish('bench:influx-shapes', figures, [{ what: 'every write accepted', ok: [...all.values()].every((rs) => rs.every((r) => r.errors === 0)) }]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 2;
});

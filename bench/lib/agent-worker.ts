// A load-generator process holding many simulated agents (bench/lib/sim-agent.ts).
// Started by the benchmarks with one argument, a JSON file (WorkerConfig). Prints one
// JSON line per second on stdout ({"type":"status",...}, with the ack-latency histogram
// since the previous line) and a final one when it ends. Modes:
//   flood     on SIGUSR1, keep `window` batches of `batchCycles` cycles per agent in
//             flight for floodMs; then wait for every ack, report and exit
//   periodic  one batch of one cycle per agent every intervalMs, the agents' phases
//             spread over the interval; runs until SIGTERM (or maxSeconds)
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HostSource, type BatchForm } from './points.ts';
import { newStats, SimAgent } from './sim-agent.ts';

export interface WorkerConfig {
  url: string;
  /** Several collectors: each agent sticks to one and fails over to the next (bench:connections with BENCH_CONN_COLLECTORS=2). */
  urls?: string[];
  localAddress?: string;
  agents: { name: string; token: string; agency: string; site: string }[];
  mode: 'flood' | 'periodic';
  window: number;
  /** Connections opened per second (ramp). */
  connectRate: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Timeline start of the points (flood mode). */
  base: number;
  batchCycles: number;
  floodMs: number;
  intervalMs: number;
  maxSeconds: number;
  /** How batches spell their points: `rows` as canh-agent sends them (default), or `points`. */
  form?: BatchForm;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as WorkerConfig;
const stats = newStats();
const agents: SimAgent[] = [];
let producing = cfg.mode === 'periodic';
let done = false;
let cpuAtStart = 0;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// This process's own event-loop lag: a generator that cannot keep up adds it to every
// ack latency it measures, so the benchmark prints it beside them.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function report(type: 'status' | 'final'): void {
  let spooled = 0;
  let oldest = Date.now();
  for (const a of agents) {
    spooled += a.spool.size;
    const m = a.oldestMadeAt();
    if (m !== undefined && m < oldest) oldest = m;
  }
  const hist = Object.fromEntries(stats.hist);
  // With several collectors: welcomed agents per collector URL.
  const welcomedBy: Record<string, number> = {};
  if (cfg.urls) for (const a of agents) if (a.welcomed) welcomedBy[a.url] = (welcomedBy[a.url] ?? 0) + 1;
  // (reset below, once the line holds this second's figures)
  stats.hist = new Map();
  process.stdout.write(
    `${JSON.stringify({
      type,
      at: Date.now(),
      agents: agents.length,
      welcomed: stats.welcomed,
      connects: stats.connects,
      closes: stats.closes,
      sentBatches: stats.sentBatches,
      ackedBatches: stats.ackedBatches,
      ackedPoints: stats.ackedPoints,
      errors: stats.errors,
      spooled,
      oldestUnackedMs: Date.now() - oldest,
      producing,
      rssBytes: process.memoryUsage().rss,
      cpuMs: cpuMs(),
      floodCpuMs: cpuMs() - cpuAtStart,
      // Event-loop delay since the previous line, ms (p99 and max).
      welcomedBy,
      loopLagP99Ms: Math.round(loopDelay.percentile(99) / 1e6),
      loopLagMaxMs: Math.round(loopDelay.max / 1e6),
      hist,
    })}\n`,
  );
  loopDelay.reset();
}

for (const a of cfg.agents) {
  agents.push(
    new SimAgent({
      url: cfg.url,
      urls: cfg.urls,
      token: a.token,
      hostname: a.name,
      localAddress: cfg.localAddress,
      window: cfg.window,
      reconnectMinMs: cfg.reconnectMinMs,
      reconnectMaxMs: cfg.reconnectMaxMs,
      source: new HostSource({ host: a.name, agency: a.agency, site: a.site }, cfg.base),
      form: cfg.form ?? 'rows',
      stats,
      onAck: cfg.mode === 'flood' ? (sim) => producing && sim.spool.size < cfg.window && sim.produce(cfg.batchCycles) : undefined,
    }),
  );
}

// Ramp the connections up at connectRate per second.
const perTick = Math.max(1, Math.round(cfg.connectRate / 20));
let next = 0;
const ramp = setInterval(() => {
  for (let i = 0; i < perTick && next < agents.length; i++) agents[next++]!.connect();
  if (next >= agents.length) clearInterval(ramp);
}, 50);

const statusTimer = setInterval(() => report('status'), 1000);

function end(code: number): void {
  if (done) return;
  done = true;
  clearInterval(statusTimer);
  report('final');
  for (const a of agents) a.stop();
  setTimeout(() => process.exit(code), 200);
}

if (cfg.mode === 'flood') {
  let started = false;
  process.on('SIGUSR1', () => {
    if (started) return;
    started = true;
    cpuAtStart = cpuMs();
    producing = true;
    for (const a of agents) for (let i = 0; i < cfg.window; i++) a.produce(cfg.batchCycles);
    setTimeout(() => {
      producing = false;
      const check = setInterval(() => {
        if (agents.every((a) => a.spool.size === 0)) {
          clearInterval(check);
          end(0);
        }
      }, 20);
    }, cfg.floodMs);
  });
} else {
  // Each agent measures every intervalMs at its own phase, once it has first connected.
  for (const a of agents) {
    const phase = Math.random() * cfg.intervalMs;
    setTimeout(() => {
      a.produce(1, Date.now());
      setInterval(() => a.produce(1, Date.now()), cfg.intervalMs);
    }, phase);
  }
}
process.on('SIGTERM', () => end(0));
setTimeout(() => end(3), cfg.maxSeconds * 1000).unref();

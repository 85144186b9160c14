// bench:agent — the agent's footprint against collectd doing the same work, same run.
//   canh-agent `run` (default Linux inputs cpu, mem, disk, system, net + ping 127.0.0.1,
//   interval 10 s) reporting to a real collector and InfluxDB; run from source (node
//   type-stripping agent/src/cli.ts) and, when `npm run build:agent` has made it, from
//   the bundle dist/canh-agent.cjs
//   collectd (Debian collectd-core, installed here if missing, as root) with cpu, memory,
//   df, load, interface, ping (127.0.0.1, one echo per 10 s), interval 10, writing csv
// Per process: CPU ms per 10 s cycle after a 75 s warm-up (the agent's start-up, and its
// kept ping's one -i correction, which comes ~50 s in; its CPU is printed apart, as
// "first 75 s"): the scheduler's runtime of
// every thread of the process and of its children (/proc/<pid>/task/*/schedstat, ns; an
// ended child counts with its runtime as last seen, polled every 2 ms); the 10 ms tick counts of /proc/<pid>/stat are
// printed next to it (12 cycles of ticks resolve 0.8 ms, and a process that runs a
// fraction of a millisecond per wake-up is charged a whole tick or nothing); RSS (max and last), child processes started per cycle by name, and children
// that were already running when the measurement began and kept running (long-lived).
// Targets (for the bundle when it exists, the form installed on hosts; otherwise the
// source run): CPU per cycle ≤ collectd's, RSS ≤ 60 MiB, no child per cycle but ping.
// RSS is judged on the maximum from the start (the start-up peak included); the maximum
// during the measured cycles alone is printed next to it.
//
// Env: BENCH_AGENT_SECONDS (120, measured after the warm-up); BENCH_AGENT_WARMUP (75 s);
// BENCH_AGENT_VARIANTS
// (source,bundle: which forms of the agent to run; a path ending in .cjs adds another
// build of the bundle, and "flags=--a --b" the bundle with those Node options instead of
// the shipped ones, and 'settings={"agent":{...},"collector":{...},"inputs":{"net":{...}}}'
// the bundle with those settings merged into its config, each run next to it for an A/B
// comparison; "detectors" the bundle — the source when no bundle is built — with every
// detector for this platform on at its defaults, next to the plain runs: the detector
// set's cost is the difference); BENCH_AGENT_INPUTS (which inputs;
// default the cpu,mem,disk,system,net,ping); BENCH_AGENT_FLAGS (Node/V8 options
// for the bundle instead of the shipped ones in agent/src/node-flags.ts, to try others);
// "detector=NAME" one detector alone, "detectors=PATH" another build (a .cjs bundle or a
// checkout's agent/src/cli.ts) with every detector; BENCH_AGENT_PIDNS=1 runs each agent in a
// pid namespace of its own (unshare --pid --fork --mount-proc, as root)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInfluxd } from '../test/helpers/influxd.ts';
import { freePort } from '../test/helpers/ports.ts';
import { spawnManaged, type ManagedProcess } from '../test/helpers/process.ts';
import {
  childrenOf,
  commOf,
  cpuTreeOf,
  runtimeMsOf,
  treeRuntimeMsOf,
  envInt,
  finish,
  fmt,
  MiB,
  RssWatch,
  type CpuTreeSample,
  type Target,
} from './lib/proc.ts';
import { registerAgents, root, sleep, startCollector, type CollectorProc } from './lib/harness.ts';
import { AGENT_NODE_FLAGS } from '../agent/src/node-flags.ts';
import { detectors as detectorList } from '../agent/src/detectors/index.ts';
import { freshAgentBundle } from './lib/fresh-bundle.ts';

await freshAgentBundle();

const SECONDS = envInt('BENCH_AGENT_SECONDS', 120);
const WARMUP = envInt('BENCH_AGENT_WARMUP', 75);
const CYCLE = 10;
const BUNDLE = join(root, 'dist/canh-agent.cjs');
const VARIANTS = splitTopLevel(process.env.BENCH_AGENT_VARIANTS ?? 'source,bundle');
const PIDNS = process.env.BENCH_AGENT_PIDNS === '1';
/** Split on commas outside braces, so a `settings={...}` variant may hold several keys. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}') depth--;
    else if (s[i] === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.filter(Boolean);
}
/** A variant's settings: merged into the `agent` and `collector` sections and into the options of each input by type. */
type Settings = { agent?: object; collector?: object; inputs?: Record<string, object> };
// The default Linux inputs; BENCH_AGENT_INPUTS=cpu,mem (say) finds what each costs.
const INPUTS = (process.env.BENCH_AGENT_INPUTS ?? 'cpu,mem,disk,system,net,ping').split(',').filter(Boolean);
// The bundle runs with the flags it is shipped with; BENCH_AGENT_FLAGS="..." tries others.
const BUNDLE_FLAGS = process.env.BENCH_AGENT_FLAGS !== undefined ? process.env.BENCH_AGENT_FLAGS.split(/\s+/).filter(Boolean) : AGENT_NODE_FLAGS;

function ensureCollectd(): string | undefined {
  if (existsSync('/usr/sbin/collectd')) return '/usr/sbin/collectd';
  if (process.getuid?.() !== 0) return undefined;
  console.log('installing Debian collectd-core and liboping0 (collectd ping plugin)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'collectd-core', 'liboping0'], { stdio: 'inherit', env });
  return existsSync('/usr/sbin/collectd') ? '/usr/sbin/collectd' : undefined;
}

interface Subject {
  name: string;
  proc: ManagedProcess;
  pid: number;
  rss: RssWatch;
  /** RSS over the measured cycles only (the start-up peak is in `rss`). */
  rssMeasured?: RssWatch;
  c0?: CpuTreeSample;
  /** Scheduler runtime of the process tree at the start and end of the measured cycles, ms. */
  r0?: number;
  r1?: number;
  c1?: CpuTreeSample;
  /** Runtime of the tree sampled once a cycle, 7.5 s after each tick (where nobody works), ms. */
  perCycle: number[];
  /**
   * Exact runtime of children: each live child's scheduler runtime as last seen (polled
   * with the children, every 2 ms), and the sum of those last seen of children that have
   * ended. A reaped child's cutime/cstime come in 10 ms ticks sampled over its whole life:
   * a kept ping's ~15 ms of real CPU over ~150 intervals showed up as 0, 10 or 20 ms at
   * once when it was restarted, moving a 120 s mean by up to ±1 ms.
   */
  childRuntime: Map<number, number>;
  endedChildrenMs: number;
  /** Children seen, by pid → comm (polled every 2 ms: a ping of 127.0.0.1 lives a few ms). */
  children: Map<number, string>;
  /** Children already running when the measurement started (long-lived helpers). */
  kept: Map<number, string>;
}

function watchChildren(subjects: Subject[]): NodeJS.Timeout {
  return setInterval(() => {
    for (const s of subjects) {
      const live = childrenOf(s.pid);
      for (const c of live) {
        // Re-read while the child lives: right after fork it still has its parent's name, until exec.
        const comm = commOf(c);
        if (comm !== '?' || !s.children.has(c)) s.children.set(c, comm);
        // A child that ends between the listing and the read is counted as last seen.
        let r: number | undefined;
        try {
          r = treeRuntimeMsOf(c);
        } catch {
          r = undefined;
        }
        if (r !== undefined) s.childRuntime.set(c, r);
      }
      for (const [c, r] of s.childRuntime) {
        if (live.includes(c)) continue;
        s.endedChildrenMs += r;
        s.childRuntime.delete(c);
      }
    }
  }, 2);
}

/** The subject's own scheduler runtime and its children's (see Subject.childRuntime), ms. */
function runtimeOf(s: Subject): number | undefined {
  const own = runtimeMsOf(s.pid);
  if (own === undefined) return undefined;
  let children = s.endedChildrenMs;
  for (const r of s.childRuntime.values()) children += r;
  return own + children;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canh-bench-agent-'));
  const collectdBin = ensureCollectd();
  const influx = await startInfluxd();
  let collector: CollectorProc | undefined;
  const subjects: Subject[] = [];
  try {
    const stateDir = join(dir, 'collector');
    const variants: { name: string; args: string[]; settings?: Settings; detectors?: string[] }[] = [];
    if (VARIANTS.includes('source')) variants.push({ name: 'canh-agent (source, type stripping)', args: [join(root, 'agent/src/cli.ts')] });
    // The bundle runs with the Node options the service runs it with (agent/src/node-flags.ts).
    if (VARIANTS.includes('bundle') && existsSync(BUNDLE)) variants.push({ name: 'canh-agent (bundle dist/canh-agent.cjs)', args: [...BUNDLE_FLAGS, BUNDLE] });
    // Another build side by side (a path ending in .cjs): A/B in one run, same noise.
    for (const v of VARIANTS.filter((x) => x.endsWith('.cjs') && !x.includes('=')))
      variants.push({ name: `canh-agent (other bundle ${v})`, args: [...BUNDLE_FLAGS, v] });
    // The bundle once more with other Node options ("flags=--a --b"), next to the shipped ones.
    for (const v of VARIANTS.filter((x) => x.startsWith('flags='))) {
      const flags = v.slice('flags='.length).split(/\s+/).filter(Boolean);
      variants.push({ name: `canh-agent (bundle with ${flags.join(' ') || 'no options'})`, args: [...flags, BUNDLE] });
    }
    // The bundle once more with other settings ('settings={"agent":{"spool_fsync":"never"}}'),
    // merged into the `agent` and `collector` sections of its config.
    for (const v of VARIANTS.filter((x) => x.startsWith('settings='))) {
      const settings = JSON.parse(v.slice('settings='.length)) as Settings;
      variants.push({ name: `canh-agent (bundle with ${JSON.stringify(settings)})`, args: [...BUNDLE_FLAGS, BUNDLE], settings });
    }
    // Every detector of this platform at its defaults (the first gathers take their baselines
    // during the warm-up: the persistence detector's SUID scan among them).
    const platformDetectors = detectorList.filter((d) => !d.platforms || d.platforms.includes(process.platform)).map((d) => d.name);
    const bundled = existsSync(BUNDLE);
    const detectorArgs = bundled ? [...BUNDLE_FLAGS, BUNDLE] : [join(root, 'agent/src/cli.ts')];
    if (VARIANTS.includes('detectors')) {
      variants.push({
        name: `canh-agent (${bundled ? 'bundle' : 'source'} with every detector at its defaults)`,
        args: detectorArgs,
        detectors: platformDetectors,
      });
    }
    // Another build with every detector ("detectors=path/to/x.cjs", or a checkout's agent/src/cli.ts): old and new code in one run.
    for (const v of VARIANTS.filter((x) => x.startsWith('detectors='))) {
      const path = v.slice('detectors='.length);
      variants.push({
        name: `canh-agent (other build ${path} with every detector at its defaults)`,
        args: path.endsWith('.cjs') ? [...BUNDLE_FLAGS, path] : [path],
        detectors: platformDetectors,
      });
    }
    // One detector alone at its defaults ("detector=persistence"): the per-detector breakdown.
    for (const v of VARIANTS.filter((x) => x.startsWith('detector='))) {
      const name = v.slice('detector='.length);
      if (!platformDetectors.includes(name)) throw new Error(`${v}: no detector ${name} for ${process.platform} (${platformDetectors.join(', ')})`);
      variants.push({ name: `canh-agent (${bundled ? 'bundle' : 'source'} with detector ${name} alone)`, args: detectorArgs, detectors: [name] });
    }
    const agents = registerAgents(stateDir, variants.length, 'bench-agent');
    const port = await freePort();
    collector = await startCollector(
      dir,
      { listen: { host: '127.0.0.1', port }, state_dir: stateDir, log_level: 'warn', influx: { url: influx.url, database: 'canh' } },
      { port },
    );

    variants.forEach((v, i) => {
      const adir = join(dir, `agent-${i}`);
      mkdirSync(adir, { recursive: true });
      const cfg = join(adir, 'agent.yaml');
      writeFileSync(
        cfg,
        JSON.stringify({
          collector: { url: collector!.url, token: agents[i]!.token, ...v.settings?.collector },
          agent: { interval: '10s', state_dir: join(adir, 'state'), hostname: agents[i]!.name, log_level: 'warn', ...v.settings?.agent },
          inputs: INPUTS.map((t) => ({ type: t, ...(t === 'ping' ? { urls: ['127.0.0.1'] } : {}), ...v.settings?.inputs?.[t] })),
          ...(v.detectors ? { detectors: v.detectors.map((type) => ({ type })) } : {}),
        }),
      );
      // BENCH_AGENT_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the agents.
      const nodeOptions = process.env.BENCH_AGENT_NODE_OPTIONS;
      // BENCH_AGENT_PIDNS=1: each agent in a pid namespace of its own with its own /proc
      // (unshare, as root), so the process detectors see a quiet host's few processes instead
      // of this machine's churn; the network tables stay the machine's.
      const argv = [process.execPath, ...v.args, 'run', '--config', cfg];
      const proc = spawnManaged(PIDNS ? 'unshare' : argv[0]!, PIDNS ? ['--pid', '--fork', '--kill-child', '--mount-proc', ...argv] : argv.slice(1), {
        name: v.name,
        ...(nodeOptions ? { env: { NODE_OPTIONS: nodeOptions } } : {}),
      });
      subjects.push({
        name: v.name,
        proc,
        pid: proc.pid!,
        rss: new RssWatch(proc.pid!, 250),
        children: new Map(),
        kept: new Map(),
        perCycle: [],
        childRuntime: new Map(),
        endedChildrenMs: 0,
      });
    });
    if (collectdBin) {
      const cdir = join(dir, 'collectd');
      mkdirSync(join(cdir, 'csv'), { recursive: true });
      const conf = join(cdir, 'collectd.conf');
      writeFileSync(
        conf,
        `Hostname "bench-collectd"
FQDNLookup false
Interval ${CYCLE}
BaseDir "${cdir}"
PIDFile "${cdir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel "warning"
  File STDERR
</Plugin>
LoadPlugin cpu
LoadPlugin memory
LoadPlugin df
LoadPlugin load
LoadPlugin interface
LoadPlugin ping
LoadPlugin csv
<Plugin ping>
  Host "127.0.0.1"
  Interval ${CYCLE}
</Plugin>
<Plugin csv>
  DataDir "${cdir}/csv"
  StoreRates true
</Plugin>
`,
      );
      const proc = spawnManaged(collectdBin, ['-f', '-C', conf], { name: 'collectd' });
      subjects.push({
        name: 'collectd',
        proc,
        pid: proc.pid!,
        rss: new RssWatch(proc.pid!, 250),
        children: new Map(),
        kept: new Map(),
        perCycle: [],
        childRuntime: new Map(),
        endedChildrenMs: 0,
      });
    } else console.log('collectd is not installed (and we are not root to install it): no comparison');

    const childTimer = watchChildren(subjects);
    console.log(`warming up ${WARMUP} s, then measuring ${SECONDS} s (${SECONDS / CYCLE} cycles)...`);
    await sleep(WARMUP * 1000);
    for (const s of subjects) {
      if (!s.proc.running) throw new Error(`${s.name} is not running: ${s.proc.describe()}`);
      s.c0 = cpuTreeOf(s.pid);
      s.r0 = runtimeOf(s);
      s.children.clear();
      for (const c of s.c0.liveChildren) s.kept.set(c, commOf(c));
      s.rssMeasured = new RssWatch(s.pid, 250);
    }
    const startup = subjects.map((s) => `${s.name}: first ${WARMUP} s (start-up) ${fmt(s.c0!.selfMs + s.c0!.childrenMs)} CPU ms`);
    // One runtime sample per cycle, between ticks: the median cycle is what an A/B
    // compares, as a rare cycle (a ping restarted, a GC) moves the mean by tenths of a ms.
    const sampler = cycleSampler(subjects);
    await sleep(SECONDS * 1000);
    sampler.stop();
    for (const s of subjects) {
      if (!s.proc.running) throw new Error(`${s.name} died: ${s.proc.describe()}`);
      s.c1 = cpuTreeOf(s.pid);
      s.r1 = runtimeOf(s);
    }
    clearInterval(childTimer);
    const cycles = SECONDS / CYCLE;
    const kids = (c: CpuTreeSample) => c.childrenMs + c.liveChildrenMs;
    const tickPerCycle = (s: Subject) => (s.c1!.selfMs + kids(s.c1!) - s.c0!.selfMs - kids(s.c0!)) / cycles;
    // The scheduler's exact runtime when the kernel gives it, else the tick counts.
    const exact = subjects.every((s) => s.r0 !== undefined && s.r1 !== undefined);
    const perCycle = (s: Subject) => (exact ? (s.r1! - s.r0!) / cycles : tickPerCycle(s));
    // Started during the measurement: pids not already running at its start.
    const started = (s: Subject) => [...s.children].filter(([pid]) => !s.kept.has(pid)).map(([, comm]) => comm);
    const childSummary = (s: Subject) => {
      const by = new Map<string, number>();
      for (const c of started(s)) by.set(c, (by.get(c) ?? 0) + 1);
      const perCycleText = by.size ? [...by].map(([k, n]) => `${k} ${(n / cycles).toFixed(1)}/cycle`).join(', ') : 'none started';
      const alive = s.c1!.liveChildren.filter((c) => s.kept.has(c)).map((c) => `${s.kept.get(c)} pid ${c}`);
      return alive.length ? `${perCycleText}; running throughout: ${alive.join(', ')}` : perCycleText;
    };
    const figures = [
      `${cycles} cycles of ${CYCLE} s after ${WARMUP} s warm-up; agent inputs ${INPUTS.join(', ')}${INPUTS.includes('ping') ? ' (ping 127.0.0.1)' : ''}; collectd cpu, memory, df, load, interface, ping, csv`,
      ...startup,
      ...(exact ? subjects.map((s) => `${s.name}: ${cycleSpread(s.perCycle)}`) : []),
      ...subjects.map(
        (s) =>
          `${s.name}: ${perCycle(s).toFixed(2)} CPU ms per cycle${exact ? ' (scheduler runtime of the process and its children' : ''}; by 10 ms ticks ${tickPerCycle(s).toFixed(1)}: own ${((s.c1!.selfMs - s.c0!.selfMs) / cycles).toFixed(1)}, children ${((kids(s.c1!) - kids(s.c0!)) / cycles).toFixed(1)}${exact ? ')' : ''}, RSS max ${(s.rss.max / MiB).toFixed(1)} MiB (during the measured cycles ${(s.rssMeasured!.max / MiB).toFixed(1)}, last ${(s.rss.last / MiB).toFixed(1)}), children: ${childSummary(s)}`,
      ),
    ];
    // The detector set's cost: each detectors variant against the plain run of the same form.
    const plain = subjects.find((s) => s.name.startsWith(bundled ? 'canh-agent (bundle dist/' : 'canh-agent (source'));
    for (const s of subjects.filter((x) => x.name.includes('every detector') || x.name.includes(' alone)'))) {
      if (!plain) break;
      const median = (x: Subject) => medianCycle(x.perCycle);
      const what = s.name.includes('every detector') ? `${s.name}: every detector at its defaults` : `${s.name}:`;
      figures.push(
        `${what} costs ${(perCycle(s) - perCycle(plain)).toFixed(2)} CPU ms per cycle (medians ${(median(s) - median(plain)).toFixed(2)}) and ${((s.rss.max - plain.rss.max) / MiB).toFixed(1)} MiB RSS over ${plain.name} (target for the whole set: < 1 ms per 10 s cycle)`,
      );
    }
    const cd = subjects.find((s) => s.name === 'collectd');
    const judged = subjects.find((s) => s.name.includes('bundle dist/')) ?? subjects[0]!;
    const targets: Target[] = [
      ...(cd
        ? [
            {
              what: `${judged.name} CPU per cycle ≤ collectd's (${perCycle(judged).toFixed(2)} vs ${perCycle(cd).toFixed(2)} ms)`,
              ok: perCycle(judged) <= perCycle(cd),
            },
          ]
        : []),
      { what: `${judged.name} RSS ≤ 60 MiB (max ${(judged.rss.max / MiB).toFixed(1)} MiB)`, ok: judged.rss.max <= 60 * MiB },
      {
        what: `${judged.name} starts no child process per cycle except ping (${childSummary(judged)})`,
        ok: started(judged).every((c) => c === 'ping') && [...judged.kept.values()].every((c) => c === 'ping'),
      },
    ];
    for (const s of subjects) {
      s.rss.stop();
      s.rssMeasured?.stop();
    }
    finish('bench:agent', figures, targets);
  } finally {
    for (const s of subjects) await s.proc.stop(5000);
    await collector?.proc.stop(5000);
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sample each subject's tree runtime 7.5 s into every cycle (ticks are on the 10 s marks). */
function cycleSampler(subjects: Subject[]): { stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const sample = () => {
    for (const s of subjects) {
      const r = runtimeOf(s);
      if (r !== undefined) s.perCycle.push(r);
    }
  };
  const next = () => {
    if (stopped) return;
    const now = Date.now();
    const at = Math.floor(now / (CYCLE * 1000)) * CYCLE * 1000 + 7500;
    timer = setTimeout(
      () => {
        sample();
        next();
      },
      (at > now + 100 ? at : at + CYCLE * 1000) - now,
    );
  };
  next();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Median of the per-cycle runtime deltas (NaN when no whole cycle was sampled). */
function medianCycle(samples: number[]): number {
  const sorted = samples
    .slice(1)
    .map((r, i) => r - samples[i]!)
    .sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median and range of the per-cycle runtime deltas. */
function cycleSpread(samples: number[]): string {
  const d = samples.slice(1).map((r, i) => r - samples[i]!);
  if (d.length === 0) return 'no whole cycle sampled';
  const sorted = [...d].sort((a, b) => a - b);
  return `median cycle ${medianCycle(samples).toFixed(2)} CPU ms (${d.length} cycles, ${sorted[0]!.toFixed(2)}–${sorted.at(-1)!.toFixed(2)})`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 2;
});

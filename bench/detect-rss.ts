// bench:detect-rss — memory while a 1 GiB auth log goes through Canh (issue 21: RSS stays
// ≤ 80 MiB while following a 1 GiB log).
//   (a) `canh-agent detect auth_log --file F` (every line's verdict printed to a
//       pipe this script drains): max RSS by /usr/bin/time, lines/s and CPU.
//   (b) when BENCH_DETECT_RSS_AGENT=1 (default): canh-agent `run` with only the auth_log
//       detector, `from_beginning: true` on the same file, reporting to a real collector and
//       InfluxDB; its RSS is sampled every 200 ms (/proc/<pid>/status VmRSS) until its saved
//       position reaches the end of the file.
// Both run as installed: the bundle dist/canh-agent.cjs with the Node options it ships with
// (agent/src/node-flags.ts) when `npm run build:agent` has made it, else the source. So
// detect runs as the bundle starts it: a second process with DETECT_NODE_FLAGS (its max RSS
// by /usr/bin/time is the larger of the two processes').
// The log is bench:detect's generator (bench/lib/authlog-gen.ts) run on until the size is
// reached: the same mix of sshd/PAM/mail/FTP lines, ~60 % failures from many addresses.
//
// Env: BENCH_DETECT_RSS_MIB (1024), BENCH_DETECT_RSS_AGENT (1), BENCH_DETECT_RSS_DETECT (1: 0 runs only the
// agent), BENCH_DETECT_KEEP (keep the temp dir), BENCH_DETECT_RSS_FLAGS (the bundle's Node options instead of
// the shipped ones, space-separated), BENCH_DETECT_RSS_SPOOL_MIB (1024: the agent's spool_max_bytes; a log
// reader waits while half of it is unacked, so with the default 256 MiB the agent would follow the log at
// the pace this machine's collector acks events, ~300 a second, and the run would measure that),
// BENCH_DETECT_RSS_BASELINE (another bundle, e.g. one built from an older checkout: the agent part runs it
// first on the same log with the same Node options, then this one, for an A/B in one run).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from './lib/authlog-gen.ts';
import { registerAgents, root, sleep, startCollector } from './lib/harness.ts';
import { startInfluxd } from '../test/helpers/influxd.ts';
import { freePort } from '../test/helpers/ports.ts';
import { spawnManaged } from '../test/helpers/process.ts';
import { AGENT_NODE_FLAGS } from '../agent/src/node-flags.ts';
import { freshAgentBundle } from './lib/fresh-bundle.ts';

await freshAgentBundle();

const MIB = Number(process.env.BENCH_DETECT_RSS_MIB ?? 1024);
const AGENT = (process.env.BENCH_DETECT_RSS_AGENT ?? '1') !== '0';
const DETECT = (process.env.BENCH_DETECT_RSS_DETECT ?? '1') !== '0';
const SPOOL_MIB = Number(process.env.BENCH_DETECT_RSS_SPOOL_MIB ?? 1024);
const TARGET_MIB = 80;
// The agent as it is installed: the bundle with its shipped Node options when `npm run
// build:agent` has made it, else the source (type stripping: ~120 MiB before any work).
const BUNDLE = join(root, 'dist/canh-agent.cjs');
// BENCH_DETECT_RSS_FLAGS: other Node options for the bundle, for an A/B of them (default: the shipped ones).
const FLAGS = process.env.BENCH_DETECT_RSS_FLAGS?.split(' ').filter(Boolean) ?? AGENT_NODE_FLAGS;
const AGENT_ARGS = existsSync(BUNDLE) ? [...FLAGS, BUNDLE] : [join(root, 'agent/src/cli.ts')];
const FORM = existsSync(BUNDLE) ? `bundle with ${FLAGS.join(' ')}` : 'source';
const BASELINE = process.env.BENCH_DETECT_RSS_BASELINE;
// Bytes per generated line, measured on bench:detect's 200,000 lines (21.5 MiB).
const BYTES_PER_LINE = 112.9;

interface DetectRun {
  wallS: number;
  cpuS: number;
  maxRssKiB: number;
  summary: { lines: number; recognised: number; events: number } | undefined;
  outBytes: number;
}

/** detect with its output drained (only the tail kept: the summary is the last line). */
function runDetect(log: string): Promise<DetectRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', process.execPath, ...AGENT_ARGS, 'detect', 'auth_log', '--file', log, '--set', 'timezone=UTC'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    let outBytes = 0;
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      outBytes += d.length;
      tail = (tail + d).slice(-4096);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`detect failed (${code}): ${err.slice(-2000)}`));
      const t = err.trim().split('\n').at(-1)!.split(' ').map(Number);
      const last = tail.trim().split('\n').at(-1) ?? '';
      let summary: DetectRun['summary'];
      try {
        summary = (JSON.parse(last) as { summary: DetectRun['summary'] }).summary;
      } catch {
        summary = undefined;
      }
      resolve({ wallS: t[0]!, cpuS: t[1]! + t[2]!, maxRssKiB: t[3]!, summary, outBytes });
    });
  });
}

const rssKiB = (pid: number): number | undefined => {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
};
/** Bytes of the agent's spool segments on disk (the backlog the collector has not acked yet, and acked records of the segment being written). */
const spoolBytes = (dir: string): number => {
  let n = 0;
  try {
    for (const f of readdirSync(dir)) if (f.startsWith('seg-')) n += statSync(join(dir, f), { throwIfNoEntry: false })?.size ?? 0;
  } catch {
    // not made yet
  }
  return n;
};
const cpuMsOf = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100;
};

/** At the end: what the RSS is made of (FilePmdMapped: 2 MiB page-cache folios of the node binary, docs/benchmarks.md). */
function memoryAt(pid: number): string {
  try {
    const r = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(r)?.[1] ?? NaN);
    return `anon ${(kib('Anonymous') / 1024).toFixed(1)} MiB, file ${((kib('Rss') - kib('Anonymous')) / 1024).toFixed(1)} MiB (FilePmdMapped ${(kib('FilePmdMapped') / 1024).toFixed(1)} MiB)`;
  } catch {
    return 'smaps_rollup unreadable';
  }
}

/** canh-agent run, auth_log only, from the beginning of the file, until its position reaches the end. */
async function runAgent(
  dir: string,
  log: string,
  size: number,
  args: string[],
): Promise<{ maxRssMiB: number; lastRssMiB: number; cpuS: number; wallS: number; startRssMiB: number; maxSpoolMiB: number; dropped: string; memory: string }> {
  mkdirSync(dir, { recursive: true });
  const influx = await startInfluxd();
  const stateDir = join(dir, 'collector');
  const [agent] = registerAgents(stateDir, 1, 'bench-rss');
  const port = await freePort();
  const collector = await startCollector(
    dir,
    { listen: { host: '127.0.0.1', port }, state_dir: stateDir, log_level: 'warn', influx: { url: influx.url, database: 'canh' } },
    { port },
  );
  const agentState = join(dir, 'agent-state');
  const cfg = join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    JSON.stringify({
      collector: { url: collector.url, token: agent!.token },
      agent: { interval: '10s', state_dir: agentState, hostname: agent!.name, log_level: 'warn', spool_max_bytes: SPOOL_MIB * 1048576 },
      inputs: [],
      detectors: [{ type: 'auth_log', path: log, from_beginning: true, timezone: 'UTC' }],
    }),
  );
  const proc = spawnManaged(process.execPath, [...args, 'run', '--config', cfg], { name: 'agent' });
  const pid = proc.pid!;
  const t0 = Date.now();
  let max = 0;
  let last = 0;
  let startRss = 0;
  let maxSpool = 0;
  let done = false;
  try {
    while (!done) {
      await sleep(200);
      const r = rssKiB(pid);
      if (r === undefined) throw new Error(`the agent ended early: ${proc.describe()}`);
      if (!startRss && Date.now() - t0 > 1500) startRss = r;
      max = Math.max(max, r);
      last = r;
      maxSpool = Math.max(maxSpool, spoolBytes(join(agentState, 'spool')));
      const posFile = join(agentState, 'tail-auth_log.json');
      if (existsSync(posFile)) {
        try {
          done = (JSON.parse(readFileSync(posFile, 'utf8')) as { offset: number }).offset >= size;
        } catch {
          // written at this moment: read it next time
        }
      }
      if (Date.now() - t0 > 60 * 60_000) throw new Error('the agent did not reach the end of the log within an hour');
    }
    // What the spool dropped (full: oldest first) is counted in its meta.json.
    let dropped = 'none';
    try {
      const m = JSON.parse(readFileSync(join(agentState, 'spool/meta.json'), 'utf8')) as { droppedPoints: number; droppedEvents: number };
      dropped = m.droppedPoints || m.droppedEvents ? `${m.droppedEvents} events, ${m.droppedPoints} points` : 'none';
    } catch {
      // no meta file yet: nothing dropped
    }
    return {
      dropped,
      maxRssMiB: max / 1024,
      lastRssMiB: last / 1024,
      cpuS: cpuMsOf(pid) / 1000,
      wallS: (Date.now() - t0) / 1000,
      startRssMiB: startRss / 1024,
      maxSpoolMiB: maxSpool / 1048576,
      memory: memoryAt(pid),
    };
  } finally {
    await proc.stop(5000);
    await collector.proc.stop(5000);
    await influx.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canh-bench-detect-rss-'));
  let missed = 0;
  try {
    const log = join(dir, 'auth.log');
    const lines = Math.round((MIB * 1048576) / BYTES_PER_LINE);
    const g = generate(log, lines);
    const size = statSync(log).size;
    console.log(
      `bench:detect-rss: ${lines} lines (${(size / 1048576).toFixed(0)} MiB), ${g.attackers.size} attacking addresses generated; canh-agent from the ${FORM}`,
    );
    if (DETECT) {
      const d = await runDetect(log);
      const ok = d.summary?.lines === lines;
      console.log(
        `canh-agent detect auth_log: ${d.summary?.lines ?? '?'} lines read${ok ? '' : ' (NOT all the lines)'}, ${d.summary?.events ?? '?'} events, ${(d.outBytes / 1048576).toFixed(0)} MiB of verdicts; ` +
          `${Math.round(lines / d.wallS)} lines/s (wall), ${Math.round(lines / d.cpuS)} lines per CPU-s, max RSS ${(d.maxRssKiB / 1024).toFixed(1)} MiB`,
      );
      if (!ok) missed++;
      if (d.maxRssKiB / 1024 > TARGET_MIB) missed++;
      console.log(
        `${d.maxRssKiB / 1024 <= TARGET_MIB ? 'MET   ' : 'MISSED'} detect max RSS ≤ ${TARGET_MIB} MiB over a ${MIB} MiB log (${(d.maxRssKiB / 1024).toFixed(1)} MiB)`,
      );
    }
    const runs: [string, string[]][] = AGENT && BASELINE ? [[`baseline ${BASELINE}`, [...FLAGS, BASELINE]]] : [];
    if (AGENT) runs.push([FORM, AGENT_ARGS]);
    for (let i = 0; i < runs.length; i++) {
      const [form, args] = runs[i]!;
      const a = await runAgent(join(dir, `agent-${i}`), log, size, args);
      const mine = i === runs.length - 1;
      console.log(
        `canh-agent run (${mine ? '' : `${form}, `}auth_log only, from_beginning) followed the ${MIB} MiB log to its end in ${a.wallS.toFixed(0)} s: ${Math.round(lines / a.cpuS)} lines per CPU-s; ` +
          `RSS at 1.5 s ${a.startRssMiB.toFixed(1)} MiB, max ${a.maxRssMiB.toFixed(1)} MiB, at the end ${a.lastRssMiB.toFixed(1)} MiB (${a.memory}); spool on disk max ${a.maxSpoolMiB.toFixed(1)} MiB (spool_max_bytes ${SPOOL_MIB} MiB), dropped by the spool: ${a.dropped}`,
      );
      if (!mine) continue;
      if (a.maxRssMiB > TARGET_MIB) missed++;
      console.log(
        `${a.maxRssMiB <= TARGET_MIB ? 'MET   ' : 'MISSED'} agent max RSS ≤ ${TARGET_MIB} MiB while following a ${MIB} MiB log (${a.maxRssMiB.toFixed(1)} MiB)`,
      );
    }
    console.log(`RESULT bench:detect-rss: ${missed ? `${missed} target(s) missed` : 'all targets met'}`);
  } finally {
    if (!process.env.BENCH_DETECT_KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
  process.exitCode = missed ? 1 : 0;
}

await main();

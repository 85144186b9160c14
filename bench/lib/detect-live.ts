// The live comparison of bench:detect-live (issue 21): one auth log appended at a steady
// rate, followed at the same time by a real canh-agent (`run`, only the auth_log detector,
// reporting to a real collector and InfluxDB) and by Debian's fail2ban-server (sshd,
// postfix-sasl, dovecot and vsftpd jails on the same file, private config, a ban action
// that only records). Each process's CPU is read from /proc/<pid>/stat (utime+stime, own
// threads; its reaped children's cutime+cstime apart) from just before the first line is
// appended, both long started and idle, to the moment it has reported the log's end
// markers (bench/lib/live-log.ts); RSS is sampled every 500 ms over the same window.
// Used by bench/detect-live.ts and, at a small scale, by test/detect-live.test.ts.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { startInfluxd, seriesRows, type Influxd } from '../../test/helpers/influxd.ts';
import { freePort } from '../../test/helpers/ports.ts';
import { pollUntil, spawnManaged, type ManagedProcess } from '../../test/helpers/process.ts';
import { AGENT_NODE_FLAGS } from '../../agent/src/node-flags.ts';
import { bundleAgent } from '../../deploy/build/bundle.ts';
import { registerAgents, root, sleep, startCollector, type CollectorProc } from './harness.ts';
import { cpuOf, RssWatch } from './proc.ts';
import { buildLiveLog, syslogStampUtc, type LiveLog } from './live-log.ts';
import { startFail2ban, type Fail2ban } from './fail2ban-server.ts';

export interface LiveOptions {
  dir: string;
  /** Lines appended per second. */
  rate: number;
  /** How long the generated part lasts at that rate (the ends of open bursts and the markers follow). */
  seconds: number;
  /** canh-agent as: 'bundle' (built now, as `npm run build:agent` builds it, run with its shipped Node options), 'source', or a path to a .cjs build. */
  agent: string;
  /** Node options for a bundle instead of the shipped ones (AGENT_NODE_FLAGS). */
  nodeFlags?: readonly string[];
  threshold: number;
  windowS: number;
  f2bBackend?: string;
  f2bLoglevel?: string;
  /** Give up waiting for a follower to reach the end this long after the last append. */
  drainTimeoutS: number;
  /** Cut the generated log at rate × seconds lines, bursts left short (default: every burst whole). */
  cut?: boolean;
  /** Idle time after both have started, before the window opens (default 3 s). */
  settleS?: number;
  log?: (line: string) => void;
}

export interface FollowerResult {
  name: string;
  pid: number;
  /** Own CPU (utime+stime) over the window, ms. */
  cpuMs: number;
  /** Reaped children's CPU (cutime+cstime) over the window, ms. */
  childrenCpuMs: number;
  /** From the first append to the moment its end markers were all reported, s. */
  wallS: number;
  /** From the last append to that moment, s. */
  lagS: number;
  rssMaxBytes: number;
  rssEndBytes: number;
  /** Attacking addresses reported (end markers left out). */
  found: Set<string>;
  /** Per address, the jail (fail2ban) or service (canh) that reported it first. */
  via: Map<string, string>;
  /** Per thread name, CPU over the window, ms (fail2ban: its jails' threads). */
  threads?: Map<string, number>;
}

export interface LiveResult {
  lines: number;
  appendS: number;
  /** The log was cut in the middle of bursts. */
  cut: boolean;
  log: LiveLog;
  agentForm: string;
  f2bBackend: string;
  canh: FollowerResult;
  fail2ban: FollowerResult;
}

interface Follower {
  name: string;
  pid: number;
  proc: ManagedProcess;
  /** Addresses it has reported so far, with the jail or service (only those of `only` when given). */
  reported(only?: Set<string>): Promise<Map<string, string>>;
}

/** Per-thread CPU (utime+stime, ms) by thread name. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime in clock ticks: USER_HZ, 100 on Linux.
      out.set(comm, (out.get(comm) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // thread ended meanwhile
    }
  }
  return out;
}

async function agentCommand(o: LiveOptions): Promise<{ args: string[]; form: string }> {
  if (o.agent === 'source') return { args: [join(root, 'agent/src/cli.ts')], form: 'source (type stripping)' };
  const flags = o.nodeFlags ?? AGENT_NODE_FLAGS;
  const how = o.nodeFlags ? `with ${flags.join(' ') || 'no Node options'} (NOT the shipped ones)` : `with its shipped Node options ${flags.join(' ')}`;
  if (o.agent === 'bundle') {
    const { file, bytes } = await bundleAgent({ outfile: join(o.dir, 'canh-agent.cjs'), quiet: true });
    return { args: [...flags, file], form: `bundle built now (${Math.round(bytes / 1024)} KiB), ${how}` };
  }
  return { args: [...flags, o.agent], form: `${o.agent} ${how}` };
}

interface Canh extends Follower {
  influx: Influxd;
  collector: CollectorProc;
  form: string;
}

/** influxd, the collector by its CLI, and canh-agent run with only auth_log on `logPath`; resolves once it follows the file. */
async function startCanh(o: LiveOptions, logPath: string): Promise<Canh> {
  const influx = await startInfluxd();
  const stateDir = join(o.dir, 'collector');
  const [agent] = registerAgents(stateDir, 1, 'bench-live');
  const port = await freePort();
  const collector = await startCollector(
    o.dir,
    { listen: { host: '127.0.0.1', port }, state_dir: stateDir, log_level: 'warn', influx: { url: influx.url, database: 'canh' } },
    { port },
  );
  const agentState = join(o.dir, 'agent-state');
  const cfg = join(o.dir, 'agent.yaml');
  writeFileSync(
    cfg,
    JSON.stringify({
      collector: { url: collector.url, token: agent!.token },
      agent: { state_dir: agentState, hostname: agent!.name, log_level: 'warn' },
      inputs: [],
      detectors: [{ type: 'auth_log', path: logPath, from_beginning: true, timezone: 'UTC', threshold: o.threshold, window: `${o.windowS}s` }],
    }),
  );
  const { args, form } = await agentCommand(o);
  const proc = spawnManaged(process.execPath, [...args, 'run', '--config', cfg], { name: 'canh-agent' });
  await pollUntil(async () => (existsSync(agentState) && readdirSync(agentState).some((f) => f.startsWith('tail-')) ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: 'canh-agent to follow the log',
    abortIf: () => (proc.running ? undefined : proc.describe()),
  });
  const reported = async (only?: Set<string>) => {
    // Polled 4 times a second for the end markers: ask for those alone, not every event so far.
    const which = only ? ` AND (${[...only].map((a) => `"src_ip" = '${a}'`).join(' OR ')})` : '';
    const rows = seriesRows(await influx.query(`SELECT "src_ip", "service" FROM "security_event" WHERE "type" = 'brute_force'${which}`, 'canh'));
    const out = new Map<string, string>();
    for (const r of rows) if (typeof r.src_ip === 'string' && !out.has(r.src_ip)) out.set(r.src_ip, String(r.service));
    return out;
  };
  return { name: 'canh-agent', pid: proc.pid!, proc, reported, influx, collector, form };
}

/** Appends every body, stamped now, at `rate` lines per second (whole lines, ~10 writes a second). */
async function appendAtRate(path: string, bodies: string[], rate: number, stop: { now: boolean }): Promise<{ startedAt: number; endedAt: number }> {
  const fd = openSync(path, 'a');
  const startedAt = Date.now();
  let done = 0;
  try {
    while (done < bodies.length && !stop.now) {
      const due = Math.min(bodies.length, Math.floor((rate * (Date.now() - startedAt)) / 1000) + 1);
      if (due > done) {
        const stamp = syslogStampUtc(Date.now());
        let chunk = '';
        for (let i = done; i < due; i++) chunk += `${stamp}${bodies[i]}\n`;
        writeSync(fd, chunk);
        done = due;
      }
      await sleep(100);
    }
  } finally {
    closeSync(fd);
  }
  return { startedAt, endedAt: Date.now() };
}

interface Window {
  cpu0: ReturnType<typeof cpuOf>;
  threads0: Map<string, number>;
  rss: RssWatch;
}

/** Waits until `f` has reported every end marker; its CPU and RSS over the window then. */
async function untilEnd(f: Follower, w: Window, log: LiveLog, append: Promise<{ startedAt: number; endedAt: number }>, o: LiveOptions) {
  const deadlineFromEnd = o.drainTimeoutS * 1000;
  let appendEnd: number | undefined;
  void append.then((a) => (appendEnd = a.endedAt));
  for (;;) {
    if (!f.proc.running) throw new Error(`${f.name} ended during the run: ${f.proc.describe()}`);
    const seen = await f.reported(log.markers).catch(() => new Map<string, string>());
    if ([...log.markers].every((m) => seen.has(m))) break;
    if (appendEnd !== undefined && Date.now() - appendEnd > deadlineFromEnd)
      throw new Error(
        `${f.name} did not report the log's end markers within ${o.drainTimeoutS} s of the last append (has ${[...log.markers].filter((m) => seen.has(m)).join(', ') || 'none'})`,
      );
    await sleep(250);
  }
  const at = Date.now();
  const cpu1 = cpuOf(f.pid);
  const threads1 = threadCpu(f.pid);
  w.rss.stop();
  const threads = new Map<string, number>();
  for (const [name, ms] of threads1) threads.set(name, ms - (w.threads0.get(name) ?? 0));
  return { at, cpuMs: cpu1.selfMs - w.cpu0.selfMs, childrenCpuMs: cpu1.childrenMs - w.cpu0.childrenMs, rssMax: w.rss.max, rssEnd: w.rss.last, threads };
}

async function measure(o: LiveOptions, logPath: string, log: LiveLog, followers: Follower[]): Promise<{ results: FollowerResult[]; appendS: number }> {
  const windows = followers.map((f) => ({ cpu0: cpuOf(f.pid), threads0: threadCpu(f.pid), rss: new RssWatch(f.pid, 500) }));
  const stop = { now: false };
  const append = appendAtRate(logPath, log.bodies, o.rate, stop);
  const ends = await Promise.all(followers.map((f, i) => untilEnd(f, windows[i]!, log, append, o))).catch(async (err: unknown) => {
    stop.now = true;
    await append;
    throw err;
  });
  const { startedAt, endedAt } = await append;
  // Events are sent in order: the markers reported, every earlier event is too; one more look after a pause.
  await sleep(2000);
  const results: FollowerResult[] = [];
  for (let i = 0; i < followers.length; i++) {
    const f = followers[i]!;
    const e = ends[i]!;
    const via = await f.reported();
    for (const m of log.markers) via.delete(m);
    results.push({
      name: f.name,
      pid: f.pid,
      cpuMs: e.cpuMs,
      childrenCpuMs: e.childrenCpuMs,
      wallS: (e.at - startedAt) / 1000,
      lagS: Math.max(0, (e.at - endedAt) / 1000),
      rssMaxBytes: e.rssMax,
      rssEndBytes: e.rssEnd,
      found: new Set(via.keys()),
      via,
      threads: e.threads,
    });
  }
  return { results, appendS: (endedAt - startedAt) / 1000 };
}

/** Runs the whole comparison; every process it starts is stopped before it returns. */
export async function runDetectLive(o: LiveOptions): Promise<LiveResult> {
  const say = o.log ?? (() => undefined);
  const log = buildLiveLog(Math.round(o.rate * o.seconds), o.cut);
  const logPath = join(o.dir, 'auth.log');
  writeFileSync(logPath, '');
  say(
    `log: ${log.bodies.length} lines to append, ${log.attackers.size} attacking addresses (${o.cut ? 'cut at the end: some bursts short' : 'whole bursts'}), 4 end markers`,
  );
  let canh: Canh | undefined;
  let f2b: Fail2ban | undefined;
  try {
    canh = await startCanh(o, logPath);
    say(`canh-agent: ${canh.form}, pid ${canh.pid}`);
    f2b = await startFail2ban({
      dir: o.dir,
      logPath,
      maxretry: o.threshold,
      findtimeS: o.windowS,
      backend: o.f2bBackend,
      loglevel: o.f2bLoglevel,
    });
    const bans = f2b.bans.bind(f2b);
    say(`fail2ban-server: backend ${f2b.backend}, pid ${f2b.pid}`);
    // Both started: let their start-up settle before the window opens.
    await sleep((o.settleS ?? 3) * 1000);
    const followers: Follower[] = [canh, { name: 'fail2ban-server', pid: f2b.pid, proc: f2b.proc, reported: async () => bans() }];
    say(`appending at ${o.rate} lines/s...`);
    const { results, appendS } = await measure(o, logPath, log, followers);
    return { lines: log.bodies.length, appendS, cut: !!o.cut, log, agentForm: canh.form, f2bBackend: f2b.backend, canh: results[0]!, fail2ban: results[1]! };
  } finally {
    await f2b?.stop();
    await canh?.proc.stop(5000);
    await canh?.collector.proc.stop(5000);
    await canh?.influx.stop();
  }
}

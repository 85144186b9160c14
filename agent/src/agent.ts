// The agent process: inputs and detectors → batcher → spool → transport → collector.
// start() returns once everything is running; stop() flushes and closes, safe twice.
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { CanhError, ClockWatch, DiskSpool, systemClock, type Clock, type MinFree, type Spool } from '@canh/core';
import { ConfigError, parseCentralConfig, type AgentConfig, type CentralConfig, type InputEntry } from './config.ts';
import { Batcher } from './batcher.ts';
import { Scheduler } from './scheduler.ts';
import { Transport } from './transport.ts';
import { createContext, createCounterSource, tickReads } from './context/index.ts';
import type { CounterSource } from './inputs/perf-counters/source.ts';
import type { Input, InputContext } from './inputs/types.ts';
import type { Point } from '@canh/protocol';
import { join } from 'node:path';
import { AGENT_VERSION } from './version.ts';
import { lockStateDir, type StateLock } from './state-lock.ts';

export interface AgentDeps {
  log: Logger;
  /** Supply a spool (tests); default is created from the config. */
  spool?: Spool;
  context?: (stateDir: string) => InputContext;
  /** Validate a central config; default in this process (the bundle's `run`: in a copy of the agent, validate-child.ts). */
  parseCentral?: (raw: unknown) => Promise<CentralConfig>;
  /** Wall and monotonic clocks (tests step the wall clock). */
  clock?: Clock;
  /** The platform the inputs measure (default process.platform); "win32" runs their Windows code path. */
  platform?: NodeJS.Platform;
}

interface Running {
  entry: InputEntry;
  input: Input;
  job?: string;
}

/** The integer fields of the agent's own point (a constant list: the batcher keeps it as it is instead of a filtered copy each tick). */
const SELF_INT_FIELDS: readonly string[] = [
  'spool_batches',
  'spool_bytes',
  'dropped_points',
  'dropped_events',
  'dropped_unacked_points',
  'dropped_points_disk_full',
  'dropped_events_disk_full',
  'spool_disk_full',
  'gather_errors',
  'skipped_gathers',
  'clock_step',
  'clock_steps',
  'bad_acks',
  'invalid_frames',
  'unparsed_lines',
  'valueless_points',
  'rss_bytes',
];
/** Windows: also the restarts of the shared typeperf. */
const SELF_INT_FIELDS_WINDOWS: readonly string[] = [...SELF_INT_FIELDS, 'counter_source_restarts'];

function openSpool(a: AgentConfig['agent'], log: Logger): Spool {
  const dir = join(a.state_dir, 'spool');
  try {
    const spool = new DiskSpool({
      dir,
      maxBytes: a.spool_max_bytes,
      fsync: a.spool_fsync,
      fsyncIntervalMs: a.spool_fsync_interval,
      minFree: a.spool_min_free as MinFree,
      log: log.child({ component: 'spool' }),
    });
    const r = spool.recovery;
    if (r.unacked || r.truncatedBytes) log.info({ ...r, dir }, 'spool recovered');
    return spool;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new CanhError('CANH_ERR_SPOOL_UNWRITABLE', `cannot open the spool in ${dir} (${code}): agent.state_dir must be a folder the agent can write`, {
      cause: err,
    });
  }
}

export class Agent {
  readonly spool: Spool;
  readonly batcher: Batcher;
  readonly transport: Transport;
  private readonly scheduler: Scheduler;
  private running: Running[] = [];
  private stopped = false;
  private centralVersion: number | undefined;
  private currentInterval: number;
  private selfJob: string | undefined;
  /** The socket is read at ticks only (the ack of a tick's batch waits for the next one). */
  private readonly readAtTicks: boolean;
  /** The tick of the agent's own point, taken when the tick's gathers are done (or the turn ends). */
  private selfDue: number | undefined;
  /** Steps of the wall clock, checked at each of the agent's own ticks. */
  private readonly clockWatch: ClockWatch;
  /** Where the agent's own point goes (made once). */
  private selfAcc: ReturnType<Batcher['accumulator']> | undefined;
  gatherErrors = 0;
  private auditErrors = 0;
  private readonly stateLock: StateLock | undefined;
  /** Windows: the one typeperf the host inputs share, created at the first start of inputs. */
  private perfCounters: CounterSource | undefined;

  readonly config: AgentConfig;
  private readonly deps: AgentDeps;

  constructor(config: AgentConfig, deps: AgentDeps) {
    this.config = config;
    this.deps = deps;
    const a = config.agent;
    this.currentInterval = a.interval;
    this.readAtTicks = a.interval <= config.collector.ping_interval;
    // The lock first: a second agent must not even open (and so truncate) the spool.
    this.stateLock = deps.spool ? undefined : lockStateDir(a.state_dir);
    this.spool = deps.spool ?? openSpool(a, deps.log);
    this.batcher = new Batcher(this.spool, {
      batchSize: a.batch_size,
      flushIntervalMs: a.flush_interval,
      maxMessageBytes: a.max_message_bytes,
      // A log read from its saved position waits while half the spool waits for acks: the
      // log keeps its lines, and the other half stays for what cannot wait (host metrics).
      backlogBytes: a.spool_max_bytes / 2,
    });
    this.transport = this.createTransport();
    this.batcher.onBatch = () => this.transport.pump();
    // Acks are read at the next tick (readAtTicks): one that came is read up to an interval late.
    if (this.readAtTicks) this.spool.acksReadWithin?.(a.interval);
    // Link down: batches waiting for their ack get the spool's fsync timer back at once.
    this.transport.onStateChange = (s) => {
      if (s === 'disconnected') this.spool.acksStopped?.();
    };
    if (a.audit_file) this.auditTo(a.audit_file);
    const clock = deps.clock ?? systemClock;
    this.clockWatch = new ClockWatch(clock);
    this.scheduler = new Scheduler(deps.log.child({ component: 'scheduler' }), a.round_interval, clock);
    this.wireTicks();
  }

  private createTransport(): Transport {
    const { config, deps } = this;
    const a = config.agent;
    return new Transport(
      {
        urls: config.collector.collectorUrls,
        token: config.collector.resolvedToken ?? '',
        hostname: a.hostname,
        agentVersion: AGENT_VERSION,
        pingIntervalMs: config.collector.ping_interval,
        reconnectMinMs: config.collector.reconnect_min,
        reconnectMaxMs: config.collector.reconnect_max,
        maxInFlight: config.collector.max_in_flight,
        maxBatchPoints: a.batch_size,
        maxMessageBytes: a.max_message_bytes,
        caFile: config.collector.ca_file,
        insecureSkipVerify: config.collector.insecure_skip_verify,
        // The agent's own measurement runs every interval and checks the link then, so the
        // transport needs no liveness timer waking the agent between ticks, and the socket
        // need not be read between them either: the ack of a tick's batch is read at the
        // next tick instead of waking the agent a second time each cycle. With an interval
        // longer than ping_interval the transport keeps its own timer and reads at once.
        livenessByOwner: this.readAtTicks,
        readAtTicks: this.readAtTicks,
      },
      this.spool,
      deps.log.child({ component: 'transport' }),
    );
  }

  /** Record each spooled and dropped point's key in `file` (a debugging aid). */
  private auditTo(file: string): void {
    const log = this.deps.log;
    const keysOf = (points: readonly Point[]) =>
      points.map(
        (p) =>
          `${p.name}|${Object.entries(p.tags)
            .sort()
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}|${p.time}`,
      );
    // A debugging aid: on a full disk it may fail too, and must not stop the agent.
    const audit = (line: object) => {
      try {
        appendFileSync(file, `${JSON.stringify(line)}\n`);
      } catch (err) {
        this.auditErrors++;
        if (this.auditErrors === 1)
          log.warn({ err: (err as Error).message, file }, 'audit file not writable; audit lines are lost (counted in this process only)');
      }
    };
    this.batcher.onSpooled = (seq, points) => audit({ seq, points: keysOf(points) });
    // Measured but not kept (disk full): counted in dropped_points_disk_full.
    this.batcher.onDropped = (points) => audit({ dropped: 'disk_full', points: keysOf(points) });
  }

  /** The scheduler's tick edges: hold the batcher and share reads while a tick's gathers run. */
  private wireTicks(): void {
    // A tick's points leave as one batch as soon as its gathers are done: one wake-up
    // for gather, spool and send. The flush timer is not even armed while they run
    // (clearing it would not spare the wake-up at its deadline); if some gathers outlast
    // the turn they started in, it is armed then, so flush_interval still bounds the wait
    // of the points already gathered, as it does for points service inputs push between ticks.
    // The gathers of one tick also share their reads of /proc and /sys (tickReads).
    this.scheduler.onBusy = () => {
      this.transport.wake();
      this.batcher.hold();
      tickReads.open();
    };
    // The agent's own point is taken here, after the turn's reads of the socket: with
    // readAtTicks the ack of the last tick's batch is read in this turn, and the spool depth
    // and the link's liveness are judged after it.
    this.scheduler.onStillBusy = () => {
      tickReads.close();
      this.reportSelfNow();
      this.batcher.release();
    };
    this.scheduler.onIdle = () => {
      tickReads.close();
      this.reportSelfNow();
      this.batcher.flush();
      this.batcher.release();
      this.transport.rest();
    };
  }

  async start(): Promise<void> {
    const a = this.config.agent;
    mkdirSync(a.state_dir, { recursive: true, mode: 0o750 });
    this.batcher.start();
    const saved = a.central_config ? await this.loadSavedCentral() : undefined;
    if (saved) {
      this.deps.log.info({ version: saved.version }, 'running the central config received last time');
      this.centralVersion = saved.version;
      await this.startInputs(saved.inputs, saved.interval);
    } else {
      await this.startInputs([...this.config.inputs, ...this.config.detectors], a.interval);
    }
    this.selfJob = this.scheduler.add({ name: 'agent', intervalMs: a.interval, run: async (at) => this.reportSelf(at) });
    this.transport.configVersion = () => this.centralVersion;
    this.transport.onConfig = (version, config) => this.applyCentral(version, config);
    this.transport.start();
  }

  private async startInputs(entries: InputEntry[], interval: number): Promise<void> {
    const a = this.config.agent;
    for (const entry of entries) {
      const log = this.deps.log.child({ input: entry.type });
      const intervalMs = entry.interval ?? interval;
      const platform = this.deps.platform ?? process.platform;
      if (platform === 'win32')
        this.perfCounters ??= createCounterSource({ ...a.windows_counters, intervalMs: interval, aligned: a.round_interval, log: this.deps.log });
      const ctx =
        this.deps.context?.(a.state_dir) ??
        createContext({
          stateDir: a.state_dir,
          hostname: a.hostname,
          log,
          intervalMs,
          alignedGathers: a.round_interval,
          platform,
          ...(this.perfCounters ? { perfCounters: this.perfCounters } : {}),
        });
      const input = entry.definition.create(entry.options, ctx);
      const running: Running = { entry, input };
      this.running.push(running);
      const acc = this.batcher.accumulator(entry.type, entry.tags);
      if (input.start) await input.start(acc);
      if (input.gather) {
        const gather = input.gather.bind(input);
        // One accumulator for every gather of the input, stamping the time of the gather
        // under way (the scheduler never starts one while the last still runs), instead of
        // an object and four closures made for each.
        let gatherAt = 0;
        const gatherAcc = this.batcher.accumulator(entry.type, entry.tags, () => gatherAt);
        running.job = this.scheduler.add({
          name: entry.type,
          intervalMs,
          run: async (at) => {
            gatherAt = at;
            try {
              await gather(gatherAcc);
            } catch (err) {
              this.gatherErrors++;
              throw err;
            }
          },
        });
      }
    }
  }

  private async stopInputs(): Promise<void> {
    const running = this.running;
    this.running = [];
    for (const r of running) {
      if (r.job) this.scheduler.remove(r.job);
      try {
        await r.input.stop?.();
      } catch (err) {
        this.deps.log.warn({ err, input: r.entry.type }, 'input did not stop cleanly');
      }
    }
  }

  private centralFile(): string {
    return join(this.config.agent.state_dir, 'central-config.json');
  }

  private parseCentral(raw: unknown): Promise<CentralConfig> {
    return this.deps.parseCentral ? this.deps.parseCentral(raw) : Promise.resolve().then(() => parseCentralConfig(raw));
  }

  private async loadSavedCentral(): Promise<{ version: number; inputs: InputEntry[]; interval: number } | undefined> {
    let raw: { version: number; config: unknown };
    try {
      raw = JSON.parse(readFileSync(this.centralFile(), 'utf8')) as { version: number; config: unknown };
    } catch {
      return undefined;
    }
    try {
      const c = await this.parseCentral(raw.config);
      return { version: raw.version, ...this.merge(c) };
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'saved central config no longer valid; using the local config');
      return undefined;
    }
  }

  private merge(c: CentralConfig): { inputs: InputEntry[]; interval: number } {
    return {
      inputs: [...(c.inputs ?? this.config.inputs), ...(c.detectors ?? this.config.detectors)],
      interval: c.interval ?? this.config.agent.interval,
    };
  }

  /**
   * Apply a config pushed by the collector without a restart. A config that does not
   * validate, or whose inputs fail to start, is refused with the reason and the previous
   * inputs keep running. Returns the errors (empty when applied).
   */
  async applyCentral(version: number, raw: unknown): Promise<string[]> {
    const log = this.deps.log.child({ component: 'central-config', version });
    if (!this.config.agent.central_config) return ['central configuration is disabled on this host (agent.central_config: false)'];
    if (version === this.centralVersion) return [];
    let next;
    try {
      next = this.merge(await this.parseCentral(raw));
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      log.warn({ problems }, 'central config refused; the previous config keeps running');
      return problems;
    }
    const previous = this.running.map((r) => r.entry);
    const previousInterval = this.currentInterval;
    await this.stopInputs();
    try {
      await this.startInputs(next.inputs, next.interval);
    } catch (err) {
      await this.stopInputs();
      await this.startInputs(previous, previousInterval);
      const msg = `inputs failed to start: ${(err as Error).message}`;
      log.warn({ err: (err as Error).message }, 'central config refused; the previous config keeps running');
      return [msg];
    }
    this.currentInterval = next.interval;
    this.centralVersion = version;
    const tmp = `${this.centralFile()}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version, config: raw }), { mode: 0o600 });
    renameSync(tmp, this.centralFile());
    log.info({ inputs: next.inputs.map((e) => e.type) }, 'central config applied');
    return [];
  }

  /** The central config version running now, if any. */
  get configVersion(): number | undefined {
    return this.centralVersion;
  }

  /** The agent's own health, as the `agent` measurement: spool depth and data dropped. */
  private reportSelf(at: number): void {
    this.selfDue = at;
  }

  private reportSelfNow(): void {
    const at = this.selfDue;
    if (at === undefined) return;
    this.selfDue = undefined;
    this.transport.checkLiveness();
    this.checkClock(at);
    const s = this.spool.stats();
    // rss() alone: memoryUsage() also gathers V8's heap statistics, which nothing here reports.
    const rss = process.memoryUsage.rss();
    let unparsed = 0;
    for (const r of this.running) unparsed += r.input.selfCounters?.().unparsed_lines ?? 0;
    // Windows: typeperf rows and header columns that could not be read.
    unparsed += this.perfCounters?.unparsed ?? 0;
    (this.selfAcc ??= this.batcher.accumulator('agent')).addPoint(
      'agent',
      {},
      {
        spool_batches: s.batches,
        spool_bytes: s.bytes,
        dropped_points: s.droppedPoints,
        dropped_events: s.droppedEvents,
        dropped_unacked_points: s.droppedUnackedPoints,
        // Of dropped_points / dropped_events: what the disk would not take (full, below spool_min_free, write errors).
        dropped_points_disk_full: s.droppedDiskFullPoints ?? 0,
        dropped_events_disk_full: s.droppedDiskFullEvents ?? 0,
        spool_disk_full: s.diskFull ? 1 : 0,
        gather_errors: this.gatherErrors,
        skipped_gathers: this.scheduler.skipped,
        clock_step: this.clockWatch.lastStepMs,
        clock_steps: this.clockWatch.steps,
        bad_acks: this.transport.badAcks,
        invalid_frames: this.transport.invalidFrames,
        unparsed_lines: unparsed,
        valueless_points: this.batcher.valueless,
        rss_bytes: rss,
        version: AGENT_VERSION,
        // Windows: times the shared typeperf ended and was started again.
        ...(this.perfCounters ? { counter_source_restarts: this.perfCounters.restarts } : {}),
      },
      {
        time: at,
        int: this.perfCounters ? SELF_INT_FIELDS_WINDOWS : SELF_INT_FIELDS,
      },
    );
  }

  /**
   * A step of the wall clock larger than CLOCK_STEP_THRESHOLD_MS: logged, and an event. Gathers
   * go on (the scheduler's timers are monotonic); points are stamped by the new clock, so
   * after a step back by S the points of the next S may carry times already used, and
   * InfluxDB keeps the later of two points with one key (docs/delivery.md).
   */
  private checkClock(at: number): void {
    const step = this.clockWatch.check();
    if (step === undefined) return;
    const back = step < 0;
    const message = `the wall clock stepped ${back ? 'back' : 'forward'} by ${Math.round(Math.abs(step) / 1000)} s${back ? '; points of the next as many seconds may carry times already used before the step' : ''}`;
    this.deps.log.warn({ clock_step_ms: step, steps: this.clockWatch.steps }, message);
    this.batcher.accumulator('agent').addEvent({ time: at, type: 'clock_step', severity: 'low', message, evidence: { step_ms: step } });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.selfJob) this.scheduler.remove(this.selfJob);
    await this.stopInputs();
    this.perfCounters?.stop();
    this.scheduler.stop();
    this.batcher.stop();
    await this.transport.stop();
    await this.spool.close();
    if (this.batcher.lateAfterStop)
      this.deps.log.info({ points_and_events: this.batcher.lateAfterStop }, 'measured after stop began, not kept (the agent was stopping)');
    this.stateLock?.release();
  }
}

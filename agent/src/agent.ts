// The agent process: inputs and detectors → batcher → spool → transport → collector.
// start() returns once everything is running; stop() flushes and closes, safe twice.
import { appendFileSync, mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { CanhError } from '@canh/protocol';
import type { AgentConfig, InputEntry } from './config.ts';
import { Batcher } from './batcher.ts';
import { Scheduler } from './scheduler.ts';
import { Transport } from './transport.ts';
import { createContext } from './context.ts';
import type { Input, InputContext } from './inputs/types.ts';
import type { Spool } from './spool/types.ts';
import { join } from 'node:path';
import { DiskSpool } from './spool/disk.ts';
import { AGENT_VERSION } from './version.ts';

export interface AgentDeps {
  log: Logger;
  /** Supply a spool (tests); default is created from the config. */
  spool?: Spool;
  context?: (stateDir: string) => InputContext;
}

interface Running {
  entry: InputEntry;
  input: Input;
}

function openSpool(a: AgentConfig['agent'], log: Logger): Spool {
  const dir = join(a.state_dir, 'spool');
  try {
    const spool = new DiskSpool({ dir, maxBytes: a.spool_max_bytes, fsync: a.spool_fsync, fsyncIntervalMs: a.spool_fsync_interval, log: log.child({ component: 'spool' }) });
    const r = spool.recovery;
    if (r.unacked || r.truncatedBytes) log.info({ ...r, dir }, 'spool recovered');
    return spool;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new CanhError('CANH_ERR_SPOOL_UNWRITABLE', `cannot open the spool in ${dir} (${code}): agent.state_dir must be a folder the agent can write`, { cause: err });
  }
}

export class Agent {
  readonly spool: Spool;
  readonly batcher: Batcher;
  readonly transport: Transport;
  private readonly scheduler: Scheduler;
  private running: Running[] = [];
  private stopped = false;
  gatherErrors = 0;

  readonly config: AgentConfig;
  private readonly deps: AgentDeps;

  constructor(
    config: AgentConfig,
    deps: AgentDeps,
  ) {
    this.config = config;
    this.deps = deps;
    const a = config.agent;
    this.spool = deps.spool ?? openSpool(a, deps.log);
    this.batcher = new Batcher(this.spool, {
      batchSize: a.batch_size,
      flushIntervalMs: a.flush_interval,
      maxMessageBytes: a.max_message_bytes,
    });
    this.transport = new Transport(
      {
        url: config.collector.url,
        token: config.collector.resolvedToken ?? '',
        hostname: a.hostname,
        agentVersion: AGENT_VERSION,
        pingIntervalMs: config.collector.ping_interval,
        reconnectMinMs: config.collector.reconnect_min,
        reconnectMaxMs: config.collector.reconnect_max,
        maxInFlight: config.collector.max_in_flight,
        caFile: config.collector.ca_file,
        insecureSkipVerify: config.collector.insecure_skip_verify,
      },
      this.spool,
      deps.log.child({ component: 'transport' }),
    );
    this.batcher.onBatch = () => this.transport.pump();
    if (a.audit_file) {
      const file = a.audit_file;
      this.batcher.onSpooled = (seq, points) => {
        const keys = points.map((p) => `${p.name}|${Object.entries(p.tags).sort().map(([k, v]) => `${k}=${v}`).join(',')}|${p.time}`);
        appendFileSync(file, `${JSON.stringify({ seq, points: keys })}\n`);
      };
    }
    this.scheduler = new Scheduler(deps.log.child({ component: 'scheduler' }), a.round_interval);
  }

  async start(): Promise<void> {
    const a = this.config.agent;
    mkdirSync(a.state_dir, { recursive: true, mode: 0o750 });
    this.batcher.start();
    for (const entry of [...this.config.inputs, ...this.config.detectors]) {
      const log = this.deps.log.child({ input: entry.type });
      const ctx = this.deps.context?.(a.state_dir) ?? createContext({ stateDir: a.state_dir, hostname: a.hostname, log });
      const input = entry.definition.create(entry.options, ctx);
      this.running.push({ entry, input });
      const acc = this.batcher.accumulator(entry.type, entry.tags);
      if (input.start) await input.start(acc);
      if (input.gather) {
        const gather = input.gather.bind(input);
        this.scheduler.add({
          name: entry.type,
          intervalMs: entry.interval ?? a.interval,
          run: async (at) => {
            try {
              await gather(this.batcher.accumulator(entry.type, entry.tags, () => at));
            } catch (err) {
              this.gatherErrors++;
              throw err;
            }
          },
        });
      }
    }
    this.scheduler.add({ name: 'agent', intervalMs: a.interval, run: async (at) => this.reportSelf(at) });
    this.transport.start();
  }

  /** The agent's own health, as the `agent` measurement: spool depth and data dropped. */
  private async reportSelf(at: number): Promise<void> {
    const s = this.spool.stats();
    const mem = process.memoryUsage();
    this.batcher.accumulator('agent').addPoint(
      'agent',
      {},
      {
        spool_batches: s.batches,
        spool_bytes: s.bytes,
        dropped_points: s.droppedPoints,
        dropped_events: s.droppedEvents,
        dropped_unacked_points: s.droppedUnackedPoints,
        gather_errors: this.gatherErrors,
        skipped_gathers: this.scheduler.skipped,
        rss_bytes: mem.rss,
        version: AGENT_VERSION,
      },
      {
        time: at,
        int: ['spool_batches', 'spool_bytes', 'dropped_points', 'dropped_events', 'dropped_unacked_points', 'gather_errors', 'skipped_gathers', 'rss_bytes'],
      },
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.scheduler.stop();
    for (const r of this.running) {
      try {
        await r.input.stop?.();
      } catch (err) {
        this.deps.log.warn({ err, input: r.entry.type }, 'input did not stop cleanly');
      }
    }
    this.batcher.stop();
    await this.transport.stop();
    await this.spool.close();
  }
}

// The real Canh pipeline for integration tests: a real influxd, an in-process collector
// on a free loopback port, and in-process agents registered in its registry. Tests read
// back what reached InfluxDB with query()/waitFor().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Collector } from '../../collector/src/collector.ts';
import { parseCollectorConfig, type CollectorConfig } from '../../collector/src/config.ts';
import type { CollectorHooks } from '../../collector/src/server.ts';
import { Agent } from '../../agent/src/agent.ts';
import { parseConfig } from '../../agent/src/config.ts';
import type { Spool } from '@canh/core';
import { seriesRows, startInfluxd, type Influxd, type InfluxQueryResult, type InfluxRow } from './influxd.ts';

export type Row = InfluxRow;

export interface AgentSpec {
  name: string;
  agency?: string;
  site?: string;
  inputs?: unknown[];
  detectors?: unknown[];
  agent?: Record<string, unknown>;
  collector?: Record<string, unknown>;
  spool?: Spool;
  /** Do not start it (the test starts it itself). */
  noStart?: boolean;
  /** The platform its inputs measure ("win32": their Windows code path). */
  platform?: NodeJS.Platform;
}

export interface AgentHandle {
  agent: Agent;
  token: string;
  name: string;
  stateDir: string;
  stop(): Promise<void>;
}

export interface Pipeline {
  influx: Influxd;
  collector: Collector;
  config: CollectorConfig;
  /** ws://127.0.0.1:<port>/v1/agent */
  url: string;
  database: string;
  dir: string;
  log: Logger;
  addAgent(spec: AgentSpec): Promise<AgentHandle>;
  query(q: string): Promise<Row[]>;
  waitFor(q: string, predicate: (rows: Row[]) => boolean, timeoutMs?: number): Promise<Row[]>;
  stop(): Promise<void>;
}

export async function startPipeline(
  opts: { influx?: Influxd; collector?: Record<string, unknown>; hooks?: CollectorHooks; database?: string } = {},
): Promise<Pipeline> {
  const dir = mkdtempSync(join(tmpdir(), 'canh-pipeline-'));
  const influx = opts.influx ?? (await startInfluxd());
  const database = opts.database ?? 'canh';
  const log = pino({ level: process.env.CANH_TEST_LOG ?? 'silent' });
  const config = parseCollectorConfig({
    listen: { host: '127.0.0.1', port: 0 },
    state_dir: join(dir, 'collector'),
    ...opts.collector,
    influx: { url: influx.url, database, flush_interval: 100, ...((opts.collector?.influx as object | undefined) ?? {}) },
  });
  // Collector.create: the state of `state.postgres` when the config names one, else SQLite.
  const collector = await Collector.create(config, { log: log.child({ process: 'collector' }), hooks: opts.hooks });
  await collector.start();
  const url = `ws://127.0.0.1:${collector.server.port}/v1/agent`;
  const agents: AgentHandle[] = [];

  const query = async (q: string) => seriesRows((await collector.writer.query(q, database)) as InfluxQueryResult);

  return {
    influx,
    collector,
    config,
    url,
    database,
    dir,
    log,
    async addAgent(spec) {
      const { token } = collector.registry.add({ name: spec.name, agency: spec.agency ?? 'test-agency', site: spec.site ?? 'test-site' });
      const stateDir = join(dir, 'agents', spec.name);
      const cfg = parseConfig(
        {
          collector: { url, token, reconnect_min: 100, reconnect_max: 2000, ...spec.collector },
          agent: { interval: '1s', flush_interval: 100, state_dir: stateDir, hostname: spec.name, ...spec.agent },
          inputs: spec.inputs ?? [],
          detectors: spec.detectors ?? [],
        },
        { env: {}, ...(spec.platform ? { platform: spec.platform } : {}) },
      );
      const agent = new Agent(cfg, {
        log: log.child({ process: 'agent', agent: spec.name }),
        spool: spec.spool,
        ...(spec.platform ? { platform: spec.platform } : {}),
      });
      if (!spec.noStart) await agent.start();
      const handle: AgentHandle = { agent, token, name: spec.name, stateDir, stop: () => agent.stop() };
      agents.push(handle);
      return handle;
    },
    query,
    async waitFor(q, predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Row[] = [];
      let lastErr: unknown;
      while (Date.now() < deadline) {
        try {
          last = await query(q);
          if (predicate(last)) return last;
        } catch (err) {
          lastErr = err;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for: ${q}\nlast rows: ${JSON.stringify(last).slice(0, 1000)}${lastErr ? `\nlast error: ${String(lastErr)}` : ''}`,
      );
    },
    async stop() {
      for (const a of agents) await a.stop().catch(() => {});
      await collector.stop();
      if (!opts.influx) await influx.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

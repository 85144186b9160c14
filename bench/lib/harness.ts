// Setting up a benchmark's real processes: agents registered in the collector's
// registry, the collector started by its CLI with a config file, load-generator
// workers (bench/lib/agent-worker.ts) whose status lines are collected.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRegistry } from '../../collector/src/collector.ts';
import { pollUntil, spawnManaged, type ManagedProcess } from '../../test/helpers/process.ts';
import type { WorkerConfig } from './agent-worker.ts';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export interface RegisteredAgent {
  name: string;
  token: string;
  agency: string;
  site: string;
}

/** Register n agents through the registry's own API, in one transaction. */
export function registerAgents(stateDir: string, n: number, prefix = 'host'): RegisteredAgent[] {
  const registry = openRegistry(stateDir);
  const out: RegisteredAgent[] = [];
  try {
    registry.db.exec('BEGIN');
    for (let i = 0; i < n; i++) {
      const input = { name: `${prefix}-${String(i).padStart(5, '0')}`, agency: `so-${String(i % 40).padStart(2, '0')}`, site: `site-${i % 7}` };
      const { token } = registry.add(input);
      out.push({ ...input, token });
    }
    registry.db.exec('COMMIT');
  } finally {
    registry.close();
  }
  return out;
}

/** Open-files limit for a process: `prlimit` wraps it when we are root and need more. */
function withNofile(cmd: string, args: string[], nofile: number | undefined): [string, string[]] {
  if (!nofile || !existsSync('/usr/bin/prlimit') || process.getuid?.() !== 0) return [cmd, args];
  return ['/usr/bin/prlimit', [`--nofile=${nofile}:${nofile}`, '--', cmd, ...args]];
}

export interface CollectorProc {
  proc: ManagedProcess;
  pid: number;
  url: string;
  port: number;
}

/** Write the collector's YAML (JSON is YAML) and start it by its CLI; resolves once /healthz answers. */
export async function startCollector(dir: string, config: Record<string, unknown>, opts: { nofile?: number; port: number }): Promise<CollectorProc> {
  const file = join(dir, 'collector.yaml');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const [cmd, args] = withNofile(process.execPath, [join(root, 'collector/src/cli.ts'), 'serve', '--config', file], opts.nofile);
  // BENCH_COLLECTOR_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the collector.
  const nodeOptions = process.env.BENCH_COLLECTOR_NODE_OPTIONS;
  const proc = spawnManaged(cmd, args, { name: 'collector', ringSize: 200, ...(nodeOptions ? { env: { NODE_OPTIONS: nodeOptions } } : {}) });
  await pollUntil(
    async () => {
      const res = await fetch(`http://127.0.0.1:${opts.port}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      return true;
    },
    { timeoutMs: 30_000, what: 'the collector to answer /healthz', abortIf: () => (proc.running ? undefined : proc.describe()) },
  );
  // With prlimit in front, the pid we spawned execs into node: same pid.
  return { proc, pid: proc.pid!, url: `ws://127.0.0.1:${opts.port}/v1/agent`, port: opts.port };
}

export interface WorkerStatus {
  type: 'status' | 'final';
  at: number;
  agents: number;
  welcomed: number;
  connects: number;
  closes: number;
  sentBatches: number;
  ackedBatches: number;
  ackedPoints: number;
  errors: number;
  spooled: number;
  /** Age of the oldest batch still waiting for its ack, over all agents (0: none). */
  oldestUnackedMs: number;
  producing: boolean;
  rssBytes: number;
  cpuMs: number;
  /** CPU used since the flood started (flood mode). */
  floodCpuMs: number;
  /** With several collectors: agents welcomed, per collector URL. */
  welcomedBy?: Record<string, number>;
  /** The generator's own event-loop delay over the last second, ms. */
  loopLagP99Ms?: number;
  loopLagMaxMs?: number;
  hist: Record<string, number>;
}

export interface Worker {
  proc: ManagedProcess;
  last: WorkerStatus | undefined;
  final: WorkerStatus | undefined;
  onStatus: ((s: WorkerStatus) => void) | undefined;
}

export function startWorker(dir: string, index: number, cfg: WorkerConfig, nofile?: number): Worker {
  const file = join(dir, `worker-${index}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  const [cmd, args] = withNofile(process.execPath, [join(root, 'bench/lib/agent-worker.ts'), file], nofile);
  const proc = spawnManaged(cmd, args, { name: `worker-${index}`, ringSize: 50 });
  const w: Worker = { proc, last: undefined, final: undefined, onStatus: undefined };
  let partial = '';
  proc.child.stdout?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line.startsWith('{')) continue;
      const s = JSON.parse(line) as WorkerStatus;
      w.last = s;
      if (s.type === 'final') w.final = s;
      w.onStatus?.(s);
    }
  });
  return w;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

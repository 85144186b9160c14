// A real agent process (`node agent/src/cli.ts run`) registered with an in-process
// pipeline's collector: for what an in-process agent cannot have of its own — a time zone
// (TZ), a wall clock (libfaketime), a procfs of another network namespace (HOST_PROC).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pipeline } from './pipeline.ts';
import { spawnManaged, type ManagedProcess } from './process.ts';

const root = join(import.meta.dirname, '..', '..');

export interface RealAgent {
  name: string;
  stateDir: string;
  config: string;
  proc: ManagedProcess | undefined;
  /** Start (again) with the same config and state; `env` is added to the process's environment. */
  start(env?: Record<string, string>): void;
  stop(): Promise<void>;
}

export function realAgent(
  p: Pipeline,
  dir: string,
  spec: { name: string; agency?: string; site?: string; detectors: unknown[]; env?: Record<string, string> },
): RealAgent {
  const { token } = p.collector.registry.add({ name: spec.name, agency: spec.agency ?? 'so-tttt', site: spec.site ?? 'dc1' });
  const tokenFile = join(dir, `${spec.name}.token`);
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const stateDir = join(dir, `${spec.name}-state`);
  const config = join(dir, `${spec.name}.yaml`);
  // JSON is YAML: the config as the agent reads it.
  writeFileSync(
    config,
    JSON.stringify({
      collector: { url: p.url, token_file: tokenFile, reconnect_min: '100ms', reconnect_max: '1s' },
      agent: { interval: '1s', flush_interval: '100ms', state_dir: stateDir, hostname: spec.name },
      inputs: [],
      detectors: spec.detectors,
    }),
  );
  const a: RealAgent = {
    name: spec.name,
    stateDir,
    config,
    proc: undefined,
    start(env = {}) {
      a.proc = spawnManaged(process.execPath, [join(root, 'agent/src/cli.ts'), 'run', '--config', config], {
        name: spec.name,
        env: { CANH_LOG_LEVEL: process.env.CANH_TEST_LOG ?? 'warn', ...spec.env, ...env },
      });
    },
    async stop() {
      await a.proc?.stop();
    },
  };
  return a;
}

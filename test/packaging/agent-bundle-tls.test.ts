// The bundle's `run` loads node:tls only when it needs it (agent/src/lazy-tls.ts and the
// build's lazyTlsInWs): requiring node:tls makes Node parse its bundled root certificates,
// ~2.9 MiB of RSS (docs/benchmarks.md). An agent with a ws:// collector and no TLS check
// must not load it; one with a wss:// collector loads it at its first connect (so this
// test can fail). Which builtins a process loaded is read from process.moduleLoadList,
// written by a --require'd probe when it gets SIGUSR2 (its handler is there from the
// first line, so the signal never meets a process without one).
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleAgent } from '../../deploy/build/bundle.ts';
import { AGENT_NODE_FLAGS } from '../../agent/src/node-flags.ts';
import { freePort } from '../helpers/ports.ts';
import { tmp } from './helpers.ts';

let bundle = '';
let probe = '';
beforeAll(async () => {
  const dir = tmp('bundle-tls');
  bundle = (await bundleAgent({ outfile: join(dir, 'canh-agent.cjs'), quiet: true })).file;
  probe = join(dir, 'probe.cjs');
  // Only the agent itself (argv "run"), not the short-lived copy that validates its config.
  writeFileSync(
    probe,
    `if (process.argv[2] === 'run') process.on('SIGUSR2', () => { require('node:fs').writeFileSync(process.env.CANH_TEST_MODULES, JSON.stringify(process.moduleLoadList)); process.exit(0); });\n`,
  );
});

/** Run the bundled agent until it says it started (its collector connect begun), and return the builtins it loaded by then. */
async function builtinsOfRun(url: string): Promise<string[]> {
  const dir = tmp('agent-tls');
  const config = join(dir, 'agent.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      collector: { url, token: 't' },
      agent: { interval: '10s', state_dir: join(dir, 'state'), hostname: 'tls-test', log_level: 'info' },
      inputs: [{ type: 'mem' }, { type: 'cpu' }],
    }),
  );
  const out = join(dir, 'modules.json');
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, '--require', probe, bundle, 'run', '--config', config], {
    env: { ...process.env, CANH_TEST_MODULES: out },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('canh-agent started')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`agent exited (${code}) before it started: ${stderr}`)));
  });
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGUSR2');
  await exited;
  return (JSON.parse(readFileSync(out, 'utf8')) as string[]).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
}

describe('the bundled agent and node:tls', () => {
  it('does not load node:tls or node:https with a ws:// collector and no TLS check', async () => {
    const loaded = await builtinsOfRun(`ws://127.0.0.1:${await freePort()}/v1/agent`);
    expect(loaded).toContain('http');
    expect(loaded).not.toContain('tls');
    expect(loaded).not.toContain('https');
  });

  it('loads node:tls with a wss:// collector', async () => {
    const loaded = await builtinsOfRun(`wss://127.0.0.1:${await freePort()}/v1/agent`);
    expect(loaded).toContain('tls');
    expect(loaded).toContain('https');
  });
});

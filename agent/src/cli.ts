#!/usr/bin/env node
// canh-agent: the command line of the agent.
//   canh-agent [run] --config /etc/canh/agent.yaml   run as a service (foreground)
//   canh-agent --validate --config F                 check a config and exit
//   canh-agent check --config F [--input cpu]        gather once, print line protocol
//   canh-agent detect auth_log [--file F|-] [--set k=v]  run a log through a detector (no config)
//   canh-agent service install|uninstall|status      run as a systemd / Windows service
//   canh-agent --version
import { parseArgs } from 'node:util';
// Coded errors alone: the @canh/core barrel would load the logger (pino, worker_threads, zlib)
// that `detect` does not use.
import { CanhError } from '@canh/core/errors';
import type { Logger } from 'pino';
import type { AgentConfig } from './config.ts';
import { AGENT_VERSION } from './version.ts';
import { CLI_OPTIONS, VALIDATE_FOR_RUN } from './cli-options.ts';
import { zodLeftOut } from './zod-mode.ts';
// What each command needs is loaded when it runs: `detect` and `--version` do not pay for
// every input and detector of `run` (about half a second of CPU from source).

const USAGE = `usage: canh-agent [run|check|detect] --config FILE [--validate] [--input NAME]... [--version]

  run        (default) measure and report to the collector until stopped
  check      run every configured input once and print InfluxDB line protocol
  detect D   run a log (--file F, or standard input) through detector D (auth_log,
             windows_eventlog) and print JSON lines: recognised lines, then events;
             --set key=value changes a detector option (e.g. --set threshold=3)
  service    install|uninstall|status: the agent as a system service (service --help)
  --validate check the config file and exit non-zero with the problems found
Config: ${'/etc/canh/agent.yaml'} unless --config or CANH_AGENT_CONFIG says otherwise.`;

export async function main(argv: string[]): Promise<number> {
  // `service` has its own options (--purge, --binary...), so it is routed before parsing.
  if (argv[0] === 'service') {
    const { serviceCommand } = await import('./service/command.ts');
    return serviceCommand(argv.slice(1)).catch(coded);
  }
  // The short-lived copy of the agent that validates the config of a running one.
  if (argv[0] === VALIDATE_FOR_RUN) return (await import('./validate-child.ts')).validateForRun(argv.slice(1));
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: CLI_OPTIONS,
    });
  } catch (err) {
    process.stderr.write(`canh-agent: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.version) {
    process.stdout.write(`canh-agent ${AGENT_VERSION}\n`);
    return 0;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = positionals[0] ?? 'run';
  if (command === 'detect') return detectCommand(positionals[1] ?? '', values).catch(coded);
  const file = values.config ?? process.env.CANH_AGENT_CONFIG ?? '/etc/canh/agent.yaml';
  const { loadConfig } = await import('./config.ts');
  const { loadConfigInChild, parseCentralInChild } = await import('./validate-child.ts');
  let config;
  try {
    config = zodLeftOut() ? loadConfigInChild(file) : loadConfig(file);
  } catch (err) {
    return coded(err);
  }
  if (values.validate) {
    process.stdout.write(`${file}: valid (${config.inputs.length} inputs, ${config.detectors.length} detectors)\n`);
    return 0;
  }
  const { createLogger } = await import('@canh/core');
  const log = createLogger({ name: 'canh-agent', level: config.agent.log_level });
  switch (command) {
    case 'check': {
      const { runCheck } = await import('./check.ts');
      const errors = await runCheck(config, log, (l) => process.stdout.write(`${l}\n`), { only: values.input });
      return errors ? 1 : 0;
    }
    case 'run':
      return runAgent(config, log, zodLeftOut() ? parseCentralInChild : undefined).catch(coded);
    default:
      process.stderr.write(`canh-agent: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

/** A CanhError (user error or a known fault) printed with its code: exit 1. Anything else is a bug and propagates. */
function coded(err: unknown): number {
  if (!(err instanceof CanhError)) throw err;
  process.stderr.write(`canh-agent: ${err.message}\n(${err.code})\n`);
  return 1;
}

/** `detect D`: JSON lines in chunks to standard output (detect-out.ts). */
async function detectCommand(detector: string, values: { file?: string; set?: string[] }): Promise<number> {
  const [{ runDetect }, { ChunkedOut }] = await Promise.all([import('./detect.ts'), import('./detect-out.ts')]);
  // The reader went away (`detect … | head`): what it wanted is printed; stop quietly, as a
  // Unix filter does on SIGPIPE, instead of an unhandled 'error' with its stack.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
  const chunks = new ChunkedOut(process.stdout);
  const out = Object.assign((l: string) => chunks.line(l), {
    drain: () => chunks.drain(),
    verdict: chunks.verdict.bind(chunks),
  });
  const rc = await runDetect(detector, { file: values.file, set: values.set }, out);
  await chunks.drain();
  return rc;
}

/** `run`: the agent until SIGINT or SIGTERM. Another agent on this state_dir, or a spool that cannot be opened, is a CanhError. */
async function runAgent(
  config: AgentConfig,
  log: Logger,
  parseCentral: (typeof import('./validate-child.ts'))['parseCentralInChild'] | undefined,
): Promise<number> {
  const { Agent } = await import('./agent.ts');
  const agent = new Agent(config, { log, ...(parseCentral ? { parseCentral } : {}) });
  await agent.start();
  log.info({ version: AGENT_VERSION, inputs: config.inputs.map((i) => i.type), collectors: config.collector.collectorUrls }, 'canh-agent started');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info('stopping');
  await agent.stop();
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `canh-agent: ${err instanceof CanhError && err.code === 'CANH_ERR_CONFIG_INVALID' ? err.message : ((err as Error).stack ?? String(err))}\n`,
      );
      process.exitCode = 1;
    },
  );
}

#!/usr/bin/env node
// canh-collector: the command line of the collector.
//   canh-collector [serve] --config /etc/canh/collector.yaml
//   canh-collector agent add --name H --agency A --site S    prints the token once
//   canh-collector agent list | agent revoke NAME | agent remove NAME
//   canh-collector silence add|list|expire              (alerts/cli.ts)
//   canh-collector maintenance add|list|remove          (commands/maintenance.ts)
//   canh-collector alert list|ack                       (commands/alert.ts)
//   canh-collector alerts reload                        (alerts/cli.ts; SIGHUP does the same)
//   canh-collector config push|show|history|rollback|delete
//   canh-collector backup --to DIR | restore --from DIR (commands/backup.ts)
//   canh-collector state migrate --to postgres          (commands/state.ts)
//   canh-collector --validate --config F | --version
// A user's mistake (CanhError) is printed as its message and code, exit 2, never a stack
// trace; anything else is a bug and keeps its stack (exit 1).
import { parseArgs } from 'node:util';
import { CanhError, createLogger } from '@canh/core';
import { loadCollectorConfig, type CollectorConfig } from './config.ts';
import { openPgState, type PgParts } from './collector.ts';
import { COLLECTOR_VERSION } from './version.ts';
import { alertsCommand, silenceCommand } from './alerts/cli.ts';
import { reportCommand } from './report/command.ts';
import { agentCommand } from './commands/agent.ts';
import { configCommand } from './commands/config.ts';
import { stateCommand } from './commands/state.ts';
import { serve } from './commands/serve.ts';
import { storageCommand } from './commands/storage.ts';
import { maintenanceCommand } from './commands/maintenance.ts';
import { alertCommand } from './commands/alert.ts';
import { backupCommand, restoreCommand } from './commands/backup.ts';
import { out, parseArgsError, usageError, USAGE } from './commands/usage.ts';
import { cliLang, cliZone } from './commands/words.ts';

export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (!(err instanceof CanhError)) throw err;
    process.stderr.write(`canh-collector: ${err.message}\n(${err.code})\n`);
    return 2;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  if (argv[0] === 'report') return reportCommand(argv.slice(1));
  if (argv[0] === 'silence') return silenceCommand(argv.slice(1));
  if (argv[0] === 'alerts') return alertsCommand(argv.slice(1));
  if (argv[0] === 'maintenance') return maintenanceCommand(argv.slice(1));
  if (argv[0] === 'alert') return alertCommand(argv.slice(1));
  if (argv[0] === 'backup') return backupCommand(argv.slice(1));
  if (argv[0] === 'restore') return restoreCommand(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        validate: { type: 'boolean' },
        version: { type: 'boolean', short: 'V' },
        help: { type: 'boolean', short: 'h' },
        name: { type: 'string' },
        agency: { type: 'string' },
        site: { type: 'string' },
        json: { type: 'boolean' },
        file: { type: 'string' },
        global: { type: 'boolean' },
        agent: { type: 'string' },
        author: { type: 'string' },
        comment: { type: 'string' },
        force: { type: 'boolean' },
        confirm: { type: 'boolean' },
        to: { type: 'string' },
        lang: { type: 'string' },
      },
    });
  } catch (err) {
    throw parseArgsError(err);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    out(`canh-collector ${COLLECTOR_VERSION}`);
    return 0;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const file = values.config ?? process.env.CANH_COLLECTOR_CONFIG ?? '/etc/canh/collector.yaml';
  const [command = 'serve', sub, arg] = positionals;
  if (!['serve', 'agent', 'config', 'storage', 'state'].includes(command)) throw usageError(`unknown command "${command}"`);
  const config = loadCollectorConfig(file);
  if (values.validate) {
    out(`${file}: valid`);
    return 0;
  }
  const view = { lang: cliLang(values.lang, config), tz: cliZone(config) };
  if (config.state?.postgres && (command === 'agent' || command === 'config')) {
    return withSharedState(config, (p) =>
      command === 'agent' ? agentCommand(sub, arg, values, config.state_dir, p.registry, view) : configCommand(sub, arg, values, config.state_dir, p, view),
    );
  }
  if (command === 'agent') return agentCommand(sub, arg, values, config.state_dir, undefined, view);
  if (command === 'config') return configCommand(sub, arg, values, config.state_dir, undefined, view);
  if (command === 'storage') return storageCommand(sub, values, config);
  if (command === 'state') return stateCommand(sub, values, config);
  if (sub !== undefined) throw usageError(`serve takes no argument "${sub}"`);
  return serve(config, file);
}

/** Run a command on the PostgreSQL state, and wait until what it wrote is stored. */
async function withSharedState(config: CollectorConfig, run: (p: PgParts) => number | Promise<number>): Promise<number> {
  const log = createLogger({ name: 'canh-collector', level: 'warn' });
  let parts: PgParts;
  try {
    parts = await openPgState({ ...config, alerting: undefined }, log, { campaign: false });
  } catch (err) {
    if (err instanceof CanhError) {
      process.stderr.write(`canh-collector: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  try {
    const code = await run(parts);
    await parts.state.flush();
    if (parts.state.stats.failedWrites) {
      process.stderr.write(`canh-collector: CANH_ERR_STATE_WRITE: PostgreSQL refused the change (${parts.state.stats.lastError ?? 'see the log'})\n`);
      return 1;
    }
    return code;
  } finally {
    await parts.state.stop();
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof CanhError) process.stderr.write(`canh-collector: ${err.message}\n(${err.code})\n`);
      else process.stderr.write(`canh-collector: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

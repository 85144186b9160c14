#!/usr/bin/env node
// canh-collector: the command line of the collector.
//   canh-collector [serve] --config /etc/canh/collector.yaml
//   canh-collector agent add --name H --agency A --site S    prints the token once
//   canh-collector agent list | agent revoke NAME
//   canh-collector silence add|list|expire              (alerts/cli.ts)
//   canh-collector alerts reload                        (alerts/cli.ts; SIGHUP does the same)
//   canh-collector --validate --config F | --version
import { parseArgs } from 'node:util';
import { CanhError, createLogger } from '@canh/core';
import { loadCollectorConfig } from './config.ts';
import { Collector, openRegistry } from './collector.ts';
import { COLLECTOR_VERSION } from './version.ts';
import { alertsCommand, ALERTS_USAGE, silenceCommand, SILENCE_USAGE } from './alerts/cli.ts';
import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CentralConfigStore, type Scope } from './central/store.ts';
import { reportCommand } from './report/command.ts';

const USAGE = `usage: canh-collector [serve] [--config FILE]
       canh-collector agent add --name HOST --agency AGENCY --site SITE
       canh-collector agent list [--json]
       canh-collector agent revoke NAME
${SILENCE_USAGE}
${ALERTS_USAGE}
       canh-collector config push --file F [--global | --agency A | --site A/S | --agent NAME] [--author X] [--comment C]
       canh-collector config show [--agent NAME] | config history
       canh-collector report [--month YYYY-MM] [--agency A] [--lang vi|en] [--format html|pdf] [--out FILE]
       canh-collector --validate --config FILE
       canh-collector --version
Config: /etc/canh/collector.yaml unless --config or CANH_COLLECTOR_CONFIG says otherwise.`;

function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'report') return reportCommand(argv.slice(1));
  if (argv[0] === 'silence') return silenceCommand(argv.slice(1));
  if (argv[0] === 'alerts') return alertsCommand(argv.slice(1));
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
      },
    });
  } catch (err) {
    process.stderr.write(`canh-collector: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
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
  const config = loadCollectorConfig(file);
  if (values.validate) {
    out(`${file}: valid`);
    return 0;
  }
  const [command = 'serve', sub, arg] = positionals;
  if (command === 'agent') {
    const registry = openRegistry(config.state_dir);
    try {
      switch (sub) {
        case 'add': {
          if (!values.name || !values.agency || !values.site) {
            process.stderr.write('canh-collector agent add: --name, --agency and --site are required\n');
            return 2;
          }
          const { agent, token } = registry.add({ name: values.name, agency: values.agency, site: values.site });
          if (values.json) out(JSON.stringify({ id: agent.id, name: agent.name, agency: agent.agency, site: agent.site, token }));
          else {
            out(`agent ${agent.name} (agency ${agent.agency}, site ${agent.site}) registered.`);
            out(`token (shown only now; put it in the agent's token_file):`);
            out(token);
          }
          return 0;
        }
        case 'list': {
          const agents = registry.list();
          if (values.json) out(JSON.stringify(agents));
          else {
            out(['NAME', 'AGENCY', 'SITE', 'STATE', 'VERSION', 'LAST SEEN'].join('\t'));
            for (const a of agents) {
              const state = a.revokedAt ? 'revoked' : a.connected ? 'online' : 'offline';
              out([a.name, a.agency, a.site, state, a.version ?? '-', a.lastSeen ? new Date(a.lastSeen).toISOString() : 'never'].join('\t'));
            }
          }
          return 0;
        }
        case 'revoke': {
          const name = arg ?? values.name;
          if (!name) {
            process.stderr.write('canh-collector agent revoke: name the agent\n');
            return 2;
          }
          const a = registry.revoke(name);
          if (!a) {
            process.stderr.write(`canh-collector: no agent named "${name}"\n`);
            return 1;
          }
          out(`agent ${a.name} revoked; a connected agent is cut off within 5 s`);
          return 0;
        }
        default:
          process.stderr.write(`canh-collector agent: unknown subcommand "${sub ?? ''}"\n${USAGE}\n`);
          return 2;
      }
    } finally {
      registry.close();
    }
  }
  if (command === 'config') return configCommand(sub, values, config.state_dir);
  if (command !== 'serve') {
    process.stderr.write(`canh-collector: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  const log = createLogger({ name: 'canh-collector', level: config.log_level });
  const collector = new Collector(config, { log, configFile: file });
  // systemctl reload (ExecReload=kill -HUP): re-read the file, apply `alerting:`.
  const onHup = (): void => {
    log.info({ file }, 'SIGHUP: reloading the alerting config');
    collector.reload().catch((err: unknown) => log.error({ err }, 'reload failed'));
  };
  process.on('SIGHUP', onHup);
  await collector.start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  log.info('stopping');
  await collector.stop();
  process.off('SIGHUP', onHup);
  return 0;
}

type ConfigValues = { file?: string; global?: boolean; agency?: string; site?: string; agent?: string; author?: string; comment?: string; json?: boolean };

/** canh-collector config push|show|history: central configuration of agents. */
async function configCommand(sub: string | undefined, values: ConfigValues, stateDir: string): Promise<number> {
  const registry = openRegistry(stateDir);
  const store = new CentralConfigStore(registry.db);
  try {
    switch (sub) {
      case 'push': {
        if (!values.file) {
          process.stderr.write('canh-collector config push: --file is required\n');
          return 2;
        }
        const scopes = [values.global && 'global', values.agency && 'agency', values.site && 'site', values.agent && 'agent'].filter(Boolean);
        if (scopes.length !== 1) {
          process.stderr.write('canh-collector config push: give exactly one of --global, --agency, --site (AGENCY/SITE) or --agent\n');
          return 2;
        }
        const scope = scopes[0] as Scope;
        const target = values.agency ?? values.site ?? values.agent ?? '';
        if (scope === 'agent' && !registry.get(target)) {
          process.stderr.write(`canh-collector: no agent named "${target}"\n`);
          return 1;
        }
        const doc = parseYaml(readFileSync(values.file, 'utf8')) as unknown;
        // Validate with the agent's own schemas (its declared export), so a bad config never
        // leaves the collector. Loaded here only: `serve` does not need the agent's code.
        const { parseCentralConfig, ConfigError } = await import('@canh/agent/config');
        try {
          parseCentralConfig(doc);
        } catch (err) {
          if (err instanceof ConfigError) {
            process.stderr.write(`canh-collector: ${values.file}: ${err.message}\n`);
            return 1;
          }
          throw err;
        }
        const v = store.push({ scope, target, config: doc, author: values.author ?? process.env.USER ?? '', comment: values.comment ?? '' });
        out(`config version ${v.version} stored for ${scope}${target ? ` ${target}` : ''}; connected agents receive it within a few seconds`);
        return 0;
      }
      case 'show': {
        const agents = values.agent ? [registry.get(values.agent)].filter((a) => a !== undefined) : registry.list();
        if (values.agent && !agents.length) {
          process.stderr.write(`canh-collector: no agent named "${values.agent}"\n`);
          return 1;
        }
        const rows = agents.map((a) => {
          const want = store.resolve(a);
          const applied = store.applied(a.id);
          return { agent: a.name, agency: a.agency, site: a.site, assigned: want?.version ?? null, scope: want ? `${want.scope}${want.target ? ` ${want.target}` : ''}` : 'local', running: applied?.version ?? null, errors: applied?.errors ?? [], config: values.agent ? (want?.config ?? null) : undefined };
        });
        if (values.json) out(JSON.stringify(rows));
        else {
          out(['AGENT', 'AGENCY', 'SITE', 'ASSIGNED', 'FROM', 'RUNNING', 'ERRORS'].join('\t'));
          for (const r of rows) out([r.agent, r.agency, r.site, r.assigned ?? '-', r.scope, r.running ?? '-', r.errors.join('; ') || '-'].join('\t'));
          if (values.agent && rows[0]?.config) out(stringifyYaml(rows[0].config));
        }
        return 0;
      }
      case 'history': {
        const h = store.history();
        if (values.json) out(JSON.stringify(h));
        else {
          out(['VERSION', 'SCOPE', 'TARGET', 'AUTHOR', 'WHEN', 'COMMENT'].join('\t'));
          for (const v of h) out([v.version, v.scope, v.target || '-', v.author || '-', new Date(v.createdAt).toISOString(), v.comment || '-'].join('\t'));
        }
        return 0;
      }
      default:
        process.stderr.write(`canh-collector config: unknown subcommand "${sub ?? ''}"\n${USAGE}\n`);
        return 2;
    }
  } finally {
    registry.close();
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

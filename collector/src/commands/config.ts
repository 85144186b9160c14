// canh-collector config push|show|history|rollback|delete: central configuration of agents.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CanhError } from '@canh/core';
import { CentralConfigStore, type CentralHistory, type CentralReader, type ConfigChange, type ConfigVersion, type Scope } from '../central/store.ts';
import { openRegistry } from '../collector.ts';
import type { AgentRegistry } from '../registry/types.ts';
import { out, usageError } from './usage.ts';
import { CLI_WORDS, cliWhen, type CliLang } from './words.ts';

export type ConfigValues = {
  file?: string;
  global?: boolean;
  agency?: string;
  site?: string;
  agent?: string;
  author?: string;
  comment?: string;
  json?: boolean;
  force?: boolean;
};

/** The one scope and target the flags name (push, rollback and delete take the same flags). */
function scopeOf(cmd: string, values: ConfigValues, registry: AgentRegistry, force: boolean): { scope: Scope; target: string } {
  const scopes = [values.global && 'global', values.agency && 'agency', values.site && 'site', values.agent && 'agent'].filter(Boolean);
  if (scopes.length !== 1) throw usageError(`config ${cmd}: give exactly one of --global, --agency, --site (AGENCY/SITE) or --agent`);
  const scope = scopes[0] as Scope;
  const target = values.agency ?? values.site ?? values.agent ?? '';
  if (scope === 'agent' && !registry.get(target)) throw new CanhError('CANH_ERR_REGISTRY_NOT_FOUND', `no agent named "${target}" (see: agent list)`);
  // An agency or site no registered agent belongs to reaches nobody: refused unless
  // planned (--force), so a typo (so-ttt for so-tttt) is not stored silently.
  if ((scope === 'agency' || scope === 'site') && !force) {
    const known = new Set(registry.list().map((a) => (scope === 'agency' ? a.agency : `${a.agency}/${a.site}`)));
    if (!known.has(target)) {
      const list = [...known].sort();
      throw new CanhError(
        'CANH_ERR_CONFIG_UNKNOWN_TARGET',
        `config ${cmd}: no registered agent is in ${scope} "${target}" (${scope === 'agency' ? 'agencies' : 'sites'}: ${list.join(', ') || 'none yet'}); check the name, or add --force for one whose agents are still to come`,
      );
    }
  }
  return { scope, target };
}

/** The two roles a config command uses: who the agents are, and the history it reads or writes. */
export interface ConfigState {
  registry: AgentRegistry;
  central: CentralReader & CentralHistory;
}

/** canh-collector config push|show|history|rollback|delete. */
export async function configCommand(
  sub: string | undefined,
  arg: string | undefined,
  values: ConfigValues,
  stateDir: string,
  // Shared state (PostgreSQL) when given; else the SQLite file in stateDir.
  shared?: ConfigState,
  // The reader's language and zone (commands/words.ts); English in UTC's zone name when not given.
  view: { lang: CliLang; tz: string } = { lang: 'en', tz: 'UTC' },
): Promise<number> {
  const sqlite = shared ? undefined : openRegistry(stateDir);
  const state: ConfigState = shared ?? { registry: sqlite!, central: new CentralConfigStore(sqlite!.db) };
  try {
    if (arg !== undefined && sub !== 'rollback') throw usageError(`config ${sub ?? ''}: unexpected argument "${arg}"`);
    switch (sub) {
      case 'push':
        return await pushConfig(values, state, view.lang);
      case 'show':
        return showConfig(values, state, view.lang);
      case 'history':
        return showHistory(values, state.central, view);
      case 'rollback':
        return await rollbackConfig(arg, values, state, view.lang);
      case 'delete':
        return await deleteConfig(values, state, view.lang);
      default:
        throw usageError(`config: unknown subcommand "${sub ?? ''}"`);
    }
  } finally {
    sqlite?.close();
  }
}

function who(values: ConfigValues): ConfigChange {
  return { author: values.author ?? process.env.USER ?? '', comment: values.comment ?? '' };
}

/** The file of `config push --file`, read, parsed and checked with the agent's own schemas. */
async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CanhError('CANH_ERR_CONFIG_UNREADABLE', `config push: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text) as unknown;
  } catch (err) {
    throw new CanhError('CANH_ERR_CONFIG_INVALID', `config push: ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  // Validate with the agent's own schemas (its declared export), so a bad config never
  // leaves the collector. Loaded here only: `serve` does not need the agent's code.
  const { parseCentralConfig, ConfigError } = await import('@canh/agent/config');
  try {
    parseCentralConfig(doc);
  } catch (err) {
    if (err instanceof ConfigError) throw new CanhError('CANH_ERR_CONFIG_INVALID', `${file}: ${err.message}`);
    throw err;
  }
  return doc;
}

async function pushConfig(values: ConfigValues, { registry, central }: ConfigState, lang: CliLang): Promise<number> {
  if (!values.file) throw usageError('config push: --file is required');
  const { scope, target } = scopeOf('push', values, registry, !!values.force);
  const config = await readConfigFile(values.file);
  const v = await central.push({ scope, target, config, ...who(values) });
  const w = CLI_WORDS[lang];
  out(w.configStored(v.version, w.scope[scope] ?? scope, target, ''));
  return 0;
}

function showConfig(values: ConfigValues, { registry, central }: ConfigState, lang: CliLang): number {
  const w = CLI_WORDS[lang];
  const agents = values.agent ? [registry.get(values.agent)].filter((a) => a !== undefined) : registry.list();
  if (values.agent && !agents.length) throw new CanhError('CANH_ERR_REGISTRY_NOT_FOUND', `no agent named "${values.agent}" (see: agent list)`);
  const wanted = agents.map((a) => central.resolve(a));
  const rows = agents.map((a, i) => {
    const want = wanted[i];
    const applied = central.applied(a.id);
    return {
      agent: a.name,
      agency: a.agency,
      site: a.site,
      assigned: want?.version ?? null,
      scope: want ? `${want.scope}${want.target ? ` ${want.target}` : ''}` : 'local',
      running: applied?.version ?? null,
      errors: applied?.errors ?? [],
      config: values.agent ? (want?.config ?? null) : undefined,
    };
  });
  if (values.json) out(JSON.stringify(rows));
  else {
    out(w.configShowHead.join('\t'));
    for (const [i, r] of rows.entries()) {
      const want = wanted[i];
      const from = want ? `${w.scope[want.scope] ?? want.scope}${want.target ? ` ${want.target}` : ''}` : w.localConfig;
      out([r.agent, r.agency, r.site, r.assigned ?? '-', from, r.running ?? '-', r.errors.join('; ') || '-'].join('\t'));
    }
    if (values.agent && rows[0]?.config) out(stringifyYaml(rows[0].config));
  }
  return 0;
}

/** Every version pushed, newest last; times in local time with the zone named (day first in vi). */
function showHistory(values: ConfigValues, central: CentralReader, { lang, tz }: { lang: CliLang; tz: string }): number {
  const h = central.history();
  if (values.json) out(JSON.stringify(h));
  else {
    const w = CLI_WORDS[lang];
    out(w.historyHead.join('\t'));
    for (const v of h)
      out(
        [
          v.deleted ? w.deletedVersion(v.version) : v.version,
          w.scope[v.scope] ?? v.scope,
          v.target || '-',
          v.author || '-',
          cliWhen(v.createdAt, tz, lang),
          v.comment || '-',
        ].join('\t'),
      );
  }
  return 0;
}

/**
 * `rollback 12`: version 12 again for its own scope; `rollback --agency A`: the version
 * before A's current one. Either way a new version, so agents are told.
 */
async function rollbackConfig(arg: string | undefined, values: ConfigValues, { registry, central }: ConfigState, lang: CliLang): Promise<number> {
  let v: ConfigVersion;
  if (arg !== undefined) {
    if (!/^\d{1,12}$/.test(arg)) throw usageError(`config rollback: "${arg}" is not a version number (see: config history)`);
    v = await central.rollback(Number(arg), who(values));
  } else {
    const { scope, target } = scopeOf('rollback', values, registry, true);
    const prev = await central.previous(scope, target);
    if (!prev)
      throw new CanhError(
        'CANH_ERR_CENTRAL_NOT_FOUND',
        `config rollback: ${scope}${target ? ` ${target}` : ''} has no earlier version to return to (see: config history)`,
      );
    v = await central.rollback(prev.version, who(values));
  }
  const w = CLI_WORDS[lang];
  out(w.configStored(v.version, w.scope[v.scope] ?? v.scope, v.target, v.comment));
  return 0;
}

async function deleteConfig(values: ConfigValues, { registry, central }: ConfigState, lang: CliLang): Promise<number> {
  const { scope, target } = scopeOf('delete', values, registry, true);
  const v = await central.remove(scope, target, who(values));
  const w = CLI_WORDS[lang];
  out(w.configDeleted(w.scope[scope] ?? scope, target, v.version));
  return 0;
}

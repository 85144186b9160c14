// canh-collector config push|show|history: central configuration of agents.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CentralConfigStore, type CentralReader, type ConfigVersion, type Scope } from '../central/store.ts';
import { openRegistry } from '../collector.ts';
import type { AgentRegistry } from '../registry/types.ts';
import { out, USAGE } from './usage.ts';

export type ConfigValues = { file?: string; global?: boolean; agency?: string; site?: string; agent?: string; author?: string; comment?: string; json?: boolean; force?: boolean };

/** canh-collector config push|show|history. */
export async function configCommand(
  sub: string | undefined,
  values: ConfigValues,
  stateDir: string,
  // Shared state (PostgreSQL) when given; else the SQLite file in stateDir.
  shared?: { registry: AgentRegistry; central: CentralReader & { push(input: Parameters<CentralConfigStore['push']>[0]): Promise<ConfigVersion> } },
): Promise<number> {
  const sqlite = shared ? undefined : openRegistry(stateDir);
  const registry: AgentRegistry = shared?.registry ?? sqlite!;
  const store = shared?.central ?? new CentralConfigStore(sqlite!.db);
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
        // An agency or site no registered agent belongs to reaches nobody: refused unless
        // planned (--force), so a typo (so-ttt for so-tttt) is not stored silently.
        if ((scope === 'agency' || scope === 'site') && !values.force) {
          const known = new Set(registry.list().map((a) => (scope === 'agency' ? a.agency : `${a.agency}/${a.site}`)));
          if (!known.has(target)) {
            const list = [...known].sort();
            process.stderr.write(
              `canh-collector config push: CANH_ERR_CONFIG_UNKNOWN_TARGET: no registered agent is in ${scope} "${target}" (${scope === 'agency' ? 'agencies' : 'sites'}: ${list.join(', ') || 'none yet'}); check the name, or add --force for one whose agents are still to come\n`,
            );
            return 2;
          }
        }
        let text: string;
        try {
          text = readFileSync(values.file, 'utf8');
        } catch (err) {
          process.stderr.write(`canh-collector config push: CANH_ERR_CONFIG_UNREADABLE: cannot read ${values.file} (${(err as NodeJS.ErrnoException).code ?? String(err)})\n`);
          return 2;
        }
        let doc: unknown;
        try {
          doc = parseYaml(text) as unknown;
        } catch (err) {
          process.stderr.write(`canh-collector config push: CANH_ERR_CONFIG_INVALID: ${values.file} is not valid YAML: ${(err as Error).message.split('\n')[0]}\n`);
          return 2;
        }
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
        const v = await store.push({ scope, target, config: doc, author: values.author ?? process.env.USER ?? '', comment: values.comment ?? '' });
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

// canh-collector agent add|list|revoke|remove: the registry of agents and their tokens.
// What a person reads follows --lang (words.ts); --json stays as it is.
import { CanhError } from '@canh/core';
import { openRegistry } from '../collector.ts';
import type { AgentRegistry } from '../registry/types.ts';
import { out, usageError } from './usage.ts';
import { agentState, CLI_WORDS, cliWhen, type CliLang } from './words.ts';

export type AgentValues = { name?: string; agency?: string; site?: string; json?: boolean };
/** The reader's language and zone (cli.ts: --lang, else the config's). */
export type AgentView = { lang: CliLang; tz: string };

export function agentCommand(
  sub: string | undefined,
  arg: string | undefined,
  values: AgentValues,
  stateDir: string,
  shared?: AgentRegistry,
  view: AgentView = { lang: 'en', tz: 'Asia/Ho_Chi_Minh' },
): number {
  const w = CLI_WORDS[view.lang];
  // Shared state (PostgreSQL) when given; else the SQLite file in stateDir.
  const registry = shared ?? openRegistry(stateDir);
  try {
    switch (sub) {
      case 'add': {
        if (arg !== undefined) throw usageError(`agent add: the name is given with --name, not as "${arg}"`);
        if (!values.name || !values.agency || !values.site) throw usageError('agent add: --name, --agency and --site are required');
        // Agency and site ids are lower-case: "SO-TTTT" would otherwise start a second agency
        // beside "so-tttt" (its own rows, mails and report), which nobody means.
        const agency = values.agency.toLowerCase();
        const site = values.site.toLowerCase();
        if (agency !== values.agency || site !== values.site)
          process.stderr.write(`canh-collector agent add: agency and site are lower-case ids: using agency "${agency}", site "${site}"\n`);
        const { agent, token } = registry.add({ name: values.name, agency, site });
        if (values.json) out(JSON.stringify({ id: agent.id, name: agent.name, agency: agent.agency, site: agent.site, token }));
        else {
          out(w.agentAdded(agent.name, agent.agency, agent.site));
          out(w.tokenOnce);
          out(token);
        }
        return 0;
      }
      case 'list': {
        const agents = registry.list();
        if (values.json) out(JSON.stringify(agents));
        else {
          out(w.agentHead.join('\t'));
          for (const a of agents) {
            const seen = a.lastSeen ? cliWhen(a.lastSeen, view.tz, view.lang) : w.never;
            out([a.name, a.agency, a.site, agentState(a, view.lang), a.version ?? '-', seen].join('\t'));
          }
        }
        return 0;
      }
      case 'revoke': {
        const name = arg ?? values.name;
        if (!name) throw usageError('agent revoke: name the agent (agent revoke NAME)');
        const a = registry.revoke(name);
        if (!a) throw notFound(name);
        out(w.agentRevoked(a.name));
        return 0;
      }
      case 'remove': {
        // Revoked agents would otherwise stay in lists and counts forever. Only revoked
        // ones: removing a live agent's row would cut it off without the revocation step.
        // Its central_config_state and session rows go with it; its name is kept until the
        // leader's revocation pass has resolved its alerts and removed its host's rows.
        const name = arg ?? values.name;
        if (!name) throw usageError('agent remove: name the agent (agent remove NAME)');
        const a = registry.get(name);
        // Again (idempotent): the name waits for the collector's clean-up, nothing more to remove.
        if (!a && registry.removedAt(name) !== undefined) {
          out(w.agentAlreadyRemoved(name));
          return 0;
        }
        if (!a) throw notFound(name);
        if (!a.revokedAt)
          throw new CanhError('CANH_ERR_REGISTRY_NOT_REVOKED', `agent ${a.name} is not revoked: revoke it first (agent revoke ${a.name}), then remove it`);
        registry.remove(a.id);
        out(w.agentRemoved(a.name));
        return 0;
      }
      default:
        throw usageError(`agent: unknown subcommand "${sub ?? ''}"`);
    }
  } finally {
    registry.close();
  }
}

function notFound(name: string): CanhError {
  return new CanhError('CANH_ERR_REGISTRY_NOT_FOUND', `no agent named "${name}" (see: agent list)`);
}

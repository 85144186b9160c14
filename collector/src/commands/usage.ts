// The collector's command line at a glance, printed by --help and with every usage error.
import { CanhError } from '@canh/core';
import { ALERTS_USAGE, SILENCE_USAGE } from '../alerts/cli.ts';
import { STORAGE_USAGE } from './storage.ts';

export const USAGE = `usage: canh-collector [serve] [--config FILE]
       canh-collector agent add --name HOST --agency AGENCY --site SITE
       canh-collector agent list [--json] [--lang vi|en]
       canh-collector agent revoke NAME | agent remove NAME   (remove: a revoked agent only)
${SILENCE_USAGE}
       canh-collector maintenance add --name N [--agency A]... [MATCHER...] (--from TIME --until TIME | --start HH:MM --end HH:MM [--days sun,sat] [--tz ZONE]) --comment C [--author X] [--force]
       canh-collector maintenance list [--all] [--json] | maintenance remove ID
       canh-collector alert list [--json] | alert ack ID [--author X] [--comment C]
${ALERTS_USAGE}
       canh-collector config push --file F [--global | --agency A | --site A/S | --agent NAME] [--author X] [--comment C] [--force]
       canh-collector config show [--agent NAME] | config history [--json]
       canh-collector config rollback VERSION | config rollback (--global | --agency A | --site A/S | --agent NAME)
       canh-collector config delete (--global | --agency A | --site A/S | --agent NAME) [--author X] [--comment C]
       canh-collector report [--month YYYY-MM | --year YYYY] [--agency A] [--lang vi|en] [--format html|pdf|docx] [--out FILE] [--appendix]
       canh-collector backup --to DIR | restore --from DIR
${STORAGE_USAGE}
       canh-collector state migrate --to postgres [--force]
       canh-collector --validate --config FILE
       canh-collector --version
Config: /etc/canh/collector.yaml unless --config or CANH_COLLECTOR_CONFIG says otherwise.
What agent, silence, alert, alerts reload and storage apply|status print for a person is in --lang vi|en
(default: the config's status.language); --json is not translated.`;

/** One line of a command's answer on standard output. */
export function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

/** A mistake on the command line: printed with its code and the usage, exit 2 (cli.ts). */
export function usageError(message: string, usage = USAGE): CanhError {
  return new CanhError('CANH_ERR_CLI_USAGE', `${message}\n${usage}`);
}

/** parseArgs' own complaints (unknown option, missing value) as a usage error. */
export function parseArgsError(err: unknown, usage = USAGE): CanhError {
  return usageError((err as Error).message, usage);
}

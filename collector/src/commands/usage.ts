// The collector's command line at a glance, printed by --help and with every usage error.
import { ALERTS_USAGE, SILENCE_USAGE } from '../alerts/cli.ts';

export const USAGE = `usage: canh-collector [serve] [--config FILE]
       canh-collector agent add --name HOST --agency AGENCY --site SITE
       canh-collector agent list [--json]
       canh-collector agent revoke NAME
${SILENCE_USAGE}
${ALERTS_USAGE}
       canh-collector config push --file F [--global | --agency A | --site A/S | --agent NAME] [--author X] [--comment C] [--force]
       canh-collector config show [--agent NAME] | config history
       canh-collector report [--month YYYY-MM] [--agency A] [--lang vi|en] [--format html|pdf] [--out FILE]
       canh-collector state migrate --to postgres [--force]
       canh-collector --validate --config FILE
       canh-collector --version
Config: /etc/canh/collector.yaml unless --config or CANH_COLLECTOR_CONFIG says otherwise.`;

/** One line of a command's answer on standard output. */
export function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

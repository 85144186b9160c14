// canh-collector alert list|ack: firing alerts from collector.db (or PostgreSQL with
// `state.postgres`), and acknowledging one
// (who, when, a comment). The running collector records the acknowledgement in InfluxDB
// at its next round (alerts/ack.ts), where the monthly report counts it as handled.
//   canh-collector alert list [--json] [--lang vi|en]
//   canh-collector alert ack 42 --comment "đang thay ổ đĩa" [--author "Trần Thị Bình"]
// What a person reads follows --lang (commands/words.ts); --json stays as it is.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadCollectorConfig } from '../config.ts';
import { SqliteAlertStore, type AlertEpisodes } from '../alerts/store.ts';
import { ackJson, acknowledge, type AckLog } from '../alerts/ack.ts';
import { PgAlertStore } from '../state/pg-alert-store.ts';
import { closeCliState, openCliState, sqliteFile } from './shared-state.ts';
import { defaultRules, effectiveRules } from '../alerts/rules.ts';
import type { Alert } from '../alerts/types.ts';
import type { Ack } from '../alerts/ack.ts';
import { out, parseArgsError, usageError } from './usage.ts';
import { CLI_WORDS, cliLang, cliSeverity, cliWhen, cliZone, type CliLang } from './words.ts';

export const ALERT_USAGE = `usage: canh-collector alert list [--json] [--lang vi|en]
       canh-collector alert ack ID [--comment TEXT] [--author NAME] [--lang vi|en]`;

function defaultAuthor(): string {
  try {
    return process.env.SUDO_USER ?? userInfo().username;
  } catch {
    return '';
  }
}

/** What the rules call each alert in a language ("Ổ đĩa sắp đầy" for disk_full). */
function ruleTitles(config: ReturnType<typeof loadCollectorConfig>, lang: CliLang): Map<string, string> {
  const rules = config.alerting ? effectiveRules(config.alerting) : defaultRules();
  const title = (r: (typeof rules)[number]) => (typeof r.title === 'string' ? r.title : (r.title?.[lang] ?? r.title?.en ?? r.name));
  return new Map(rules.map((r) => [r.name, title(r)]));
}

function listJson(firing: readonly Alert[], known: ReadonlyMap<number, Ack>): string {
  return JSON.stringify(
    firing.map((a) => ({
      id: a.id,
      rule: a.rule,
      labels: a.labels,
      severity: a.severity,
      since: new Date(a.activeAt).toISOString(),
      summary: a.summary,
      acknowledged: known.has(a.id) ? ackJson(known.get(a.id)!) : null,
    })),
  );
}

/** The table of firing alerts: the rule's id (what a silence matches) and its title. */
function listText(firing: readonly Alert[], known: ReadonlyMap<number, Ack>, titles: ReadonlyMap<string, string>, tz: string, lang: CliLang): void {
  out(CLI_WORDS[lang].alertHead.join('\t'));
  for (const a of firing) {
    const k = known.get(a.id);
    out(
      [
        a.id,
        a.rule,
        cliSeverity(a.severity, lang),
        a.labels.agency ?? '-',
        a.labels.host ?? '-',
        cliWhen(a.activeAt, tz, lang),
        k ? `${k.by}, ${cliWhen(k.at, tz, lang)}` : '-',
        titles.get(a.rule) ?? a.rule,
      ].join('\t'),
    );
  }
}

export async function alertCommand(argv: string[], opts: { now?: () => number } = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        author: { type: 'string', short: 'a' },
        comment: { type: 'string' },
        json: { type: 'boolean' },
        lang: { type: 'string' },
      },
    });
  } catch (err) {
    throw parseArgsError(err, ALERT_USAGE);
  }
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (sub !== 'list' && sub !== 'ack') throw usageError(`alert: unknown subcommand "${sub ?? ''}"`, ALERT_USAGE);
  if (sub === 'list' && rest.length) throw usageError(`alert list: unexpected argument "${rest[0]}"`, ALERT_USAGE);
  if (sub === 'ack' && (rest.length !== 1 || !/^\d{1,15}$/.test(rest[0]!)))
    throw usageError('alert ack: name one alert by its id, a number (see: alert list)', ALERT_USAGE);
  const config = loadCollectorConfig(values.config ?? process.env.CANH_COLLECTOR_CONFIG ?? '/etc/canh/collector.yaml');
  const tz = cliZone(config);
  const lang = cliLang(values.lang, config);
  // Several collectors on PostgreSQL: the acknowledgement goes there; the leader records it.
  const shared = config.state?.postgres ? await openCliState(config) : undefined;
  if (shared === null) return 1;
  const store: AlertEpisodes & { readonly acks: AckLog; close(): void } = shared
    ? await PgAlertStore.load(shared).catch(async (err: unknown) => {
        await shared.stop();
        throw err;
      })
    : new SqliteAlertStore(sqliteFile(config));
  try {
    const acks = store.acks;
    const firing = store.openAlerts().filter((a) => a.state === 'firing');
    if (sub === 'list') {
      const known = acks.of(firing.map((a) => a.id));
      if (values.json) out(listJson(firing, known));
      else listText(firing, known, ruleTitles(config, lang), tz, lang);
      return 0;
    }
    const ack = acknowledge(acks, firing, Number(rest[0]), values.author ?? defaultAuthor(), values.comment ?? '', (opts.now ?? Date.now)());
    if (values.json) out(JSON.stringify(ackJson(ack)));
    else out(CLI_WORDS[lang].acked(ack.alertId, ack.rule, ack.labels.host, ack.by, cliWhen(ack.at, tz, lang)));
    return 0;
  } finally {
    store.close();
    if (shared) await closeCliState(shared);
  }
}

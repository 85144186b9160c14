// canh-collector alert list|ack: firing alerts from collector.db (or PostgreSQL with
// `state.postgres`), and acknowledging one
// (who, when, a comment). The running collector records the acknowledgement in InfluxDB
// at its next round (alerts/ack.ts), where the monthly report counts it as handled.
//   canh-collector alert list [--json]
//   canh-collector alert ack 42 --comment "đang thay ổ đĩa" [--author "Trần Thị Bình"]
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadCollectorConfig } from '../config.ts';
import { SqliteAlertStore, type AlertEpisodes } from '../alerts/store.ts';
import { ackJson, acknowledge, type AckLog } from '../alerts/ack.ts';
import { PgAlertStore } from '../state/pg-alert-store.ts';
import { closeCliState, openCliState, sqliteFile } from './shared-state.ts';
import { formatWhen } from '../alerts/silences.ts';
import { out, parseArgsError, usageError } from './usage.ts';

export const ALERT_USAGE = `usage: canh-collector alert list [--json]
       canh-collector alert ack ID [--comment TEXT] [--author NAME]`;

function defaultAuthor(): string {
  try {
    return process.env.SUDO_USER ?? userInfo().username;
  } catch {
    return '';
  }
}

export async function alertCommand(argv: string[], opts: { now?: () => number } = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string', short: 'c' }, author: { type: 'string', short: 'a' }, comment: { type: 'string' }, json: { type: 'boolean' } },
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
  const tz = config.alerting?.timezone ?? 'Asia/Ho_Chi_Minh';
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
      if (values.json) {
        out(
          JSON.stringify(
            firing.map((a) => ({
              id: a.id,
              rule: a.rule,
              labels: a.labels,
              severity: a.severity,
              since: new Date(a.activeAt).toISOString(),
              summary: a.summary,
              acknowledged: known.has(a.id) ? ackJson(known.get(a.id)!) : null,
            })),
          ),
        );
        return 0;
      }
      out(['ID', 'RULE', 'SEVERITY', 'AGENCY', 'HOST', 'SINCE', 'ACKNOWLEDGED'].join('\t'));
      for (const a of firing) {
        const k = known.get(a.id);
        out(
          [
            a.id,
            a.rule,
            a.severity,
            a.labels.agency ?? '-',
            a.labels.host ?? '-',
            formatWhen(a.activeAt, tz),
            k ? `${k.by}, ${formatWhen(k.at, tz)}` : '-',
          ].join('\t'),
        );
      }
      return 0;
    }
    const ack = acknowledge(acks, firing, Number(rest[0]), values.author ?? defaultAuthor(), values.comment ?? '', (opts.now ?? Date.now)());
    out(
      `alert ${ack.alertId} (${ack.rule}${ack.labels.host ? ` on ${ack.labels.host}` : ''}) acknowledged by ${ack.by} at ${formatWhen(ack.at, tz)}; the running collector records it in InfluxDB at its next round`,
    );
    return 0;
  } finally {
    store.close();
    if (shared) await closeCliState(shared);
  }
}

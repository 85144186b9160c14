// canh-collector maintenance add|list|remove: maintenance windows from the command line,
// kept beside silences (collector.db, or PostgreSQL with `state.postgres`); the running
// collector reads them every round.
//   canh-collector maintenance add --name "thay UPS" --agency so-tttt --from "2026-12-13 22:00" --until "2026-12-14 02:00" --comment "phiếu 1234"
//   canh-collector maintenance add --name "sao lưu" host=db01 --days sun --start 01:00 --end 03:00 --comment "sao lưu tuần"
//   canh-collector maintenance list [--all] [--json] | maintenance remove ID
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { CanhError } from '@canh/core';
import { DatabaseSync } from 'node:sqlite';
import { loadCollectorConfig, type CollectorConfig } from '../config.ts';
import { defaultRules, effectiveRules } from '../alerts/rules.ts';
import { knownAlertLabels } from '../alerts/silences.ts';
import {
  createMaintenance,
  maintenanceJson,
  MaintenanceStore,
  storedOpen,
  storedOver,
  type MaintenanceWindows,
  type StoredMaintenance,
} from '../alerts/maintenance-store.ts';
import { formatMatcher, type Matcher } from '../alerts/matchers.ts';
import { PgMaintenanceStore } from '../state/pg-maintenance.ts';
import { sqliteFile, withPgState } from './shared-state.ts';
import { out, parseArgsError, usageError } from './usage.ts';
import { CLI_WORDS, cliLang, cliWhen, cliZone, type CliLang } from './words.ts';

export const MAINTENANCE_USAGE = `usage: canh-collector maintenance add --name N [--agency A]... [MATCHER...] (--from TIME --until TIME | --start HH:MM --end HH:MM [--days sun,sat] [--tz ZONE]) --comment C [--author X] [--force]
       canh-collector maintenance list [--all] [--json] [--lang vi|en]
       canh-collector maintenance remove ID [--lang vi|en]
TIME: 2026-12-13T22:00:00+07:00, 2026-12-13 22:00 or 13/12/2026 22:00 (day first), the last two in alerting.timezone`;

function defaultAuthor(): string {
  try {
    return process.env.SUDO_USER ?? userInfo().username;
  } catch {
    return '';
  }
}

function parseMaintenanceArgs(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        name: { type: 'string' },
        agency: { type: 'string', multiple: true },
        matcher: { type: 'string', short: 'm', multiple: true },
        from: { type: 'string' },
        until: { type: 'string' },
        days: { type: 'string' },
        start: { type: 'string' },
        end: { type: 'string' },
        tz: { type: 'string' },
        author: { type: 'string', short: 'a' },
        comment: { type: 'string' },
        all: { type: 'boolean' },
        json: { type: 'boolean' },
        force: { type: 'boolean' },
        lang: { type: 'string' },
      },
    });
  } catch (err) {
    throw parseArgsError(err, MAINTENANCE_USAGE);
  }
}

type MaintenanceValues = ReturnType<typeof parseMaintenanceArgs>['values'];

/** What one command needs besides its store: the config, its zone, the time and the reader's language. */
interface Context {
  config: CollectorConfig;
  tz: string;
  now: number;
  lang: CliLang;
}

/** canh-collector maintenance add|list|remove, on the SQLite file or PostgreSQL (`state.postgres`). */
export async function maintenanceCommand(argv: string[], opts: { now?: () => number } = {}): Promise<number> {
  const { values, positionals } = parseMaintenanceArgs(argv);
  const [sub, ...rest] = positionals;
  if (sub !== 'add' && sub !== 'list' && sub !== 'remove') throw usageError(`maintenance: unknown subcommand "${sub ?? ''}"`, MAINTENANCE_USAGE);
  if (sub === 'list' && rest.length) throw usageError(`maintenance list: unexpected argument "${rest[0]}"`, MAINTENANCE_USAGE);
  if (sub === 'remove' && rest.length !== 1) throw usageError('maintenance remove: name one window id (see: maintenance list)', MAINTENANCE_USAGE);
  const config = loadCollectorConfig(values.config ?? process.env.CANH_COLLECTOR_CONFIG ?? '/etc/canh/collector.yaml');
  const ctx: Context = { config, tz: cliZone(config), now: (opts.now ?? Date.now)(), lang: cliLang(values.lang, config) };
  const run = (store: MaintenanceWindows): number =>
    sub === 'add' ? addWindow(store, rest, values, ctx) : sub === 'list' ? listWindows(store, values, ctx) : removeWindow(store, rest[0]!, ctx.lang);
  // Several collectors on PostgreSQL: the window goes there, and the leader follows it.
  if (config.state?.postgres)
    return withPgState(config, async (state) => {
      const store = await PgMaintenanceStore.load(state);
      try {
        return run(store);
      } finally {
        store.close();
      }
    });
  const db = new DatabaseSync(sqliteFile(config));
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    return run(new MaintenanceStore(db));
  } finally {
    db.close();
  }
}

function covers(w: { agencies?: readonly string[]; matchers: Matcher[] }): string {
  return [...(w.agencies ?? []).map((a) => `agency=${a}`), ...w.matchers.map(formatMatcher)].join(' ');
}

/** Weekly: "T2, T7 22:00–02:00 (zone)" in vi, "mon,sat 22:00–02:00 (zone)" in en. */
function weeklyWhen(k: { days?: readonly string[]; start: string; end: string; timezone?: string }, tz: string, lang: CliLang): string {
  const w = CLI_WORDS[lang];
  const days = k.days ? k.days.map((d) => w.days[d] ?? d).join(lang === 'vi' ? ', ' : ',') : w.everyDay;
  return `${days} ${k.start}–${k.end} (${k.timezone ?? tz})`;
}

/** When a CLI window is open, in local time with the zone named (day first in vi). */
function windowWhen(w: StoredMaintenance, tz: string, lang: CliLang): string {
  return w.once ? `${cliWhen(w.once.from, tz, lang)} – ${cliWhen(w.once.until, tz, lang)}` : weeklyWhen(w.weekly!, tz, lang);
}

function addWindow(store: MaintenanceWindows, matchers: string[], values: MaintenanceValues, { config, tz, now, lang }: Context): number {
  const w = createMaintenance(
    {
      name: values.name,
      agencies: values.agency,
      matchers: [...matchers, ...(values.matcher ?? [])],
      from: values.from,
      until: values.until,
      days: values.days,
      start: values.start,
      end: values.end,
      timezone: values.tz,
      createdBy: values.author ?? defaultAuthor(),
      comment: values.comment,
    },
    now,
    values.force ? undefined : knownAlertLabels(config.alerting ? effectiveRules(config.alerting) : defaultRules()),
    tz,
  );
  store.add(w);
  if (values.json) out(JSON.stringify(maintenanceJson(w, now, tz)));
  else out(CLI_WORDS[lang].maintenanceAdded(w.id, w.name, windowWhen(w, tz, lang), covers(w)));
  return 0;
}

function listWindows(store: MaintenanceWindows, values: MaintenanceValues, { config, tz, now, lang }: Context): number {
  const list = store.list().filter((w) => values.all || !storedOver(w, now));
  const fromFile = config.alerting?.maintenance ?? [];
  if (values.json) {
    out(JSON.stringify({ cli: list.map((w) => maintenanceJson(w, now, tz)), config: fromFile }));
    return 0;
  }
  const words = CLI_WORDS[lang];
  out(words.maintenanceHead.join('\t'));
  for (const w of list)
    out([w.id, storedOpen(w, now, tz) ? words.yes : words.no, w.name, windowWhen(w, tz, lang), covers(w), w.createdBy, w.comment].join('\t'));
  for (const w of fromFile) out([words.fromConfigFile, '-', w.name, weeklyWhen(w, tz, lang), covers(w) || words.everything, '-', '-'].join('\t'));
  return 0;
}

function removeWindow(store: MaintenanceWindows, id: string, lang: CliLang): number {
  const w = store.remove(id);
  if (!w)
    throw new CanhError(
      'CANH_ERR_MAINTENANCE_NOT_FOUND',
      `no maintenance window "${id}" added by the CLI (see: maintenance list; windows of the config file are changed there)`,
    );
  out(CLI_WORDS[lang].maintenanceRemoved(w.id, w.name));
  return 0;
}

// `canh-collector silence add|list|expire`: silences from the command line, written to
// the collector's SQLite file; a running collector picks them up at its next flush.
//   canh-collector silence add agency=so-tttt host=web01 --duration 2h --comment "thay ổ cứng"
//   canh-collector silence list [--all] [--json] [--lang vi|en]
//   canh-collector silence expire ID
// What a person reads follows --lang (commands/words.ts); --json stays as it is.
// `canh-collector alerts reload`: asks the running collector (POST /api/v1/reload on its
// port, with the admin token of the same config file) to re-read its config.
import { mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CanhError } from '@canh/core';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCollectorConfig } from '../config.ts';
import { SqliteAlertStore, type AlertStore } from './store.ts';
import { PgAlertStore } from '../state/pg-alert-store.ts';
import { createSilence, knownAlertLabels, silenceJson, silenceState } from './silences.ts';
import type { Silence } from './types.ts';
import { defaultRules, effectiveRules } from './rules.ts';
import { openCliState } from '../commands/shared-state.ts';
import { CLI_WORDS, cliLang, cliWhen, cliZone, type CliLang } from '../commands/words.ts';

export const SILENCE_USAGE = `       canh-collector silence add MATCHER... (--duration 2h | --until TIME) --comment TEXT [--author NAME] [--start TIME] [--force]
       canh-collector silence list [--all] [--json] [--lang vi|en]
       canh-collector silence expire ID`;

export const ALERTS_USAGE = `       canh-collector alerts reload [--config FILE] [--url http://127.0.0.1:8443] [--json] [--lang vi|en]`;

/** A mistake on the command line (cli.ts prints it with its code, exit 2). */
function usage(message: string, text: string): CanhError {
  return new CanhError('CANH_ERR_CLI_USAGE', `${message}\nusage:\n${text}`);
}

function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

function defaultAuthor(): string {
  try {
    return process.env.SUDO_USER ?? userInfo().username;
  } catch {
    return '';
  }
}

function parseSilenceArgs(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        matcher: { type: 'string', short: 'm', multiple: true },
        author: { type: 'string', short: 'a' },
        comment: { type: 'string' },
        duration: { type: 'string', short: 'd' },
        until: { type: 'string' },
        start: { type: 'string' },
        all: { type: 'boolean' },
        json: { type: 'boolean' },
        lang: { type: 'string' },
        /** Accept matchers on labels no current rule gives an alert (a rule yet to come). */
        force: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw usage(`silence: ${(err as Error).message}`, SILENCE_USAGE);
  }
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (sub !== 'add' && sub !== 'list' && sub !== 'expire') throw usage(`silence: unknown subcommand "${sub ?? ''}"`, SILENCE_USAGE);
  if (sub === 'list' && rest.length) throw usage(`silence list: unexpected argument "${rest[0]}"`, SILENCE_USAGE);
  if (sub === 'expire' && rest.length !== 1) throw usage('silence expire: name one silence id (see: silence list)', SILENCE_USAGE);
  return { values, sub, rest };
}

type SilenceArgs = ReturnType<typeof parseSilenceArgs>;
type Config = ReturnType<typeof loadCollectorConfig>;
/** What every subcommand needs: the store, now, and how to show times and words. */
interface SilenceCtx {
  store: AlertStore;
  config: Config;
  now: number;
  tz: string;
  lang: CliLang;
}

export async function silenceCommand(argv: string[], opts: { now?: () => number } = {}): Promise<number> {
  const args = parseSilenceArgs(argv);
  const { values } = args;
  const file = values.config ?? process.env.CANH_COLLECTOR_CONFIG ?? '/etc/canh/collector.yaml';
  const config = loadCollectorConfig(file);
  const lang = cliLang(values.lang, config);
  mkdirSync(config.state_dir, { recursive: true, mode: 0o750 });
  // Several collectors on PostgreSQL: the silence goes there, and every collector follows it.
  const shared = config.state?.postgres ? await openCliState(config) : undefined;
  if (shared === null) return 1;
  const store: AlertStore = shared ? await PgAlertStore.load(shared) : new SqliteAlertStore(join(config.state_dir, 'collector.db'));
  // Times people write and read here are in the alerting zone, said next to each one.
  const ctx: SilenceCtx = { store, config, now: (opts.now ?? Date.now)(), tz: cliZone(config), lang };
  try {
    if (args.sub === 'add') silenceAdd(ctx, args);
    else if (args.sub === 'list') silenceList(ctx, values.all === true, values.json === true);
    else silenceExpire(ctx, args.rest[0]!);
    return 0;
  } finally {
    store.close();
    if (shared) {
      await shared.flush();
      await shared.stop();
    }
  }
}

function silenceAdd({ store, config, now, tz, lang }: SilenceCtx, { values, rest }: SilenceArgs): void {
  const s = createSilence(
    {
      matchers: [...rest, ...(values.matcher ?? [])],
      createdBy: values.author ?? defaultAuthor(),
      comment: values.comment,
      startsAt: values.start,
      endsAt: values.until,
      duration: values.until ? undefined : (values.duration ?? undefined),
    },
    now,
    values.force ? undefined : knownAlertLabels(config.alerting ? effectiveRules(config.alerting) : defaultRules()),
    tz,
  );
  store.addSilence(s);
  if (values.json) out(JSON.stringify(silenceJson(s, now)));
  else out(CLI_WORDS[lang].silenceAdded(s.id, matchersOf(s, now), cliWhen(s.startsAt, tz, lang), cliWhen(s.endsAt, tz, lang)));
}

const matchersOf = (s: Silence, now: number): string => (silenceJson(s, now).matchers as string[]).join(' ');

function silenceList({ store, now, tz, lang }: SilenceCtx, all: boolean, json: boolean): void {
  const list = store.silences().filter((s) => all || silenceState(s, now) !== 'expired');
  if (json) return out(JSON.stringify(list.map((s) => silenceJson(s, now))));
  const w = CLI_WORDS[lang];
  out(w.silenceHead.join('\t'));
  for (const s of list) {
    const state = silenceState(s, now);
    out([s.id, w.silenceState[state] ?? state, matchersOf(s, now), cliWhen(s.endsAt, tz, lang), s.createdBy, s.comment].join('\t'));
  }
}

function silenceExpire({ store, now, lang }: SilenceCtx, id: string): void {
  const s = store.expireSilence(id, now);
  if (!s) throw new CanhError('CANH_ERR_SILENCE_NOT_FOUND', `no silence "${id}" (see: silence list --all)`);
  out(CLI_WORDS[lang].silenceExpired(s.id));
}

function post(url: URL, token: string): Promise<{ status: number; body: string }> {
  const loopback = ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(url.hostname);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-length': 0 },
        // On this machine the collector's certificate names its public host, not 127.0.0.1.
        ...(url.protocol === 'https:' && loopback ? { rejectUnauthorized: false } : {}),
        timeout: 60_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 60 s')));
    req.on('error', reject);
    req.end();
  });
}

/** `canh-collector alerts reload`: the running collector re-reads its config; non-zero exit when it refused. */
export async function alertsCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string', short: 'c' }, url: { type: 'string' }, json: { type: 'boolean' }, lang: { type: 'string' } },
    });
  } catch (err) {
    throw usage(`alerts: ${(err as Error).message}`, ALERTS_USAGE);
  }
  const { values, positionals } = parsed;
  if (positionals[0] !== 'reload' || positionals.length > 1) throw usage(`alerts: unknown subcommand "${positionals.join(' ')}"`, ALERTS_USAGE);
  const file = values.config ?? process.env.CANH_COLLECTOR_CONFIG ?? '/etc/canh/collector.yaml';
  let config;
  try {
    config = loadCollectorConfig(file);
  } catch (err) {
    if (!(err instanceof CanhError)) throw err;
    // Checked here first: the collector would refuse the same file, so it is not asked.
    throw new CanhError(err.code, `${err.message}\nthe running collector was not asked to reload; its config is unchanged`);
  }
  const token = config.alertingSecrets?.adminToken;
  if (!token)
    throw new CanhError(
      'CANH_ERR_API_DISABLED',
      `alerts reload: ${file} has no alerting.admin_token, which the reload API needs; send SIGHUP instead (systemctl reload canh-collector)`,
    );
  const host = ['0.0.0.0', '::', ''].includes(config.listen.host)
    ? '127.0.0.1'
    : config.listen.host.includes(':')
      ? `[${config.listen.host}]`
      : config.listen.host;
  const url = new URL('/api/v1/reload', values.url ?? `${config.listen.tls ? 'https' : 'http'}://${host}:${config.listen.port}`);
  let answer;
  try {
    answer = await post(url, token);
  } catch (err) {
    process.stderr.write(
      `canh-collector alerts reload: cannot reach the collector at ${url.origin}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`,
    );
    return 1;
  }
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    // not JSON: shown raw below
  }
  if (values.json) out(answer.body.trim());
  if (answer.status !== 200) {
    const why = typeof body.error === 'string' ? `${body.error}${body.code ? `\n(${String(body.code)})` : ''}` : `HTTP ${answer.status}: ${answer.body.trim()}`;
    process.stderr.write(`canh-collector: the collector did not reload: ${why}\n`);
    if (answer.status === 401)
      process.stderr.write('the admin token in the file may differ from the running one (it changes only with a reload); send SIGHUP instead\n');
    return 1;
  }
  if (!values.json) reloadText(body, cliLang(values.lang, config));
  return 0;
}

/** What the collector answered to a reload, in the reader's language. */
function reloadText(body: Record<string, unknown>, lang: CliLang): void {
  const w = CLI_WORDS[lang];
  const a = body.alerting as { rules?: number; added?: string[]; removed?: string[]; changed?: string[]; resolved?: number } | string | undefined;
  const list = (xs: string[] | undefined) => xs?.join(', ') || '-';
  if (a && typeof a === 'object') out(w.reloaded(a.rules ?? 0, list(a.added), list(a.removed), list(a.changed), a.resolved ?? 0));
  else out(w.reloadedOther(String(a)));
  const restart = body.restart_needed as string[] | undefined;
  if (restart?.length) out(w.restartNeeded(restart.join(', ')));
}

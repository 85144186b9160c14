// canh-collector backup --to DIR | restore --from DIR (collector/src/backup/backup.ts).
//   canh-collector backup --to /var/backups/canh/2026-12-08 [--influx-host 127.0.0.1:8088] [--no-influx]
//   canh-collector restore --from /var/backups/canh/2026-12-08 [--force] [--influx-host ...] [--no-influx]
import { parseArgs } from 'node:util';
import { createLogger } from '@canh/core';
import { loadCollectorConfig, type CollectorConfig } from '../config.ts';
import { InfluxWriter } from '../influx/writer.ts';
import { backup, restore } from '../backup/backup.ts';
import { COLLECTOR_VERSION } from '../version.ts';
import { out, parseArgsError, usageError } from './usage.ts';
import { CLI_WORDS, cliLang, cliWhen, cliZone } from './words.ts';

export const BACKUP_USAGE = `usage: canh-collector backup --to DIR [--influx-host HOST:PORT] [--no-influx] [--config FILE] [--lang vi|en]
       canh-collector restore --from DIR [--force] [--influx-host HOST:PORT] [--no-influx] [--config FILE] [--lang vi|en]
  --influx-host  influxd's RPC address for backup and restore (default: influx.url's host, port 8088)
  --no-influx    the collector's state only (InfluxDB backed up otherwise)
  --force        restore over an existing collector.db and InfluxDB database (stop the collector first)`;

function parse(argv: string[], cmd: 'backup' | 'restore') {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        'influx-host': { type: 'string' },
        'no-influx': { type: 'boolean' },
        to: { type: 'string' },
        from: { type: 'string' },
        force: { type: 'boolean' },
        lang: { type: 'string' },
      },
    }));
  } catch (err) {
    throw parseArgsError(err, BACKUP_USAGE);
  }
  if (cmd === 'backup' && (values.from !== undefined || values.force))
    throw usageError('backup takes --to DIR (--from and --force are for restore)', BACKUP_USAGE);
  if (cmd === 'restore' && values.to !== undefined) throw usageError('restore takes --from DIR (--to is for backup)', BACKUP_USAGE);
  return values;
}

function rpcHost(config: CollectorConfig, given: string | undefined): string {
  if (given) {
    if (!/^[\w.-]+:\d{1,5}$|^\[[\d:a-f]+\]:\d{1,5}$/i.test(given)) throw usageError(`--influx-host: "${given}" is not HOST:PORT`, BACKUP_USAGE);
    return given;
  }
  return `${new URL(config.influx.url).hostname}:8088`;
}

const binary = (): string => process.env.CANH_INFLUXD ?? 'influxd';

export async function backupCommand(argv: string[]): Promise<number> {
  const values = parse(argv, 'backup');
  if (!values.to) throw usageError('backup: --to DIR is required (a new, empty folder)', BACKUP_USAGE);
  const config = loadCollectorConfig(values.config ?? process.env.CANH_COLLECTOR_CONFIG ?? '/etc/canh/collector.yaml');
  const m = await backup({
    stateDir: config.state_dir,
    to: values.to,
    collectorVersion: COLLECTOR_VERSION,
    influx: values['no-influx'] ? undefined : { database: config.influx.database, host: rpcHost(config, values['influx-host']), binary: binary() },
  });
  const w = CLI_WORDS[cliLang(values.lang, config)];
  out(w.backupWritten(values.to, m.state.agents, m.spool.files.length, m.influx ? `"${m.influx.database}" (${m.influx.tool})` : ''));
  return 0;
}

export async function restoreCommand(argv: string[]): Promise<number> {
  const values = parse(argv, 'restore');
  if (!values.from) throw usageError('restore: --from DIR is required (a folder written by canh-collector backup)', BACKUP_USAGE);
  const config = loadCollectorConfig(values.config ?? process.env.CANH_COLLECTOR_CONFIG ?? '/etc/canh/collector.yaml');
  const influx = new InfluxWriter(
    {
      url: config.influx.url,
      database: config.influx.database,
      username: config.influx.username,
      password: config.influxPassword,
      retention: undefined,
      batchSize: 1,
      flushIntervalMs: 1000,
      timeoutMs: config.influx.timeout,
      maxQueuedLines: 1000,
      concurrency: 1,
    },
    createLogger({ name: 'canh-collector', level: 'warn' }).child({ component: 'restore' }),
  );
  const db = config.influx.database.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const m = await restore({
    stateDir: config.state_dir,
    from: values.from,
    force: !!values.force,
    influx: values['no-influx']
      ? undefined
      : {
          host: rpcHost(config, values['influx-host']),
          binary: binary(),
          database: config.influx.database,
          databaseExists: async () => {
            const r = (await influx.query('SHOW DATABASES')) as { results?: { series?: { values?: unknown[][] }[] }[] };
            return (r.results?.[0]?.series?.[0]?.values ?? []).some((v) => v[0] === config.influx.database);
          },
          dropDatabase: async () => {
            await influx.query(`DROP DATABASE "${db}"`);
          },
          readable: async () => {
            const r = (await influx.query('SELECT count(*) FROM /.*/', config.influx.database).catch(() => ({ error: 'unreachable' }))) as {
              error?: string;
              results?: { error?: string }[];
            };
            return !r.error && !(r.results ?? []).some((x) => x.error);
          },
        },
  });
  const lang = cliLang(values.lang, config);
  const made = cliWhen(Date.parse(m.created_at), cliZone(config), lang);
  const database = m.influx && !values['no-influx'] ? `"${config.influx.database}"` : '';
  out(CLI_WORDS[lang].restored(values.from, made, m.state.agents, m.spool.files.length, database));
  return 0;
}

// canh-collector storage: retention policies, roll-ups and capacity, from the command line.
//   storage apply [--confirm]   create/adjust policies and CQs now; --confirm lets a
//                               shorter period delete what it must (the collector never does alone)
//   storage status              policies, CQs, back-fill progress, pending shortenings
//   storage estimate            points/s × bytes per point → GB/day and days until the disk is full
import { pino } from 'pino';
import type { CollectorConfig } from '../config.ts';
import { InfluxWriter } from '../influx/writer.ts';
import { formatDuration, policyWriter, StorageManager, type PendingShortening } from '../influx/retention.ts';
import { estimateStorage, formatEstimate } from '../influx/capacity.ts';
import { openRegistry } from '../collector.ts';
import { out } from './usage.ts';
import { cliLang, cliWhen, cliZone, type CliLang } from './words.ts';

const WORDS = {
  en: {
    isDefault: ' (default)',
    shardGroups: 'shard groups of',
    cqs: 'continuous queries',
    notApplied: 'not applied, would delete data (run again with --confirm):',
    configured: 'configured',
    wouldDelete: (n: number) => `would delete ${n} shard group(s)`,
    span: (a: string, b: string) => ` from ${a} to ${b}`,
    onDisk: (mib: string) => `, ${mib} MiB on disk`,
  },
  vi: {
    isDefault: ' (mặc định)',
    shardGroups: 'mỗi nhóm phân đoạn',
    cqs: 'truy vấn gộp liên tục',
    notApplied: 'chưa áp dụng vì sẽ xoá dữ liệu (chạy lại với --confirm):',
    configured: 'theo cấu hình',
    wouldDelete: (n: number) => `sẽ xoá ${n} nhóm phân đoạn`,
    span: (a: string, b: string) => ` từ ${a} đến ${b}`,
    onDisk: (mib: string) => `, ${mib} MiB trên đĩa`,
  },
};

export const STORAGE_USAGE = `       canh-collector storage apply [--confirm] | storage status | storage estimate [--json]`;

export function storageManagerFor(config: CollectorConfig): { manager: StorageManager; client: InfluxWriter } {
  const i = config.influx;
  const log = pino({ level: 'info' }, process.stderr);
  const client = new InfluxWriter(
    {
      url: i.url,
      database: i.database,
      username: i.username,
      password: config.influxPassword,
      batchSize: 1,
      flushIntervalMs: 1000,
      timeoutMs: Math.max(i.timeout, 600_000),
      maxQueuedLines: 1000,
      concurrency: 1,
    },
    log,
  );
  const manager = new StorageManager(config.storage, {
    client,
    database: i.database,
    rawPolicy: i.retention_policy,
    writePolicy: policyWriter({ url: i.url, database: i.database, username: i.username, password: config.influxPassword, timeoutMs: i.timeout }),
    log,
  });
  return { manager, client };
}

/** A shortening still to confirm; the data it would delete dated in the reader's zone and language. */
function describePending(p: PendingShortening, lang: CliLang, tz: string): string {
  const w = WORDS[lang];
  const day = (t: number) => cliWhen(t, tz, lang);
  const span = p.oldest !== null && p.newest !== null ? w.span(day(p.oldest), day(p.newest)) : '';
  const size = p.bytes !== null ? w.onDisk((p.bytes / 1048576).toFixed(1)) : '';
  return `  ${p.policy}: ${formatDuration(p.from, lang)} → ${formatDuration(p.to, lang)} ${w.wouldDelete(p.shards)}${span}${size}`;
}

export async function storageCommand(
  sub: string | undefined,
  values: { confirm?: boolean; json?: boolean; lang?: string },
  config: CollectorConfig,
): Promise<number> {
  const lang = cliLang(values.lang, config);
  const w = WORDS[lang];
  const { manager, client } = storageManagerFor(config);
  try {
    if (sub === 'apply') {
      const pending = await manager.apply({ confirm: Boolean(values.confirm) });
      for (const p of manager.status.policies) out(`${p.name}: ${formatDuration(p.duration, lang)}${p.isDefault ? w.isDefault : ''}`);
      out(`${w.cqs}: ${manager.status.continuousQueries}`);
      if (pending.length) {
        out(w.notApplied);
        for (const p of pending) out(describePending(p, lang, cliZone(config)));
        return 3;
      }
      return 0;
    }
    if (sub === 'status') {
      const policies = await manager.policies();
      for (const p of policies)
        out(`${p.name}: ${formatDuration(p.duration, lang)}, ${w.shardGroups} ${formatDuration(p.shardGroup, lang)}${p.isDefault ? w.isDefault : ''}`);
      const want: [string, number][] = [
        ['raw', config.storage.raw],
        ['rollup', config.storage.rollup],
        ['events', config.storage.events],
      ];
      out(`${w.configured}: ${want.map(([k, v]) => `${k} ${formatDuration(v, lang)}`).join(', ')}`);
      return 0;
    }
    if (sub === 'estimate') {
      const registry = openRegistry(config.state_dir);
      let agents: number;
      try {
        agents = registry.list().filter((a) => a.revokedAt === null).length;
      } finally {
        registry.close();
      }
      const e = await estimateStorage(client, { database: config.influx.database, agents, storage: config.storage });
      out(values.json ? JSON.stringify(e, null, 2) : formatEstimate(e, lang));
      return 0;
    }
    process.stderr.write(`canh-collector storage: unknown subcommand "${sub ?? ''}"\n${STORAGE_USAGE.trim()}\n`);
    return 2;
  } finally {
    await client.stop(100);
  }
}

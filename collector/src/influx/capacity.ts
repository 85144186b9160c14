// How much disk InfluxDB needs and how long the disk lasts (`canh-collector storage
// estimate`, the status page, the collector's self-metrics).
//
// Inputs: points per second (the last hour's intake from the collector's own `collector`
// measurement, per connected agent, times the agents in the registry), bytes per point
// measured on this InfluxDB (disk bytes of the raw policy's shards ÷ points written to
// them, InfluxDB's own shard statistics), and the free space of the file system that
// holds InfluxDB's data directory when it is on this machine.
import { statfsSync } from 'node:fs';
import type { Point } from '@canh/protocol';
import { EVENTS_POLICY, ROLLUP_POLICY, type QueryClient } from './retention.ts';

/** Points per agent per second when nothing was measured yet: ~150 points every 10 s (issue 29). */
export const DEFAULT_POINTS_PER_AGENT = 15;
/** Bytes per point on disk when nothing was measured yet (docs/operating/storage.md gives the measured figure). */
export const DEFAULT_BYTES_PER_POINT = 12;
/** Roll-up points per raw point: 10 s samples → one 5-minute bucket (1/30), gauges keeping mean, min and max. */
export const ROLLUP_RATIO = 1 / 15;

export interface DiskUsage {
  path: string;
  total: number;
  free: number;
  used: number;
  usedPercent: number;
}

/** Size and free space of the file system holding `path`; undefined if it is not here. */
export function diskUsage(path: string): DiskUsage | undefined {
  try {
    const s = statfsSync(path);
    const total = s.blocks * s.bsize;
    const free = s.bavail * s.bsize;
    const used = total - s.bfree * s.bsize;
    return { path, total, free, used, usedPercent: total ? (used / (used + free)) * 100 : 0 };
  } catch {
    return undefined;
  }
}

type Answer = { results?: { error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[] };
function rows(a: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const r of (a as Answer).results ?? [])
    for (const s of r.series ?? [])
      for (const v of s.values ?? []) {
        const row: Record<string, unknown> = { ...s.tags };
        s.columns.forEach((c, i) => (row[c] = v[i]));
        out.push(row);
      }
  return out;
}

export interface PolicyBytes {
  policy: string;
  bytes: number;
  pointsWritten: number;
}

/** Disk bytes and points written per retention policy of the database (SHOW STATS for shards). */
export async function policyBytes(client: QueryClient, database: string): Promise<PolicyBytes[]> {
  const by = new Map<string, PolicyBytes>();
  for (const r of rows(await client.query(`SHOW STATS FOR 'shard'`))) {
    if (r.database !== database) continue;
    const policy = String(r.retentionPolicy);
    const e = by.get(policy) ?? { policy, bytes: 0, pointsWritten: 0 };
    e.bytes += typeof r.diskBytes === 'number' ? r.diskBytes : 0;
    e.pointsWritten += typeof r.writePointsOk === 'number' ? r.writePointsOk : 0;
    by.set(policy, e);
  }
  return [...by.values()];
}

export interface StorageEstimate {
  agents: number;
  connectedAgents: number;
  /** Points per second the collector received over the last hour (null: no figure yet). */
  intakePerSecond: number | null;
  pointsPerAgentPerSecond: number;
  pointsPerSecond: number;
  bytesPerPoint: number;
  bytesPerPointMeasured: boolean;
  rawGBPerDay: number;
  rollupGBPerDay: number;
  /** Disk use once every policy is full: raw period of raw data + roll-up period of roll-ups. */
  steadyStateGB: number;
  /** What the same data would take in a year with no roll-ups and no raw expiry. */
  yearWithoutRollupsGB: number;
  usedByPolicy: PolicyBytes[];
  disk: DiskUsage | null;
  /** Days until the disk is full at today's growth; null when unknown, Infinity when the steady state fits. */
  daysToFull: number | null;
}

export async function estimateStorage(
  client: QueryClient,
  opts: { database: string; agents: number; storage: { raw: number; rollup: number; events: number; influx_data_dir?: string }; dataDir?: string },
): Promise<StorageEstimate> {
  const DAY = 86_400_000;
  const intake = rows(
    await client.query(
      `SELECT sum("d") AS "points", max("c") AS "connected" FROM (SELECT non_negative_difference(last("points")) AS "d", last("agents_connected") AS "c" FROM "collector" WHERE time > now() - 1h GROUP BY time(10s), "collector")`,
      opts.database,
    ),
  )[0];
  const intakePerSecond = typeof intake?.points === 'number' ? intake.points / 3600 : null;
  const connected = typeof intake?.connected === 'number' ? intake.connected : 0;
  const perAgent = intakePerSecond && connected > 0 ? intakePerSecond / connected : DEFAULT_POINTS_PER_AGENT;
  const pps = perAgent * Math.max(opts.agents, connected);
  const used = await policyBytes(client, opts.database).catch(() => [] as PolicyBytes[]);
  const raw = used.find((p) => p.policy !== ROLLUP_POLICY && p.policy !== EVENTS_POLICY && p.pointsWritten > 1000);
  const measured = raw !== undefined && raw.bytes > 0;
  const bpp = measured ? raw.bytes / raw.pointsWritten : DEFAULT_BYTES_PER_POINT;
  const GB = 1e9;
  const rawPerDay = (pps * 86_400 * bpp) / GB;
  const rollupPerDay = rawPerDay * ROLLUP_RATIO;
  const steady = rawPerDay * (opts.storage.raw / DAY) + rollupPerDay * (opts.storage.rollup / DAY);
  const dir = opts.dataDir ?? opts.storage.influx_data_dir;
  const disk = dir ? (diskUsage(dir) ?? null) : null;
  let daysToFull: number | null = null;
  if (disk) {
    const nowUsed = used.reduce((a, p) => a + p.bytes, 0) / GB;
    daysToFull = steady - nowUsed <= disk.free / GB ? Infinity : disk.free / GB / Math.max(rawPerDay + rollupPerDay, 1e-9);
  }
  return {
    agents: opts.agents,
    connectedAgents: connected,
    intakePerSecond,
    pointsPerAgentPerSecond: perAgent,
    pointsPerSecond: pps,
    bytesPerPoint: bpp,
    bytesPerPointMeasured: measured,
    rawGBPerDay: rawPerDay,
    rollupGBPerDay: rollupPerDay,
    steadyStateGB: steady,
    yearWithoutRollupsGB: rawPerDay * 365,
    usedByPolicy: used,
    disk,
    daysToFull,
  };
}

const ESTIMATE_WORDS = {
  en: {
    agents: (n: number, c: number) => `agents: ${n} registered, ${c} connected`,
    intake: (now: string | null, per: string) => `intake over the last hour: ${now === null ? 'no figure yet' : `${now} points/s`} → ${per} points/s per agent`,
    projected: (pps: string, bpp: string, measured: boolean) =>
      `projected: ${pps} points/s × ${bpp} bytes/point (${measured ? 'measured on this InfluxDB' : 'assumed: nothing measured yet'})`,
    perDay: (raw: string, rollup: string) => `raw: ${raw} GB/day; roll-ups: ${rollup} GB/day`,
    steady: (gb: string, year: string) => `disk once every policy is full: ${gb} GB (a year raw without roll-ups: ${year} GB)`,
    inPolicy: (policy: string, gb: string) => `  now in ${policy}: ${gb} GB`,
    disk: (path: string, free: string, total: string, used: string) => `InfluxDB's disk (${path}): ${free} GB free of ${total} GB (${used} % used)`,
    noDisk: "InfluxDB's data directory is not on this machine: days to full unknown (give --data-dir)",
    never: 'days to full: never at this rate (the steady state fits)',
    days: (n: number) => `days to full: ${n}`,
  },
  vi: {
    agents: (n: number, c: number) => `tác tử: ${n} đã đăng ký, ${c} đang kết nối`,
    intake: (now: string | null, per: string) =>
      `lượng nhận trong giờ qua: ${now === null ? 'chưa có số liệu' : `${now} điểm/giây`} → ${per} điểm/giây mỗi tác tử`,
    projected: (pps: string, bpp: string, measured: boolean) =>
      `dự kiến: ${pps} điểm/giây × ${bpp} byte/điểm (${measured ? 'đo trên InfluxDB này' : 'giả định: chưa đo được'})`,
    perDay: (raw: string, rollup: string) => `dữ liệu gốc: ${raw} GB/ngày; dữ liệu gộp: ${rollup} GB/ngày`,
    steady: (gb: string, year: string) => `dung lượng khi mọi chính sách lưu trữ đã đầy: ${gb} GB (một năm dữ liệu gốc không gộp: ${year} GB)`,
    inPolicy: (policy: string, gb: string) => `  hiện dùng trong ${policy}: ${gb} GB`,
    disk: (path: string, free: string, total: string, used: string) =>
      `ổ đĩa của InfluxDB (${path}): còn trống ${free} GB trên ${total} GB (đã dùng ${used} %)`,
    noDisk: 'thư mục dữ liệu của InfluxDB không nằm trên máy này: chưa biết bao lâu thì đầy (dùng --data-dir)',
    never: 'số ngày đến khi đầy: không bao giờ với tốc độ này (đủ chỗ cho lượng ổn định)',
    days: (n: number) => `số ngày đến khi đầy: ${n}`,
  },
} satisfies Record<'en' | 'vi', unknown>;

/** The estimate as a person reads it; Vietnamese writes a decimal comma. */
export function formatEstimate(e: StorageEstimate, lang: 'vi' | 'en' = 'en'): string {
  const w = ESTIMATE_WORDS[lang];
  const f = (n: number, d = 1): string => (lang === 'vi' ? n.toFixed(d).replace('.', ',') : n.toFixed(d));
  const lines = [
    w.agents(e.agents, e.connectedAgents),
    w.intake(e.intakePerSecond === null ? null : f(e.intakePerSecond), f(e.pointsPerAgentPerSecond)),
    w.projected(f(e.pointsPerSecond), f(e.bytesPerPoint, 2), e.bytesPerPointMeasured),
    w.perDay(f(e.rawGBPerDay, 2), f(e.rollupGBPerDay, 3)),
    w.steady(f(e.steadyStateGB), f(e.yearWithoutRollupsGB)),
    ...e.usedByPolicy.map((p) => w.inPolicy(p.policy, f(p.bytes / 1e9, 3))),
  ];
  if (e.disk) lines.push(w.disk(e.disk.path, f(e.disk.free / 1e9), f(e.disk.total / 1e9), f(e.disk.usedPercent)));
  else lines.push(w.noDisk);
  if (e.daysToFull !== null) lines.push(e.daysToFull === Infinity ? w.never : w.days(Math.floor(e.daysToFull)));
  return lines.join('\n');
}

/**
 * The collector's own point about InfluxDB's disk (measurement `influxdb_disk`), written
 * every minute and fed to the alert engine like an agent's, so the default rules
 * `influxdb_disk_80` and `influxdb_disk_90` (alerts/default-rules.yaml) watch it.
 */
export function diskPoint(d: DiskUsage, at: number): Point {
  return {
    name: 'influxdb_disk',
    time: at,
    tags: { path: d.path.slice(0, 200) },
    fields: { used_percent: Math.round(d.usedPercent * 100) / 100, free: d.free, total: d.total, used: d.used },
    int: ['free', 'total', 'used'],
  };
}

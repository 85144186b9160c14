// Retention policies and roll-ups, kept in step with the config by the collector itself
// (issue 29): nobody edits InfluxDB by hand.
//
//   raw policy (the database's default, `autogen` unless influx.retention_policy names
//     another): every point as the agents sent it, `storage.raw` (30 d).
//   rollup_5m: 5-minute roll-ups of every other measurement (rollup-schema.ts), made by
//     continuous queries, `storage.rollup` (400 d).
//   events: `security_event` and `alert` copied raw by the collector (a CQ cannot copy
//     without aggregating), `storage.events` (3 years).
//   canh_meta (infinite): the back-fill's progress and `rp_select`, which tells Grafana
//     which policy covers a time range (dashboards' `$rp` and `$events_rp`).
//
// apply() is idempotent: run at start and on every reload. A period made longer is
// applied at once; one made shorter is applied only when nothing stored would go, or
// with `confirm` (`canh-collector storage apply --confirm`); otherwise the collector
// keeps the old period and says how much would go (CANH_ERR_STORAGE_CONFIRM).
import type { Logger } from 'pino';
import { CanhError } from '@canh/core';
import {
  backfillStatements,
  continuousQueries,
  cqMeasurement,
  EVENT_MEASUREMENTS,
  isRolledUp,
  planRollup,
  quoteIdent,
  ROLLUP_INTERVAL_MS,
  type FieldType,
  type RollupPlan,
  type Target,
} from './rollup-schema.ts';

export const ROLLUP_POLICY = 'rollup_5m';
export const EVENTS_POLICY = 'events';
export const META_POLICY = 'canh_meta';
const DAY = 86_400_000;
/** The back-fill's step: six hours of one measurement per statement keeps InfluxDB's memory for a province's data modest. */
const CHUNK = 6 * 3_600_000;

export interface StorageSettings {
  /** Manage policies and roll-ups at all (false: the operator runs InfluxDB by hand). */
  manage: boolean;
  raw: number;
  rollup: number;
  events: number;
  /** Recompute roll-ups and re-copy events this far back once a day (late data from agents' spools). */
  catch_up: number;
}

export interface QueryClient {
  query(q: string, db?: string): Promise<unknown>;
}

export interface StorageDeps {
  client: QueryClient;
  database: string;
  /** The raw policy's name when the config names one (influx.retention_policy). */
  rawPolicy?: string;
  /** POST line protocol into one policy (the writer always writes into the raw one). */
  writePolicy: (policy: string, lines: string[]) => Promise<void>;
  log: Logger;
  now?: () => number;
}

export interface PolicyState {
  name: string;
  /** ms; 0 = infinite. */
  duration: number;
  shardGroup: number;
  isDefault: boolean;
}

/** A shorter period waiting for --confirm: what it would drop. */
export interface PendingShortening {
  policy: string;
  from: number;
  to: number;
  /** Shard groups that would be dropped, their time span and their size on disk. */
  shards: number;
  oldest: number | null;
  newest: number | null;
  bytes: number | null;
}

export interface StorageStatus {
  managed: boolean;
  policies: PolicyState[];
  continuousQueries: number;
  pending: PendingShortening[];
  backfill: { state: 'idle' | 'running' | 'done' | 'failed'; done: number; total: number; current: string | null };
  eventsCopied: number;
  lastApply: number | null;
  lastError: string | null;
}

type Answer = {
  error?: string;
  results?: { error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[];
};
type Row = Record<string, unknown>;

function rows(answer: unknown): Row[] {
  const a = answer as Answer;
  if (a.error) throw new CanhError('CANH_ERR_INFLUX_QUERY', `InfluxDB query failed: ${a.error}`);
  const out: Row[] = [];
  for (const r of a.results ?? []) {
    if (r.error) throw new CanhError('CANH_ERR_INFLUX_QUERY', `InfluxDB query failed: ${r.error}`);
    for (const s of r.series ?? [])
      for (const v of s.values ?? []) {
        const row: Row = { _name: s.name, ...s.tags };
        s.columns.forEach((c, i) => (row[c] = v[i]));
        out.push(row);
      }
  }
  return out;
}

/** Go's duration text as InfluxDB prints it ("720h0m0s", "0s" for infinite) in ms. */
export function goDuration(s: string): number {
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(h|m|s|ms|µs|us|ns)/g)) {
    const n = Number(m[1]);
    ms += n * ({ h: 3_600_000, m: 60_000, s: 1000, ms: 1, µs: 1e-3, us: 1e-3, ns: 1e-6 }[m[2]!] ?? 0);
  }
  return Math.round(ms);
}

/** A period as an InfluxQL duration literal (whole minutes at least; INF for 0). */
export function influxDuration(ms: number): string {
  if (ms === 0) return 'INF';
  if (ms % DAY === 0) return `${ms / DAY}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.max(1, Math.round(ms / 60_000))}m`;
}

/** InfluxDB's own choice of shard group for a period, and 1 d for a raw policy under 6 months. */
export function shardGroupFor(ms: number): number {
  if (ms === 0 || ms > 180 * DAY) return 7 * DAY;
  if (ms >= 2 * DAY) return DAY;
  return 3_600_000;
}

export function formatDuration(ms: number, lang: 'vi' | 'en' = 'en'): string {
  const vi = lang === 'vi';
  if (ms === 0) return vi ? 'vô hạn' : 'infinite';
  if (ms % DAY === 0) return `${ms / DAY} ${vi ? 'ngày' : 'd'}`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} ${vi ? 'giờ' : 'h'}`;
  return `${Math.round(ms / 60_000)} ${vi ? 'phút' : 'min'}`;
}

/** The status page's storage line in both languages. */
const SUMMARY_WORDS = {
  en: {
    unmanaged: 'not managed by the collector (storage.manage: false)',
    backfill: 'back-fill',
    states: {} as Record<string, string>,
    waiting: 'waiting for --confirm',
    shards: (n: number) => `${n} shard groups`,
    notRead: 'policies not read yet',
    cqs: (n: number) => `${n} roll-up CQs`,
    lastError: 'last error',
  },
  vi: {
    unmanaged: 'máy thu thập không quản lý (storage.manage: false)',
    backfill: 'tính bù dữ liệu gộp',
    states: { done: 'đã xong', idle: 'chưa chạy', pending: 'chờ chạy', failed: 'lỗi' } as Record<string, string>,
    waiting: 'chờ xác nhận --confirm',
    shards: (n: number) => `${n} nhóm phân đoạn`,
    notRead: 'chưa đọc được chính sách lưu trữ',
    cqs: (n: number) => `${n} truy vấn gộp liên tục`,
    lastError: 'lỗi gần nhất',
  },
};

function iso(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

export class StorageManager {
  private readonly deps: StorageDeps;
  private settings: StorageSettings;
  private readonly log: Logger;
  private readonly now: () => number;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private running: Promise<unknown> = Promise.resolve();
  private plans: RollupPlan[] = [];
  private rawName: string | undefined;
  readonly status: StorageStatus = {
    managed: false,
    policies: [],
    continuousQueries: 0,
    pending: [],
    backfill: { state: 'idle', done: 0, total: 0, current: null },
    eventsCopied: 0,
    lastApply: null,
    lastError: null,
  };

  constructor(settings: StorageSettings, deps: StorageDeps) {
    this.settings = settings;
    this.deps = deps;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
  }

  private q(statement: string): Promise<Row[]> {
    return this.deps.client.query(statement, this.deps.database).then(rows);
  }

  private get db(): string {
    return quoteIdent(this.deps.database);
  }

  get target(): Target {
    return { database: this.deps.database, raw: this.rawName ?? this.deps.rawPolicy ?? 'autogen', rollup: ROLLUP_POLICY };
  }

  async policies(): Promise<PolicyState[]> {
    return (await this.q(`SHOW RETENTION POLICIES ON ${this.db}`)).map((r) => ({
      name: String(r.name),
      duration: goDuration(String(r.duration)),
      shardGroup: goDuration(String(r.shardGroupDuration)),
      isDefault: r.default === true,
    }));
  }

  /** What shortening `policy` to `to` would drop now: the shard groups wholly older than now − to. */
  async wouldDrop(policy: string, from: number, to: number): Promise<PendingShortening> {
    const cutoff = this.now() - to;
    const shards = (await this.q('SHOW SHARDS')).filter(
      (r) => r.database === this.deps.database && r.retention_policy === policy && Date.parse(String(r.end_time)) < cutoff,
    );
    let bytes: number | null = null;
    try {
      const ids = new Set(shards.map((s) => String(s.id)));
      const stats = await this.q(`SHOW STATS FOR 'shard'`);
      bytes = stats.filter((s) => ids.has(String(s.id))).reduce((a, s) => a + (typeof s.diskBytes === 'number' ? s.diskBytes : 0), 0);
    } catch {
      bytes = null; // older InfluxDB without per-shard stats: the span still says what goes
    }
    const starts = shards.map((s) => Date.parse(String(s.start_time)));
    const ends = shards.map((s) => Date.parse(String(s.end_time)));
    return {
      policy,
      from,
      to,
      shards: shards.length,
      oldest: starts.length ? Math.min(...starts) : null,
      newest: ends.length ? Math.max(...ends) : null,
      bytes,
    };
  }

  /**
   * Create or adjust the policies, the CQs and Grafana's rp_select. Returns the shortenings
   * still waiting for confirmation. Safe to run again at any time.
   */
  async apply(opts: { confirm?: boolean; settings?: StorageSettings } = {}): Promise<PendingShortening[]> {
    if (opts.settings) this.settings = opts.settings;
    const s = this.settings;
    this.status.managed = s.manage;
    if (!s.manage) {
      // Policies are the operator's; the dashboards still need rp_select to name the default one.
      let current = await this.policies().catch(() => [] as PolicyState[]);
      if (!current.length) return [];
      this.rawName = this.deps.rawPolicy ?? current.find((p) => p.isDefault)?.name ?? 'autogen';
      if (!current.some((p) => p.name === META_POLICY)) {
        await this.q(`CREATE RETENTION POLICY ${quoteIdent(META_POLICY)} ON ${this.db} DURATION INF REPLICATION 1`);
        current = await this.policies();
      }
      this.status.policies = current;
      await this.writeRpSelect(current.map((p) => (p.name === this.rawName ? { ...p, duration: 0 } : p)));
      return [];
    }
    await this.q(`CREATE DATABASE ${this.db}`);
    let current = await this.policies();
    const raw = this.deps.rawPolicy ?? current.find((p) => p.isDefault)?.name ?? 'autogen';
    this.rawName = raw;
    const want: { name: string; duration: number; isDefault: boolean }[] = [
      { name: raw, duration: s.raw, isDefault: true },
      { name: ROLLUP_POLICY, duration: s.rollup, isDefault: false },
      { name: EVENTS_POLICY, duration: s.events, isDefault: false },
      { name: META_POLICY, duration: 0, isDefault: false },
    ];
    const pending: PendingShortening[] = [];
    for (const w of want) {
      const have = current.find((p) => p.name === w.name);
      const shard = shardGroupFor(w.duration);
      const spec = `DURATION ${influxDuration(w.duration)} REPLICATION 1 SHARD DURATION ${influxDuration(shard)}${w.isDefault ? ' DEFAULT' : ''}`;
      if (!have) {
        await this.q(`CREATE RETENTION POLICY ${quoteIdent(w.name)} ON ${this.db} ${spec}`);
        this.log.info({ policy: w.name, duration: formatDuration(w.duration) }, 'retention policy created');
        continue;
      }
      if (have.duration === w.duration && have.shardGroup === shard && (!w.isDefault || have.isDefault)) continue;
      const shorter = w.duration !== 0 && (have.duration === 0 || w.duration < have.duration);
      if (shorter) {
        const drop = await this.wouldDrop(w.name, have.duration, w.duration);
        if (drop.shards > 0 && !opts.confirm) {
          pending.push(drop);
          const what = `${drop.shards} shard group(s) from ${iso(drop.oldest!)} to ${iso(drop.newest!)}${drop.bytes !== null ? `, ${(drop.bytes / 1048576).toFixed(1)} MiB on disk` : ''}`;
          this.log.warn(
            {
              code: 'CANH_ERR_STORAGE_CONFIRM',
              policy: w.name,
              from: formatDuration(have.duration),
              to: formatDuration(w.duration),
              shards: drop.shards,
              bytes: drop.bytes,
            },
            `retention of "${w.name}" not shortened to ${formatDuration(w.duration)}: it would delete ${what}; the old period (${formatDuration(have.duration)}) stays until you run \`canh-collector storage apply --confirm\``,
          );
          continue;
        }
        if (drop.shards > 0)
          this.log.warn(
            { policy: w.name, shards: drop.shards, bytes: drop.bytes },
            `retention of "${w.name}" shortened to ${formatDuration(w.duration)} (confirmed): InfluxDB now deletes ${drop.shards} shard group(s)`,
          );
      }
      await this.q(`ALTER RETENTION POLICY ${quoteIdent(w.name)} ON ${this.db} ${spec}`);
      this.log.info({ policy: w.name, from: formatDuration(have.duration), to: formatDuration(w.duration) }, 'retention policy changed');
    }
    current = await this.policies();
    this.status.policies = current;
    this.status.pending = pending;
    await this.writeRpSelect(current);
    await this.syncContinuousQueries();
    this.status.lastApply = this.now();
    this.status.lastError = null;
    return pending;
  }

  /** Fields of every measurement that has raw data, as SHOW FIELD KEYS lists them. */
  private async rawMeasurements(): Promise<{ measurement: string; fields: { name: string; type: FieldType }[] }[]> {
    const names = (await this.q(`SHOW MEASUREMENTS ON ${this.db}`)).map((r) => String(r.name));
    const out: { measurement: string; fields: { name: string; type: FieldType }[] }[] = [];
    const wanted = names.filter(isRolledUp);
    for (const skipped of names.filter(
      (n) => !isRolledUp(n) && !(EVENT_MEASUREMENTS as readonly string[]).includes(n) && n !== 'rp_select' && n !== 'storage_backfill',
    )) {
      this.log.warn({ measurement: skipped.slice(0, 80) }, 'measurement not rolled up: its name is not a plain identifier');
    }
    if (!wanted.length) return out;
    const fieldRows = await this.q(`SHOW FIELD KEYS ON ${this.db} FROM ${wanted.map((m) => `${quoteIdent(this.target.raw)}.${quoteIdent(m)}`).join(', ')}`);
    const by = new Map<string, { name: string; type: FieldType }[]>();
    for (const r of fieldRows) {
      const list = by.get(String(r._name)) ?? [];
      list.push({ name: String(r.fieldKey), type: String(r.fieldType) as FieldType });
      by.set(String(r._name), list);
    }
    for (const [measurement, fields] of by) out.push({ measurement, fields });
    return out;
  }

  /** One CQ set per measurement with raw data; CQs of an older definition are dropped. */
  private async syncContinuousQueries(): Promise<void> {
    const t = this.target;
    this.plans = (await this.rawMeasurements()).map(planRollup).filter((p): p is RollupPlan => p !== undefined);
    const wanted = new Map(this.plans.flatMap((p) => continuousQueries(p, t)).map((cq) => [cq.name, cq]));
    const existing = (await this.q('SHOW CONTINUOUS QUERIES')).filter((r) => r._name === this.deps.database).map((r) => String(r.name));
    for (const name of existing) {
      if (cqMeasurement(name) === undefined || wanted.has(name)) continue;
      await this.q(`DROP CONTINUOUS QUERY ${quoteIdent(name)} ON ${this.db}`);
      this.log.info({ cq: name }, 'continuous query of an older definition dropped');
    }
    let created = 0;
    for (const [name, cq] of wanted) {
      if (existing.includes(name)) continue;
      await this.q(cq.create);
      created++;
    }
    if (created) this.log.info({ created, measurements: this.plans.length }, 'roll-up continuous queries created');
    this.status.continuousQueries = wanted.size;
  }

  /**
   * Grafana's policy choice (dashboards/README.md): one point per policy at the time
   * "epoch + its period", so `WHERE time > now() - ${__from}ms` keeps the policies that
   * still hold the range's start, and first() picks the finest of them.
   */
  private async writeRpSelect(policies: PolicyState[]): Promise<void> {
    const dur = (n: string): number => policies.find((p) => p.name === n)?.duration ?? 0;
    const raw = this.target.raw;
    // An infinite raw policy covers everything; the roll-up is then never needed for ranges.
    const rawCover = dur(raw) || 100 * 365 * DAY;
    const fallback = 100 * 365 * DAY + DAY;
    const points: [string, string, number][] = [
      ['metrics', raw, rawCover],
      ['metrics', ROLLUP_POLICY, Math.max(dur(ROLLUP_POLICY) || fallback, rawCover + 1)],
      ['metrics', ROLLUP_POLICY, fallback + 1],
      ['events', raw, rawCover],
      ['events', EVENTS_POLICY, Math.max(dur(EVENTS_POLICY) || fallback, rawCover + 1)],
      ['events', EVENTS_POLICY, fallback + 1],
    ];
    await this.q(`DROP SERIES FROM "rp_select"`);
    await this.deps.writePolicy(
      META_POLICY,
      points.map(([kind, rp, t]) => `rp_select,kind=${kind} rp="${rp}" ${t}`),
    );
  }

  /** Progress of the back-fill per measurement (canh_meta.storage_backfill). */
  private async backfillMarks(): Promise<Map<string, number>> {
    const r = await this.q(`SELECT last("done_until") AS "done" FROM ${quoteIdent(META_POLICY)}."storage_backfill" GROUP BY "measurement"`);
    return new Map(r.map((x) => [String(x.measurement), Number(x.done)]));
  }

  private async oldest(policy: string, measurement: string): Promise<number | null> {
    const r = await this.q(`SELECT * FROM ${quoteIdent(policy)}.${quoteIdent(measurement)} ORDER BY time ASC LIMIT 1`);
    return r.length ? Number(r[0]!.time) : null;
  }

  /**
   * Roll up and copy what was stored before the CQs existed, six hours at a time, with the
   * progress logged and kept in canh_meta so a restart resumes where it stopped.
   */
  async backfill(): Promise<void> {
    if (!this.settings.manage) return;
    const b = this.status.backfill;
    b.state = 'running';
    try {
      const marks = await this.backfillMarks();
      const end = Math.floor(this.now() / ROLLUP_INTERVAL_MS) * ROLLUP_INTERVAL_MS;
      const jobs: { key: string; start: number; run: (s: number, e: number) => Promise<void> }[] = [];
      for (const p of this.plans) {
        const start = marks.get(p.measurement) ?? (await this.oldest(this.target.raw, p.measurement));
        if (start === null || start >= end) continue;
        jobs.push({ key: p.measurement, start: Math.floor(start / DAY) * DAY, run: (s, e) => this.rollupRange(p, s, e) });
      }
      const ev = await Promise.all(EVENT_MEASUREMENTS.map((m) => this.oldest(this.target.raw, m)));
      const evStart = marks.get('events') ?? (ev.filter((x): x is number => x !== null).length ? Math.min(...ev.filter((x): x is number => x !== null)) : null);
      // Events are copied up to now (not to the last whole bucket): nothing of them waits for a CQ.
      if (evStart !== null && evStart < end)
        jobs.push({
          key: 'events',
          start: Math.floor(evStart / DAY) * DAY,
          run: async (s, e) => void (await this.copyEvents(s, e === end ? this.now() + 60_000 : e)),
        });
      b.total = jobs.reduce((a, j) => a + Math.ceil((end - j.start) / CHUNK), 0);
      b.done = 0;
      if (!b.total) {
        b.state = 'done';
        return;
      }
      this.log.info({ measurements: jobs.length, chunks: b.total, hours_each: CHUNK / 3_600_000 }, 'back-fill of roll-ups and events starting');
      let lastLog = 0;
      for (const j of jobs) {
        b.current = j.key;
        for (let s = j.start; s < end && !this.stopped; s += CHUNK) {
          const e = Math.min(end, s + CHUNK);
          await j.run(s, e);
          await this.deps.writePolicy(META_POLICY, [`storage_backfill,measurement=${j.key} done_until=${e}i 0`]);
          b.done++;
          if (b.done === b.total || this.now() - lastLog > 5000) {
            lastLog = this.now();
            this.log.info(
              { measurement: j.key, at: iso(s), done: b.done, total: b.total, percent: Math.round((b.done / b.total) * 100) },
              'back-fill progress',
            );
          }
        }
      }
      b.current = null;
      b.state = this.stopped ? 'idle' : 'done';
      if (!this.stopped) this.log.info({ chunks: b.total }, 'back-fill done');
    } catch (err) {
      b.state = 'failed';
      this.status.lastError = (err as Error).message;
      throw err;
    }
  }

  async rollupRange(p: RollupPlan, start: number, end: number): Promise<void> {
    for (const st of backfillStatements(p, this.target, start, end)) await this.q(st);
  }

  /** Copy security events and alert changes of [start, end) into the events policy (idempotent: same points). */
  async copyEvents(start: number, end: number): Promise<number> {
    const names = EVENT_MEASUREMENTS.join('|');
    const r = await this.q(
      `SELECT * INTO ${this.db}.${quoteIdent(EVENTS_POLICY)}.:MEASUREMENT FROM ${this.db}.${quoteIdent(this.target.raw)}./^(${names})$/ WHERE time >= ${start}ms AND time < ${end}ms GROUP BY *`,
    );
    const n = r.reduce((a, x) => a + (typeof x.written === 'number' ? x.written : 0), 0);
    this.status.eventsCopied += n;
    return n;
  }

  /** Recompute the last `catch_up` of roll-ups and events (data that came late). */
  async catchUp(): Promise<void> {
    const end = this.now();
    const start = end - this.settings.catch_up;
    for (const p of this.plans)
      await this.rollupRange(p, Math.floor(start / ROLLUP_INTERVAL_MS) * ROLLUP_INTERVAL_MS, Math.floor(end / ROLLUP_INTERVAL_MS) * ROLLUP_INTERVAL_MS);
    await this.copyEvents(start, end + 60_000);
  }

  private serial<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
    const p = this.running.then(
      () => (this.stopped ? undefined : f()),
      () => (this.stopped ? undefined : f()),
    );
    this.running = p.catch((err: Error) => {
      this.status.lastError = err.message;
      this.log.warn({ err: err.message, code: (err as CanhError).code }, `storage: ${what} failed; it is tried again later`);
    });
    return p;
  }

  /** Apply, back-fill, then keep the events copied and the roll-ups caught up. Returns at once. */
  start(): void {
    if (!this.settings.manage) {
      void this.serial('rp_select', () => this.apply());
      return;
    }
    void this.serial('apply and back-fill', async () => {
      await this.apply();
      await this.backfill();
    });
    const every = (ms: number, what: string, f: () => Promise<unknown>): void => {
      const t = setInterval(() => void this.serial(what, f), ms);
      t.unref();
      this.timers.push(t);
    };
    // Events appear in the events policy within a minute; a 15-minute window covers short delays.
    every(60_000, 'events copy', () => this.copyEvents(this.now() - 15 * 60_000, this.now() + 60_000));
    every(DAY, 'catch-up', () => this.catchUp());
    // New measurements or fields (an input enabled later) get their CQs within the hour.
    every(3_600_000, 'apply', () => this.apply());
  }

  /** One line for the status page: the periods, the back-fill, what waits for --confirm. */
  summary(lang: 'vi' | 'en' = 'en'): string {
    const st = this.status;
    const w = SUMMARY_WORDS[lang];
    if (!st.managed) return w.unmanaged;
    const pol = st.policies.map((p) => `${p.name} ${formatDuration(p.duration, lang)}`).join(', ');
    const b = st.backfill;
    const fill =
      b.state === 'running' ? `${w.backfill} ${b.total ? Math.round((b.done / b.total) * 100) : 0} %` : `${w.backfill} ${w.states[b.state] ?? b.state}`;
    const pend = st.pending.length
      ? `; ${w.waiting}: ${st.pending.map((p) => `${p.policy} → ${formatDuration(p.to, lang)} (${w.shards(p.shards)})`).join(', ')}`
      : '';
    return `${pol || w.notRead}; ${w.cqs(st.continuousQueries)}; ${fill}${pend}${st.lastError ? `; ${w.lastError}: ${st.lastError}` : ''}`;
  }

  /** Re-apply with changed settings (reload): never deletes without confirm. */
  reload(settings: StorageSettings): Promise<PendingShortening[] | undefined> {
    return this.serial('apply', () => this.apply({ settings }));
  }

  /** Wait for what is running now (tests, shutdown). */
  async idle(): Promise<void> {
    let p: Promise<unknown>;
    do {
      p = this.running;
      await p.catch(() => {});
    } while (p !== this.running);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running.catch(() => {});
  }
}

/** POST line protocol (precision ms) into one retention policy of a database. */
export function policyWriter(opts: {
  url: string;
  database: string;
  username?: string;
  password?: string;
  timeoutMs: number;
}): (policy: string, lines: string[]) => Promise<void> {
  return async (policy, lines) => {
    const u = new URL('write', opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
    u.searchParams.set('db', opts.database);
    u.searchParams.set('rp', policy);
    u.searchParams.set('precision', 'ms');
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (opts.username) headers.authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
    const res = await fetch(u, { method: 'POST', headers, body: lines.join('\n'), signal: AbortSignal.timeout(opts.timeoutMs) });
    const text = await res.text();
    if (res.status !== 204)
      throw new CanhError('CANH_ERR_INFLUX_QUERY', `InfluxDB refused a write into policy "${policy}" (HTTP ${res.status}): ${text.slice(0, 300)}`);
  };
}

// Host rules on the collector a host's agent is connected to, when several collectors
// share PostgreSQL. A host rule (alerts/rules.ts isHostRule: a threshold, an event rule
// not correlating hosts, or an absence rule of one of the host's measurements (host-
// silence.ts), each labelled by host) is judged from that host's data alone, so it
// needs nothing from other collectors: each collector judges its own agents' points and
// events here, and writes the episodes' state to the shared `alerts` table; the leader
// hears only of transitions (firing, resolved) and of new events of a firing episode
// through the input log, re-reads those rows and mails them (grouping, inhibition,
// silences, the outbox stay the leader's; what it told of the events it records apart,
// alerts.events_told). So the input log carries a row per transition, not per batch.
// Each collector also judges its own InfluxDB disk here (self()). A windowed rule's
// samples of a host that arrives are read back from InfluxDB (seed()), so its window
// does not start empty after a move.
//
// Ownership: a host's episodes are written only while this collector holds the agent's
// newest session (canh_agent_sessions, state/cluster.ts): every write checks it in the
// same statement, so a collector that lost the agent (a newer session elsewhere, or a
// partition) can no longer overwrite what the new one writes. A collector starts judging
// a host once its session row is committed and the host's open episodes are loaded, so a
// `for` under way goes on from its stored start and a firing episode stays the same
// episode (no second mail). Points that come meanwhile wait (bounded) and are replayed.
import type { Logger } from 'pino';
import { pointsOf, type Batch, type Point, type SecurityEvent } from '@canh/protocol';
import type { Identity } from '../identity.ts';
import type { AlertingConfig } from '../alerts/config.ts';
import { effectiveRules, fingerprint, isHostRule, type AbsenceRule, type EventRule, type ThresholdRule } from '../alerts/rules.ts';
import { HostSilence } from './host-silence.ts';
import { AlertTracker } from '../alerts/tracker.ts';
import { ThresholdEvaluator } from '../alerts/evaluate/threshold.ts';
import { EventEvaluator, storedEventId } from '../alerts/evaluate/event.ts';
import { batchUids } from '../event-times.ts';
import { alertStateValues, toAlert, type AlertEpisodes, type AlertRow } from '../alerts/store.ts';
import type { Alert } from '../alerts/types.ts';
import type { PgState, WriteOp } from './postgres.ts';

/** The collector's own point (collector.ts watchInfluxDisk), judged by each collector about itself. */
const SELF_MEASUREMENT = 'influxdb_disk';
/** Points of one host held while its episodes load (PostgreSQL slow or away). */
const MAX_WAITING_POINTS = 2_000;
const LOAD_RETRY_MS = 1_000;
/** InfluxDB queries seeding windowed rules at once (a failover brings many hosts together). */
const SEED_CONCURRENCY = 4;
/** Newest security events of a host read back for its event rules (a window holds fewer than min_count). */
const MAX_SEEDED_EVENTS = 5_000;
/** Margin on an open event episode's last-seen time when reading its events back (a second's slots, write delays). */
const LAST_SEEN_MARGIN_MS = 5_000;

/** An InfluxQL string literal: quotes and backslashes escaped. */
function influxString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

type InfluxResult = { error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] };
type InfluxAnswer = { results?: InfluxResult[] };

/** Labels of the `alert` measurement's fields, tagged `label_<name>` (tracker.ts alertPointTags). */
const ALERT_FIELD_LABELS = new Set(['state', 'summary', 'value', 'time']);

/**
 * What the `alert` points of a host say (SELECT "state" ... GROUP BY *): each label set's
 * transitions (firing, resolved; a firing point beside a `superseded` one at the same time
 * is a change of severity, not a transition) and the time of its last one.
 */
export function alertHistory(result: InfluxResult | undefined): { flaps: Map<string, number[]>; last: Map<string, number> } {
  if (result?.error) throw new Error(result.error);
  const points: { fp: string; at: number; state: unknown }[] = [];
  for (const s of result?.series ?? []) {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.tags ?? {})) {
      if (k === 'severity' || v === '') continue;
      labels[k.startsWith('label_') && ALERT_FIELD_LABELS.has(k.slice(6)) ? k.slice(6) : k] = v;
    }
    const fp = fingerprint(labels);
    const [t, st] = [s.columns.indexOf('time'), s.columns.indexOf('state')];
    for (const v of s.values) if (typeof v[t] === 'number') points.push({ fp, at: v[t], state: v[st] });
  }
  const superseded = new Set(points.filter((p) => p.state === 'superseded').map((p) => `${p.fp}@${p.at}`));
  const flaps = new Map<string, number[]>();
  const last = new Map<string, number>();
  for (const p of points) {
    if (p.state !== 'resolved' && (p.state !== 'firing' || superseded.has(`${p.fp}@${p.at}`))) continue;
    flaps.set(p.fp, [...(flaps.get(p.fp) ?? []), p.at]);
    last.set(p.fp, Math.max(last.get(p.fp) ?? 0, p.at));
  }
  return { flaps, last };
}

/** Columns of a `security_event` row that are not its evidence (identity.ts eventToPoint). */
const EVENT_COLUMNS = new Set(['time', 'host', 'agency', 'site', 'type', 'severity', 'detector', 'mitre', 'event_uid', 'message', 'count']);
const EVENT_FIELDS = new Set(['event_uid', 'message', 'count']);

/** The events of a `SELECT * FROM security_event` answer (epoch ms) with the stored point each is; rows without event_uid are left out. */
export function storedEvents(result: InfluxResult | undefined): { e: SecurityEvent; id: string }[] {
  if (result?.error) throw new Error(result.error);
  const out: { e: SecurityEvent; id: string }[] = [];
  for (const s of result?.series ?? []) {
    for (const v of s.values) {
      const row: Record<string, unknown> = { ...s.tags };
      s.columns.forEach((c, i) => (row[c] = v[i]));
      const { time, event_uid: uid } = row;
      if (typeof time !== 'number' || typeof uid !== 'string' || !/^[0-9a-f]{12}$/.test(uid)) continue;
      const evidence: Record<string, string | number> = {};
      for (const [k, x] of Object.entries(row)) {
        if (EVENT_COLUMNS.has(k) || (typeof x !== 'string' && typeof x !== 'number')) continue;
        evidence[k.startsWith('evidence_') && EVENT_FIELDS.has(k.slice(9)) ? k.slice(9) : k] = x;
      }
      const str = (k: string) => (typeof row[k] === 'string' ? (row[k] as string) : '');
      // Its second (the stored point's offset in it is drawn from its digest, not its milliseconds).
      const second = time - (((time % 1000) + 1000) % 1000);
      const e = {
        time: second,
        detector: str('detector'),
        type: str('type'),
        severity: str('severity'),
        message: str('message'),
        evidence,
        count: typeof row.count === 'number' ? row.count : 1,
        ...(str('mitre') ? { mitre: str('mitre') } : {}),
      } as SecurityEvent;
      out.push({ e, id: storedEventId(second, uid) });
    }
  }
  return out;
}

/** The points of a query's answer (`SELECT field ... GROUP BY *`, epoch ms). */
export function answerPoints(answer: unknown, field: string): Point[] {
  const out: Point[] = [];
  for (const r of (answer as InfluxAnswer).results ?? []) {
    if (r.error) throw new Error(r.error);
    for (const s of r.series ?? []) {
      const t = s.columns.indexOf('time');
      const f = s.columns.indexOf(field);
      if (t < 0 || f < 0) continue;
      for (const v of s.values) {
        const time = v[t];
        const value = v[f];
        if (typeof time !== 'number' || typeof value !== 'number') continue;
        out.push({ name: s.name, time, tags: { ...s.tags }, fields: { [field]: value } });
      }
    }
  }
  return out;
}

interface HostEntry {
  id: Identity;
  /** The agent whose session here fences the host's writes; undefined: the collector's own host. */
  agentId: string | undefined;
  /** The collector's own host: only its own episodes (collectors sharing a machine share its name). */
  mine?: (a: Pick<Alert, 'labels' | 'rule'>) => boolean;
  loaded: boolean;
  /** Its recent history read back from InfluxDB (or that given up): its event episodes may resolve as quiet. */
  seeded: boolean;
  waiting: Point[];
  waitingEvents: SecurityEvent[];
}

const OWNED = 'EXISTS (SELECT 1 FROM canh_agent_sessions WHERE agent_id = $A AND collector = $C)';

/**
 * A pending episode is written when a second sample confirms it (the host's next batch
 * that still crosses: one agent interval after it began), when it fires, or once it has
 * lasted this long without either. A value that crosses its threshold for one sample and
 * clears on the next (a gauge wavering around it) thus costs no write at all, and what an
 * agent moving loses of a `for` under way is bounded by one agent interval (10 s by
 * default) plus the write's round trip, instead of this whole time.
 */
export const PENDING_WRITE_AFTER_MS = 30_000;
/** Value and bookkeeping changes of an episode (not transitions) are written at most this often. */
export const REFRESH_WRITE_MS = 60_000;

/** Episodes of the hosts connected here, written only while this collector holds their session. */
class HostEpisodes implements AlertEpisodes {
  readonly stats = { pendingNeverWritten: 0, pendingConfirmed: 0, refreshesDeferred: 0 };
  private readonly state: PgState;
  private readonly owner: (a: Pick<Alert, 'labels' | 'rule'>) => HostEntry | undefined;
  private readonly clock: () => number;
  /** Pending episodes not yet inserted (the tracker's own objects: their state is current). */
  private readonly unwritten = new Map<number, { a: Alert; since: number }>();
  /** What was last written of each episode held, and when. */
  private readonly written = new Map<number, { state: Alert['state']; at: number; events: number }>();
  /** Episodes whose last changes are not written yet (not transitions). */
  private readonly owed = new Map<number, Alert>();

  constructor(state: PgState, owner: (a: Pick<Alert, 'labels' | 'rule'>) => HostEntry | undefined, clock: () => number) {
    this.state = state;
    this.owner = owner;
    this.clock = clock;
  }

  openAlerts(): Alert[] {
    return [];
  }

  /** The statement with the ownership check of the host's agent appended (none for the collector's own host). */
  private write(of: Pick<Alert, 'labels' | 'rule' | 'fingerprint'> | undefined, sql: string, params: unknown[], fence: 'where' | 'and'): void {
    const h = of === undefined ? undefined : this.owner(of);
    if (!h) return;
    let text = sql;
    const all = [...params];
    if (h.agentId === undefined && fence === 'where') {
      // Collectors on one machine watching one data folder judge the same disk: the first
      // episode written is the one (the others' writes then touch no row).
      text += ` WHERE NOT EXISTS (SELECT 1 FROM alerts o WHERE o.fingerprint = $${all.push(of!.fingerprint)} AND o.state IN ('pending', 'firing'))`;
    } else if (h.agentId !== undefined) {
      const a = all.push(h.agentId);
      const c = all.push(this.state.collectorId);
      text += ` ${fence === 'where' ? 'WHERE' : 'AND'} ${OWNED.replace('$A', `$${a}`).replace('$C', `$${c}`)}`;
    }
    // The collector's own host (influxdb_disk rules): each collector judges its own disk, and
    // nobody else writes those episodes (their labels carry its data folder).
    const op: WriteOp = { statements: [{ sql: text, params: all }], fenced: false, topics: [] };
    this.state.enqueue(op);
  }

  insertAlert(a: Omit<Alert, 'id'>): Alert {
    const alert: Alert = { ...a, id: this.state.nextId() };
    if (alert.state === 'pending') this.unwritten.set(alert.id, { a: alert, since: this.clock() });
    else this.insertNow(alert);
    return alert;
  }

  private insertNow(a: Alert): void {
    this.unwritten.delete(a.id);
    this.owed.delete(a.id);
    this.written.set(a.id, { state: a.state, at: this.clock(), events: a.events?.total ?? 0 });
    this.write(
      a,
      `INSERT INTO alerts (id, fingerprint, rule, labels, severity, state, value, summary, active_at, fired_at, resolved_at, last_sample_at, clear_since, details, events)
       SELECT $1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text, $7::double precision, $8::text, $9::bigint, $10::bigint, $11::bigint,
              $12::bigint, $13::bigint, $14::text, $15::text`,
      [a.id, a.fingerprint, a.rule, JSON.stringify(a.labels), ...alertStateValues(a)],
      'where',
    );
  }

  updateAlert(a: Alert): void {
    if (this.unwritten.has(a.id)) {
      // A second sample (or firing): the episode is more than a one-sample blip.
      if (a.state === 'pending') this.stats.pendingConfirmed++;
      this.insertNow(a);
      return;
    }
    const w = this.written.get(a.id);
    // A new distinct event is written at once: the leader mails it from the row.
    if (w && w.state === a.state && w.events === (a.events?.total ?? 0) && this.clock() - w.at < REFRESH_WRITE_MS) {
      this.stats.refreshesDeferred++;
      this.owed.set(a.id, a);
      return;
    }
    this.updateNow(a);
  }

  private updateNow(a: Alert): void {
    this.owed.delete(a.id);
    this.written.set(a.id, { state: a.state, at: this.clock(), events: a.events?.total ?? 0 });
    this.write(
      a,
      `UPDATE alerts SET severity = $1, state = $2, value = $3, summary = $4, active_at = $5, fired_at = $6, resolved_at = $7,
       last_sample_at = $8, clear_since = $9, details = $10, events = $11 WHERE id = $12`,
      [...alertStateValues(a), a.id],
      'and',
    );
  }

  /** Only pending episodes are deleted here (cleared before `for`); the leader forgets resolved ones. */
  deleteAlert(id: number, of?: Pick<Alert, 'labels' | 'rule' | 'fingerprint'>): void {
    this.owed.delete(id);
    this.written.delete(id);
    if (this.unwritten.delete(id)) {
      this.stats.pendingNeverWritten++;
      return;
    }
    this.write(of, 'DELETE FROM alerts WHERE id = $1', [id], 'and');
  }

  /** Episodes loaded from PostgreSQL: written as they are. */
  loaded(list: readonly Alert[]): void {
    const now = this.clock();
    for (const a of list) this.written.set(a.id, { state: a.state, at: now, events: a.events?.total ?? 0 });
  }

  /** Pendings that lasted, and changes owed for long enough; `all`: everything held now (an agent leaving). */
  flush(all?: (a: Alert) => boolean): void {
    const now = this.clock();
    for (const { a, since } of [...this.unwritten.values()]) if ((all && all(a)) || now - since >= PENDING_WRITE_AFTER_MS) this.insertNow(a);
    for (const a of [...this.owed.values()]) if ((all && all(a)) || now - (this.written.get(a.id)?.at ?? 0) >= REFRESH_WRITE_MS) this.updateNow(a);
  }

  /** Episodes no longer held here. */
  drop(ids: Iterable<number>): void {
    for (const id of ids) {
      this.unwritten.delete(id);
      this.written.delete(id);
      this.owed.delete(id);
    }
  }
}

export class HostRules {
  readonly stats = {
    hosts: 0,
    loads: 0,
    loadFailures: 0,
    waitingDropped: 0,
    transitions: 0,
    news: 0,
    seeded: 0,
    seededSamples: 0,
    seededEvents: 0,
    seededFlaps: 0,
    seedFailures: 0,
    /** Hosts forgotten at once because their agent was revoked (forgetHost). */
    forgotten: 0,
  };
  /** Each live event's stored point (storedEventId), while it waits or is judged: a resent or read-back one counts once. */
  private readonly storedIds = new WeakMap<SecurityEvent, string>();

  /** Writes saved: pendings that cleared after one sample; pendings written on their second sample; refreshes deferred to REFRESH_WRITE_MS. */
  get writes(): HostEpisodes['stats'] {
    return this.episodes.stats;
  }
  private readonly state: PgState;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly onTransition: (a: Alert, host: Identity) => void;
  private readonly hosts = new Map<string, HostEntry>();
  private readonly byAgent = new Map<string, string>();
  /** Labels and rule of each episode held (for the delete of a pending one). */
  private readonly hostOf = new Map<number, Pick<Alert, 'labels' | 'rule' | 'fingerprint'>>();
  /** The collector's own host (self()): apart from the agents', which may bear the same name. */
  private me: HostEntry | undefined;
  private readonly tracker: AlertTracker;
  private readonly episodes: HostEpisodes;
  private rules: ThresholdRule[] = [];
  private eventRules: EventRule[] = [];
  private threshold: ThresholdEvaluator;
  private events: EventEvaluator;
  private silence: HostSilence;
  /** Firing episodes that gained a new distinct event: the leader hears of each once it is written. */
  private readonly news = new Set<Alert>();
  private cfg: AlertingConfig;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** InfluxDB reads (the collector's first answering target); without it windows fill live only. */
  private readonly query: ((q: string) => Promise<unknown>) | undefined;
  private readonly rp: string | undefined;
  private readonly seedQueue: HostEntry[] = [];
  private seeding = 0;

  constructor(
    cfg: AlertingConfig,
    deps: {
      state: PgState;
      log: Logger;
      /** An episode here started firing or resolved: tell the leader (AlertInputs.alert). */
      onTransition: (a: Alert, host: Identity) => void;
      writeLines?: (lines: string[]) => Promise<void>;
      /** InfluxQL on the collector's database: windowed rules' samples of a host that moved here. */
      query?: (q: string) => Promise<unknown>;
      /** influx.retention_policy: where the points are read from. */
      retentionPolicy?: string;
      clock?: () => number;
    },
  ) {
    this.state = deps.state;
    this.query = deps.query;
    this.rp = deps.retentionPolicy;
    this.log = deps.log;
    this.clock = deps.clock ?? Date.now;
    this.onTransition = deps.onTransition;
    this.cfg = cfg;
    const episodes = (this.episodes = new HostEpisodes(deps.state, (a) => this.entryOf(a), this.clock));
    // The tracker deletes a pending episode by id: the host comes from the episode it holds.
    const store: AlertEpisodes = {
      openAlerts: () => [],
      insertAlert: (a) => {
        const x = episodes.insertAlert(a);
        this.hostOf.set(x.id, x);
        return x;
      },
      updateAlert: (a) => episodes.updateAlert(a),
      deleteAlert: (id) => {
        episodes.deleteAlert(id, this.hostOf.get(id));
        this.hostOf.delete(id);
      },
    };
    this.tracker = new AlertTracker(store, { flap: cfg.flap, log: deps.log.child({ part: 'state' }), writeLines: deps.writeLines });
    this.tracker.onTransition = (a) => this.transition(a);
    this.tracker.onEventNews = (a) => this.news.add(a);
    [this.threshold, this.events, this.silence] = this.evaluators(cfg);
  }

  private ruleNames(): string[] {
    return [...this.rules.map((r) => r.name), ...this.eventRules.map((r) => r.name), ...this.silence.names];
  }

  /** A series of a host's absence rule seen for the first time: recorded for whichever collector judges the host next. */
  private recordSeries(host: string, key: string, labels: Record<string, string>, at: number): void {
    const h = this.hosts.get(host);
    if (!h || h.agentId === undefined) return;
    this.state.enqueue({
      statements: [
        {
          sql: `INSERT INTO alert_series (key, labels, last_seen) SELECT $1::text, $2::text, $3::bigint WHERE ${OWNED.replace('$A', '$4').replace('$C', '$5')}
                ON CONFLICT (key) DO NOTHING`,
          params: [key, JSON.stringify(labels), at, h.agentId, this.state.collectorId],
        },
      ],
      fenced: false,
      topics: [],
    });
  }

  private evaluators(cfg: AlertingConfig, keep?: (rule: string) => boolean): [ThresholdEvaluator, EventEvaluator, HostSilence] {
    const rules = effectiveRules(cfg).filter(isHostRule);
    this.rules = rules.filter((r): r is ThresholdRule => r.type === 'threshold');
    this.eventRules = rules.filter((r): r is EventRule => r.type === 'event');
    const silence = new HostSilence(
      rules.filter((r): r is AbsenceRule => r.type === 'absence'),
      this.tracker,
      (host, key, labels, at) => this.recordSeries(host, key, labels, at),
    );
    if (keep && this.silence) silence.adopt(this.silence);
    return [
      new ThresholdEvaluator(this.rules, this.tracker, { maxSampleAge: cfg.max_sample_age, isOnline: (h) => this.hosts.has(h) || this.me?.id.host === h }),
      // A reload keeps the counting windows (min_count) of the rules it keeps.
      new EventEvaluator(this.eventRules, this.tracker, { maxSampleAge: cfg.max_sample_age }, keep && this.events ? { from: this.events, keep } : undefined),
      silence,
    ];
  }

  /** Whose episode this is: the collector's own (its disk) or the host's agent's. */
  private entryOf(a: Pick<Alert, 'labels' | 'rule'>): HostEntry | undefined {
    if (a.labels.host === undefined) return undefined;
    if (this.isMine(a)) return this.me;
    return this.hosts.get(a.labels.host);
  }

  private isMine(a: Pick<Alert, 'labels' | 'rule'>): boolean {
    return !!this.me && this.me.id.host === a.labels.host && this.me.mine!(a);
  }

  private current(h: HostEntry): boolean {
    return h === this.me || this.hosts.get(h.id.host) === h;
  }

  private transition(a: Alert): void {
    const host = this.entryOf(a);
    this.stats.transitions++;
    if (host) this.onTransition(a, host.id);
    // Resolved: the leader mails the resolution and forgets the episode; nothing left to judge here.
    if (a.state === 'resolved') this.forget((x) => x === a);
  }

  /** New events of firing episodes, written by now (tracker.flush): the leader reads the rows and mails them. */
  private tellNews(): void {
    for (const a of this.news) {
      const h = this.tracker.alerts.get(a.id) === a && a.state === 'firing' ? this.entryOf(a) : undefined;
      if (!h) continue;
      this.stats.news++;
      this.onTransition(a, h.id);
    }
    this.news.clear();
  }

  private forget(which: (a: Alert) => boolean): void {
    const ids: number[] = [];
    for (const a of this.tracker.alerts.values()) if (which(a)) ids.push(a.id);
    for (const id of ids) this.hostOf.delete(id);
    this.episodes.drop(ids);
    this.tracker.release(which);
  }

  /** Number of episodes held here (pending and firing), for /healthz. */
  get open(): number {
    return this.tracker.alerts.size;
  }

  /** Whether a rule here judges this measurement (a collector then keeps such points from the leader). */
  watches(measurement: string): boolean {
    return this.threshold.watches(measurement) || this.silence.watches(measurement);
  }

  /**
   * The collector's own host (its InfluxDB data disk, `influxdb_disk` rules), judged here on
   * every collector, each about itself: its episodes are told apart by `path` (collectors
   * sharing a machine share its host name), loaded once, then judged like an agent's.
   */
  self(id: Identity, path: string): void {
    if (this.stopped || (this.me && this.me.id.host === id.host)) return;
    // The collector's measurement only: an agent of the same name may have a disk rule by path too.
    const mine = (a: Pick<Alert, 'labels' | 'rule'>): boolean =>
      a.labels.path === path && this.rules.some((r) => r.name === a.rule && r.measurement === SELF_MEASUREMENT);
    const h: HostEntry = { id, agentId: undefined, loaded: false, seeded: true, waiting: [], waitingEvents: [], mine };
    this.me = h;
    void this.load(h);
  }

  /** The host's agent said hello here; its points wait until owned() has loaded its episodes. */
  online(id: Identity, agentId: string | undefined): void {
    if (this.stopped) return;
    const had = this.hosts.get(id.host);
    if (had && had.agentId === agentId) return;
    if (had) this.offline(id.host);
    this.hosts.set(id.host, { id, agentId, loaded: false, seeded: false, waiting: [], waitingEvents: [] });
    if (agentId !== undefined) this.byAgent.set(agentId, id.host);
    this.stats.hosts = this.hosts.size;
  }

  /** The agent's session here is recorded in PostgreSQL (writes now pass the fence): load and judge. */
  owned(host: string): void {
    const h = this.hosts.get(host);
    if (!h || h.loaded || this.stopped) return;
    void this.load(h);
  }

  private async load(h: HostEntry): Promise<void> {
    for (;;) {
      if (this.stopped || !this.current(h)) return;
      try {
        const r = await this.state.pool.query<AlertRow>(`SELECT * FROM alerts WHERE state IN ('pending', 'firing') AND (labels::jsonb ->> 'host') = $1`, [
          h.id.host,
        ]);
        // The series its absence rules expect (the collector's own host has none).
        const series =
          h.agentId !== undefined && this.silence.names.length
            ? (
                await this.state.pool.query<{ key: string; labels: string }>(`SELECT key, labels FROM alert_series WHERE (labels::jsonb ->> 'host') = $1`, [
                  h.id.host,
                ])
              ).rows
            : [];
        if (this.stopped || !this.current(h)) return;
        this.silence.load(
          h.id.host,
          series.map((x) => ({ key: x.key, labels: JSON.parse(x.labels) as Record<string, string> })),
          this.clock(),
        );
        const names = new Set(this.ruleNames());
        const list = r.rows.map(toAlert).filter((a) => names.has(a.rule) && (!h.mine || h.mine(a)));
        for (const a of list) this.hostOf.set(a.id, a);
        this.episodes.loaded(list);
        this.tracker.adopt(list);
        h.loaded = true;
        this.stats.loads++;
        const waiting = h.waiting.splice(0);
        const events = h.waitingEvents.splice(0);
        if (waiting.length || events.length) this.judge(h.id, waiting, events);
        if (h.agentId !== undefined && this.query) {
          this.seedQueue.push(h);
          this.seedNext();
        } else h.seeded = true;
        return;
      } catch (err) {
        this.stats.loadFailures++;
        this.log.debug({ err: (err as Error).message, host: h.id.host }, 'could not load a host’s open alerts (PostgreSQL away?); retrying');
        await new Promise((res) => setTimeout(res, LOAD_RETRY_MS).unref());
      }
    }
  }

  /**
   * Windowed rules (avg over `window`...) of a host that arrived: their windows are filled
   * from InfluxDB (what the agent sent to its previous collector, or before a restart), so
   * they judge at once instead of after a whole window of live samples. In the background,
   * a few queries at a time: the host is judged meanwhile, its windows just fill later.
   */
  private seedNext(): void {
    while (this.seeding < SEED_CONCURRENCY && this.seedQueue.length) {
      const h = this.seedQueue.shift()!;
      if (this.stopped || !this.current(h)) continue;
      this.seeding++;
      void this.seed(h).finally(() => {
        this.seeding--;
        this.seedNext();
      });
    }
  }

  private async seed(h: HostEntry): Promise<void> {
    try {
      await this.seedWindows(h);
      await this.seedHistory(h);
    } finally {
      h.seeded = true;
      this.stats.seeded++;
    }
  }

  private seedFailed(h: HostEntry, rule: string, err: unknown): void {
    this.stats.seedFailures++;
    this.log.warn(
      { err: (err as Error).message, host: h.id.host, rule, code: 'CANH_ERR_ALERT_WINDOW_SEED' },
      'could not read a host’s recent samples, events or alert history from InfluxDB; its windows and flap history start from live data',
    );
  }

  private from(measurement: string): string {
    return `${this.rp ? `"${this.rp}".` : ''}"${measurement}"`;
  }

  /**
   * A host's alert history and recent events, as the collector its agent was on stored
   * them: its flap history goes on (transitions within flap.window), its event rules'
   * min_count windows fill with what came after each label set's last transition, and its
   * open event episodes' last-seen times come up to date (their rows' may lag a minute).
   */
  private async seedHistory(h: HostEntry): Promise<void> {
    const now = this.clock();
    const counting = this.eventRules.filter((r) => r.min_count > 1 && !r.distinct_hosts);
    const host = influxString(h.id.host);
    const span = Math.max(this.cfg.flap.window, ...counting.map((r) => r.within));
    const qs = [`SELECT "state" FROM ${this.from('alert')} WHERE "host" = ${host} AND time > now() - ${Math.ceil(span)}ms GROUP BY *`];
    // Open event episodes of the host: their events since their row's last-seen time.
    const open = [...this.tracker.alerts.values()].filter((a) => a.labels.host === h.id.host && a.events && a.state !== 'resolved');
    const evSpan = Math.max(...counting.map((r) => r.within), ...open.map((a) => now - a.lastSampleAt + LAST_SEEN_MARGIN_MS), 0);
    const types = [...new Set(this.eventRules.filter((r) => !r.distinct_hosts).flatMap((r) => r.event_types))];
    if (evSpan > 0 && types.length)
      qs.push(
        `SELECT * FROM ${this.from('security_event')} WHERE "host" = ${host} AND (${types.map((t) => `"type" = ${influxString(t)}`).join(' OR ')}) AND time > now() - ${Math.ceil(evSpan)}ms ORDER BY time DESC LIMIT ${MAX_SEEDED_EVENTS}`,
      );
    try {
      const answer = (await this.query!(qs.join('; '))) as InfluxAnswer;
      if (this.stopped || !this.current(h)) return;
      const { flaps, last } = alertHistory(answer.results?.[0]);
      for (const [fp, times] of flaps) this.tracker.seedFlaps(fp, times, h.id.host);
      this.stats.seededFlaps += flaps.size;
      if (qs.length > 1) {
        const events = storedEvents(answer.results?.[1]).reverse();
        this.stats.seededEvents += this.events.seed(h.id, events, (fp) => last.get(fp) ?? -Infinity, this.clock());
      }
    } catch (err) {
      this.seedFailed(h, 'alert history', err);
    }
  }

  private async seedWindows(h: HostEntry): Promise<void> {
    for (const { rule, windowMs } of this.threshold.windowed()) {
      const q = `SELECT "${rule.field}" FROM ${this.rp ? `"${this.rp}".` : ''}"${rule.measurement}" WHERE "host" = ${influxString(h.id.host)} AND time > now() - ${Math.ceil(windowMs)}ms GROUP BY *`;
      try {
        const points = answerPoints(await this.query!(q), rule.field);
        if (this.stopped || !this.current(h)) return;
        // The evaluator of now (a reload may have replaced it): only a rule it still has.
        const r = this.threshold.windowed().find((x) => x.rule.name === rule.name)?.rule;
        if (r) this.stats.seededSamples += this.threshold.seed(r, h.id, points, this.clock());
      } catch (err) {
        this.seedFailed(h, rule.name, err);
      }
    }
  }

  /** The agent left here, or a newer session of it elsewhere replaced this one: forget its episodes, write nothing. */
  offline(host: string): void {
    const h = this.hosts.get(host);
    if (!h) return;
    // What is held of the host is written first (a `for` under way goes on where the agent
    // goes next); after a newer session elsewhere these writes no longer pass the fence.
    const ofHost = (a: Alert): boolean => a.labels.host === host && !this.isMine(a);
    if (h.loaded) {
      this.tracker.flush();
      this.episodes.flush(ofHost);
    }
    this.hosts.delete(host);
    if (h.agentId !== undefined && this.byAgent.get(h.agentId) === host) this.byAgent.delete(h.agentId);
    this.forget(ofHost);
    this.silence.forget(host);
    this.stats.hosts = this.hosts.size;
  }

  /**
   * The host's agent was revoked: as offline(), and nothing of the host stays in memory
   * (flap history, windows, min_count counts). A host that only moved keeps these until
   * they age out (flap history flap.window after its last transition, windows 2 h after
   * their last sample, counts 24 h after their last event), or until it comes back here.
   */
  forgetHost(host: string): void {
    this.stats.forgotten++;
    this.offline(host);
    const gone = new Set([host]);
    this.tracker.forgetHosts(gone);
    this.threshold.forgetHosts(gone);
    this.events.forgetHosts(gone);
  }

  /** What is held in memory of a host (entries of each part; tests read it). */
  memoryOf(host: string): { windows: number; events: number; flaps: number; episodes: number } {
    let episodes = 0;
    for (const a of this.tracker.alerts.values()) if (a.labels.host === host && !this.isMine(a)) episodes++;
    return { windows: this.threshold.windowsOf(host), events: this.events.heldOf(host), flaps: this.tracker.flapsOf(host), episodes };
  }

  /** As offline(), by agent id (AgentSessions' replacement). */
  offlineAgent(agentId: string): void {
    const host = this.byAgent.get(agentId);
    if (host !== undefined) this.offline(host);
  }

  onBatch(id: Identity, batch: Pick<Batch, 'points'> & Partial<Pick<Batch, 'series' | 'rows' | 'events'>>): void {
    if (this.stopped) return;
    const h = this.me?.id === id ? this.me : this.hosts.get(id.host);
    if (!h) return;
    const points = batch.points.length || batch.rows?.length ? pointsOf(batch, (m) => this.watches(m)) : [];
    const events = batch.events?.filter((e) => this.events.watchesType(e.type)) ?? [];
    if (!points.length && !events.length) return;
    // Identical events of one batch are numbered as the receiver stores them (event-times.ts).
    if (events.length && this.events.counting) batchUids(id.host, events).forEach((u, i) => this.storedIds.set(events[i]!, storedEventId(events[i]!.time, u)));
    if (h.loaded) return this.judge(id, points, events);
    h.waiting.push(...points);
    h.waitingEvents.push(...events);
    const over = h.waiting.length - MAX_WAITING_POINTS;
    if (over > 0) {
      h.waiting.splice(0, over);
      this.stats.waitingDropped += over;
    }
    const overEvents = h.waitingEvents.length - MAX_WAITING_POINTS;
    if (overEvents > 0) {
      h.waitingEvents.splice(0, overEvents);
      this.stats.waitingDropped += overEvents;
    }
  }

  private judge(id: Identity, points: Point[], events: SecurityEvent[] = []): void {
    try {
      const now = this.clock();
      if (points.length) {
        this.threshold.onPoints(id, points, now);
        this.silence.onPoints(id, points, now);
      }
      if (events.length)
        this.events.onEvents(
          id,
          events,
          now,
          events.map((e) => this.storedIds.get(e)),
        );
    } catch (err) {
      this.log.error({ err, host: id.host }, 'host rule evaluation failed for a batch');
    }
  }

  /** Timers (`for`, holds, no data), then value changes written. */
  tick(): void {
    if (this.stopped) return;
    try {
      const now = this.clock();
      this.threshold.tick(now);
      // A host whose recent events are still being read back: its event episodes wait to resolve.
      this.events.tick(now, (host) => host === undefined || this.hosts.get(host)?.seeded !== false);
      this.silence.tick(now, (host) => !!this.hosts.get(host)?.loaded);
      this.tracker.sweepFlaps(now);
      this.tracker.flush();
      this.episodes.flush();
      this.tellNews();
    } catch (err) {
      this.log.error({ err }, 'host rule round failed');
    }
  }

  /** A new `alerting:` section: the host rules are built again; episodes held carry over
   *  (those whose rule is no longer a host rule are let go: the leader resolves them). */
  reload(cfg: AlertingConfig): void {
    this.cfg = cfg;
    this.tracker.setFlap(cfg.flap);
    const before = new Set(this.ruleNames());
    [this.threshold, this.events, this.silence] = this.evaluators(cfg, (n) => before.has(n));
    const names = new Set(this.ruleNames());
    this.forget((a) => !names.has(a.rule));
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = setInterval(() => this.tick(), cfg.evaluation_interval);
      this.timer.unref();
    }
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.tick(), this.cfg.evaluation_interval);
    this.timer.unref();
  }

  /** Stop judging; what is held is written. Safe to call twice. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopped = true;
    // The agents will go on elsewhere: everything held is written.
    this.tracker.flush();
    this.episodes.flush(() => true);
  }
}

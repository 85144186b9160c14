// The alert engine: evaluates rules on the stream the receiver hands it (batches and
// agent connection changes, through CollectorHooks), so alerting never waits on an
// InfluxDB query; turns state changes into grouped notifications; queues and sends
// mail. Time comes from an injectable clock, and tick() does one round of timers, so
// tests drive it minute by minute without sleeping. All state lives in the store.
// reload() applies a new `alerting:` section in place (SIGHUP, POST /api/v1/reload).
import type { Logger } from 'pino';
import { pointsOf, type Batch, type Point } from '@canh/protocol';
import type { Identity } from '../identity.ts';
import type { AlertingConfig, AlertingSecrets } from './config.ts';
import { effectiveRules, isHostRule, type AbsenceRule, type EventRule, type Rule, type ThresholdRule } from './rules.ts';
import { SqliteAlertStore, type AlertStore } from './store.ts';
import { AlertTracker } from './tracker.ts';
import { ThresholdEvaluator } from './evaluate/threshold.ts';
import { AbsenceEvaluator } from './evaluate/absence.ts';
import { EventEvaluator } from './evaluate/event.ts';
import { Dispatcher } from '../notify/dispatcher.ts';
import { MailRenderer } from '../notify/templates/index.ts';
import { folderSmtp, folderTransport, Mailer, type MailTransport } from '../notify/mailer.ts';
import { formatMatcher } from './matchers.ts';
import { LateData } from './late.ts';
import { ackLine, acknowledge, type Ack, type AckLog } from './ack.ts';
import type { Alert } from './types.ts';

/** A wall-clock jump larger than this between rounds is a step (NTP slews smaller ones). */
const CLOCK_STEP_MS = 30_000;

export interface AlertEngineDeps {
  log: Logger;
  /** The collector's SQLite file (collector.db), or a store of its own. */
  dbFile?: string;
  store?: AlertStore;
  clock?: () => number;
  /** A monotonic clock (ms). With it, a step of the wall clock over 30 s is detected at each
   *  round and the remembered times move with it (see AbsenceEvaluator.shiftTime). */
  mono?: () => number;
  secrets?: AlertingSecrets;
  /** Line protocol out (the collector's InfluxWriter.write): the `alert` measurement. */
  writeLines?: (lines: string[]) => Promise<void>;
  transport?: MailTransport;
  /** True for an agent that was revoked or removed: its alerts resolve and it is no longer expected. */
  isRevoked?: (host: string) => boolean;
  /** The hosts of the registry's revoked agents: what the revocation pass cleans up, whether
   *  or not this engine ever heard of them (see revocationPass). */
  revokedHosts?: () => Iterable<string>;
  /** The revocation pass cleaned these hosts up (the registry forgets removed agents' names). */
  hostsCleaned?: (hosts: readonly string[]) => void;
  /** Several collectors (state/host-rules.ts): host rules (isHostRule) run where each host's
   *  agent is connected; this engine takes their episodes' transitions (applyAlert) and
   *  mails them, and keeps agents' liveness as stored when it starts. */
  hostRulesElsewhere?: boolean;
}

const REVOCATION_CHECK_MS = 60_000;
/** Revoked hosts cleaned up per pass (one statement per table for all of them); the rest wait for the next pass. */
export const MAX_FORGET_PER_PASS = 100;
/** The collector's own point about its InfluxDB disk (collector.ts watchInfluxDisk). */
const OWN_DISK_MEASUREMENT = 'influxdb_disk';

/** What a reload changed, for the log and the caller. */
export interface AlertReloadSummary {
  rules: number;
  threshold: number;
  absence: number;
  event: number;
  added: string[];
  removed: string[];
  changed: string[];
  /** Open alerts resolved because their rule went away (rule_removed) or now labels differently (rule_changed). */
  resolved: number;
  recipients: number;
  smtpChanged: boolean;
}

// A rule that changed only in these keeps its open alerts and bookkeeping: the next sample
// or timer judges them by the new values. Any other change (measurement, field, group_by,
// where, event_types, correlation...) makes other label sets, so old alerts could never
// resolve: they are resolved with resolved_by rule_changed.
const RETUNABLE = new Set([
  'title',
  'summary',
  'dashboard',
  'unit',
  'severity',
  'send_resolved',
  'op',
  'value',
  'and',
  'for',
  'keep_firing_for',
  'min_severity',
  'min_count',
  'within',
  'resolve_after',
]);

function sameSeries(a: Rule, b: Rule): boolean {
  const strip = (r: Rule) =>
    JSON.stringify(
      Object.entries(r)
        .filter(([k]) => !RETUNABLE.has(k))
        .sort(([x], [y]) => (x < y ? -1 : 1)),
    );
  return strip(a) === strip(b);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class AlertEngine {
  readonly store: AlertStore;
  readonly tracker: AlertTracker;
  // Swapped as a whole by reload(); read through the getters below.
  private current: {
    cfg: AlertingConfig;
    rules: ReadonlyMap<string, Rule>;
    dispatcher: Dispatcher;
    mailer: Mailer | undefined;
    secrets: AlertingSecrets | undefined;
  };
  private threshold: ThresholdEvaluator;
  private absence: AbsenceEvaluator;
  private events: EventEvaluator;
  /** The replaced mailer finishing its send in progress; the new one waits for it (a mail is sent once). */
  private handover: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly deps: AlertEngineDeps;
  private timer: NodeJS.Timeout | undefined;
  private kickPending = false;
  private lastRevocationCheck = 0;
  /** Revoked hosts as of the last pass (their inputs are ignored), and those this engine cleaned up. */
  private revoked = new Set<string>();
  private readonly cleaned = new Set<string>();
  private stopped = false;
  /** Data that arrived older than max_sample_age: counted, logged once per agent. */
  readonly late: LateData;
  /** Acknowledgements (ack.ts), kept by the store beside the alerts (SQLite or PostgreSQL). */
  readonly acks: AckLog;
  private recordingAcks = false;

  constructor(cfg: AlertingConfig, deps: AlertEngineDeps) {
    this.deps = deps;
    this.log = deps.log;
    this.clock = deps.clock ?? Date.now;
    if (!deps.store && !deps.dbFile) throw new Error('AlertEngine needs a store or a dbFile');
    this.store = deps.store ?? new SqliteAlertStore(deps.dbFile!, { messageDomain: mailDomain(cfg) });
    const rules = effectiveRules(cfg);
    const ruleMap = new Map(rules.map((r) => [r.name, r]));
    this.tracker = new AlertTracker(this.store, { flap: cfg.flap, log: this.log.child({ part: 'state' }), writeLines: deps.writeLines });
    this.late = new LateData(this.log.child({ part: 'late' }), () => this.cfg.max_sample_age);
    this.acks = this.store.acks;
    const now = this.clock();
    // Alerts of rules that are gone from the config would otherwise fire forever.
    for (const a of [...this.tracker.alerts.values()]) {
      if (a.state !== 'resolved' && !ruleMap.has(a.rule)) this.tracker.resolve(a, now, { resolved_by: 'rule_removed' });
    }
    // Pending episodes of host rules belong to the collectors evaluating them.
    if (deps.hostRulesElsewhere) this.tracker.release((a) => a.state === 'pending' && ruleMap.has(a.rule) && isHostRule(ruleMap.get(a.rule)!));
    this.absence = new AbsenceEvaluator(
      rules.filter((r): r is AbsenceRule => r.type === 'absence' && !(this.deps.hostRulesElsewhere && isHostRule(r))),
      this.tracker,
      this.store,
      now,
      undefined,
      { keepLiveness: deps.hostRulesElsewhere },
    );
    this.threshold = this.thresholdEvaluator(rules, cfg);
    this.events = this.eventEvaluator(rules, cfg);
    const dispatcher = this.buildDispatcher(cfg, ruleMap);
    const mailer = cfg.smtp || cfg.mail_folder ? this.buildMailer(cfg, deps.secrets) : undefined;
    if (!cfg.smtp && !cfg.mail_folder && cfg.recipients.length === 0) {
      this.log.info('alerting without recipients: alerts are evaluated and recorded in InfluxDB, no mail is sent');
    }
    this.current = { cfg, rules: ruleMap, dispatcher, mailer, secrets: deps.secrets };
    // Host rules' episodes are written by the collector judging them: told events are recorded apart.
    if (deps.hostRulesElsewhere)
      this.tracker.remote = (a) => {
        const r = this.rules.get(a.rule);
        return !!r && isHostRule(r);
      };
    // A new critical alert is mailed at once, not at the next tick.
    this.tracker.onTransition = (a) => {
      if (a.state === 'firing' && a.severity === 'critical') this.kick();
    };
    // So is a new critical event of an episode already open.
    this.tracker.onEventNews = (_a, e) => {
      if (e.severity === 'critical') this.kick();
    };
    this.log.info({ rules: rules.length, recipients: cfg.recipients.length, open: this.tracker.alerts.size }, 'alert engine ready');
  }

  get cfg(): AlertingConfig {
    return this.current.cfg;
  }

  get rules(): ReadonlyMap<string, Rule> {
    return this.current.rules;
  }

  get dispatcher(): Dispatcher {
    return this.current.dispatcher;
  }

  get mailer(): Mailer | undefined {
    return this.current.mailer;
  }

  private eventEvaluator(rules: Rule[], cfg: AlertingConfig, from?: ConstructorParameters<typeof EventEvaluator>[3]): EventEvaluator {
    const e = new EventEvaluator(
      rules.filter((r): r is EventRule => r.type === 'event' && !(this.deps.hostRulesElsewhere && isHostRule(r))),
      this.tracker,
      { maxSampleAge: cfg.max_sample_age },
      from,
    );
    e.onLate = (host, n) => this.late.event(host, n);
    return e;
  }

  private thresholdEvaluator(rules: Rule[], cfg: AlertingConfig): ThresholdEvaluator {
    return new ThresholdEvaluator(
      rules.filter((r): r is ThresholdRule => r.type === 'threshold' && !(this.deps.hostRulesElsewhere && isHostRule(r))),
      this.tracker,
      // Through `this`: after a reload the threshold rules ask the new absence evaluator.
      { maxSampleAge: cfg.max_sample_age, isOnline: (h) => this.absence.isOnline(h) },
    );
  }

  private buildDispatcher(cfg: AlertingConfig, rules: ReadonlyMap<string, Rule>): Dispatcher {
    // Templates are parsed here: a broken one throws before anything is swapped.
    const renderer = new MailRenderer({
      overrides: cfg.templates,
      rules,
      agencyNames: cfg.agencies,
      grafanaUrl: cfg.grafana_url,
      statusUrl: cfg.status_url,
      timeZone: cfg.timezone,
    });
    // Windows from `canh-collector maintenance add`, kept by the store (SQLite or PostgreSQL).
    const windows = this.store.maintenance;
    return new Dispatcher({
      cfg,
      store: this.store,
      tracker: this.tracker,
      rules,
      renderer,
      log: this.log.child({ part: 'dispatch' }),
      windows: windows ? () => windows.list() : undefined,
      // Through `this`: acknowledgements made after a reload count too.
      acked: (ids) => this.acks?.of(ids) ?? new Map(),
    });
  }

  private buildMailer(cfg: AlertingConfig, secrets: AlertingSecrets | undefined): Mailer {
    if (!cfg.smtp && cfg.mail_folder) {
      const smtp = folderSmtp();
      return new Mailer(this.store, smtp, {
        log: this.log.child({ part: 'mail' }),
        clock: this.clock,
        transport: this.deps.transport ?? folderTransport(cfg.mail_folder),
      });
    }
    return new Mailer(this.store, cfg.smtp!, {
      log: this.log.child({ part: 'mail' }),
      clock: this.clock,
      transport: this.deps.transport,
      password: secrets?.smtpPassword,
    });
  }

  /**
   * Apply a new `alerting:` section without a restart. Everything that can fail for a
   * config reason (rules, templates, the SMTP transport) is built first and the running
   * config stays if it throws; the swap itself is synchronous, so no batch the receiver
   * hands over meets a half-swapped engine. The store and the tracker carry over: open
   * episodes, pending `for`, flap history, notification groups, silences, the outbox,
   * and the absence bookkeeping (agents' liveness, last-seen times of kept rules).
   */
  reload(cfg: AlertingConfig, secrets: AlertingSecrets | undefined): AlertReloadSummary {
    if (this.stopped) throw new Error('the alert engine is stopped');
    const prev = this.current;
    const rules = effectiveRules(cfg);
    const ruleMap = new Map(rules.map((r) => [r.name, r]));
    // Resolutions of alerts whose rule is removed are still mailed, with that rule's title.
    const mailRules = new Map(ruleMap);
    for (const a of this.tracker.alerts.values()) {
      const gone = prev.rules.get(a.rule);
      if (gone && !ruleMap.has(a.rule)) mailRules.set(a.rule, gone);
    }
    const dispatcher = this.buildDispatcher(cfg, mailRules);
    const smtpChanged = !sameJson(cfg.smtp, prev.cfg.smtp) || cfg.mail_folder !== prev.cfg.mail_folder || secrets?.smtpPassword !== prev.secrets?.smtpPassword;
    const mailer = !cfg.smtp && !cfg.mail_folder ? undefined : smtpChanged || !prev.mailer ? this.buildMailer(cfg, secrets) : prev.mailer;

    // The swap: synchronous from here on.
    const now = this.clock();
    const added = rules.filter((r) => !prev.rules.has(r.name)).map((r) => r.name);
    const removed = [...prev.rules.keys()].filter((n) => !ruleMap.has(n));
    const changed = rules.filter((r) => prev.rules.has(r.name) && !sameJson(r, prev.rules.get(r.name))).map((r) => r.name);
    const relabelled = new Set(changed.filter((n) => !sameSeries(ruleMap.get(n)!, prev.rules.get(n)!)));
    let resolved = 0;
    for (const a of [...this.tracker.alerts.values()]) {
      if (a.state === 'resolved') continue;
      const why = !ruleMap.has(a.rule) ? 'rule_removed' : relabelled.has(a.rule) ? 'rule_changed' : undefined;
      if (!why) continue;
      if (a.state === 'firing') resolved++;
      this.tracker.resolve(a, now, { resolved_by: why });
    }
    this.tracker.setFlap(cfg.flap);
    const keep = (name: string) => prev.rules.has(name) && !relabelled.has(name);
    this.absence = new AbsenceEvaluator(
      rules.filter((r): r is AbsenceRule => r.type === 'absence' && !(this.deps.hostRulesElsewhere && isHostRule(r))),
      this.tracker,
      this.store,
      now,
      { from: this.absence, keep },
    );
    this.threshold = this.thresholdEvaluator(rules, cfg);
    this.events = this.eventEvaluator(rules, cfg, { from: this.events, keep });
    this.current = { cfg, rules: ruleMap, dispatcher, mailer, secrets };
    if (prev.mailer && prev.mailer !== mailer) {
      const done = prev.mailer.stop().catch((err: unknown) => this.log.warn({ err }, 'the replaced mailer did not stop cleanly'));
      const h: Promise<void> = (this.handover ? Promise.all([this.handover, done]) : done).then(() => {
        if (this.handover === h) this.handover = undefined;
      });
      this.handover = h;
    }
    if (this.timer && cfg.evaluation_interval !== prev.cfg.evaluation_interval) {
      clearInterval(this.timer);
      this.timer = setInterval(() => void this.tick(), cfg.evaluation_interval);
      this.timer.unref();
    }
    this.tracker.flush();
    const count = (t: Rule['type']) => rules.filter((r) => r.type === t).length;
    return {
      rules: rules.length,
      threshold: count('threshold'),
      absence: count('absence'),
      event: count('event'),
      added,
      removed,
      changed,
      resolved,
      recipients: cfg.recipients.length,
      smtpChanged,
    };
  }

  onBatch(id: Identity, batch: Pick<Batch, 'points' | 'events'> & Partial<Pick<Batch, 'series' | 'rows'>>): void {
    if (this.stopped || this.ignored(id.host)) return;
    const now = this.clock();
    try {
      if (batch.points.length || batch.rows?.length) {
        // Only measurements some rule looks at are turned into points.
        const points = pointsOf(batch, (m) => this.threshold.watches(m) || this.absence.watches(m));
        if (points.length) {
          const age = this.cfg.max_sample_age;
          this.late.samples(id.host, points.filter((p) => now - p.time > age && this.threshold.watches(p.name)).length);
          this.threshold.onPoints(id, points, now);
          this.absence.onPoints(id, points, now);
        }
      }
      if (batch.events.length) this.events.onEvents(id, batch.events, now);
    } catch (err) {
      // Alerting must never cost the receiver a batch.
      this.log.error({ err, host: id.host }, 'alert evaluation failed for a batch');
    }
  }

  /** Events another leader already evaluated: counting windows and sightings only (state/cluster.ts). */
  warmEvents(id: Identity, events: Batch['events'], now: number = this.clock()): void {
    try {
      this.events.warm(id, events, now);
    } catch (err) {
      this.log.error({ err, host: id.host }, 'could not replay events into the counting windows');
    }
  }

  /** Whether some rule looks at this measurement (what a collector forwards to the leader). */
  watches(measurement: string): boolean {
    return this.threshold.watches(measurement) || this.absence.watches(measurement);
  }

  /** Whether an event rule of this engine takes this type of event (what a collector forwards to the leader). */
  wantsEvent(type: string): boolean {
    return this.events.watchesType(type);
  }

  /** Whether a rule of this engine would judge this point (what a collector forwards to the leader). */
  wantsPoint(p: Point, id: Identity): boolean {
    return this.threshold.wants(p, id) || this.absence.wants(p, id);
  }

  /** An episode another collector evaluates changed (its row now, or undefined: gone). */
  applyAlert(id: number, a: Alert | undefined): void {
    if (this.stopped) return;
    this.tracker.applyRemote(id, a);
    // Written by another collector before the host was revoked: nobody judges it now.
    const held = this.tracker.alerts.get(id);
    if (held && held.state === 'firing' && this.ignored(held.labels.host ?? '')) this.tracker.resolve(held, this.clock(), { resolved_by: 'agent_revoked' });
  }

  /** The rules judging a collector's own InfluxDB disk (state/host-rules.ts self()). */
  ownDiskRules(): string[] {
    return [...this.rules.values()].filter((r) => r.type === 'threshold' && r.measurement === OWN_DISK_MEASUREMENT).map((r) => r.name);
  }

  /**
   * Own-disk episodes nobody judges any more: the collector whose disk they are about left
   * the cluster (state/cluster.ts). A firing one resolves (`resolved_by: collector_gone`:
   * the mail says it is no longer watched, not that the disk recovered); a pending one
   * goes (nobody was told of it). If that collector comes back, it judges its disk afresh.
   */
  collectorGone(list: readonly Alert[], at: number): void {
    if (this.stopped) return;
    for (const row of list) {
      if (row.state === 'pending') {
        this.tracker.release((x) => x.id === row.id);
        this.store.deleteAlert(row.id);
        continue;
      }
      if (!this.tracker.alerts.has(row.id)) this.tracker.adopt([row]);
      const a = this.tracker.alerts.get(row.id);
      if (a && a.state === 'firing') this.tracker.resolve(a, Math.max(at, a.firedAt ?? at), { resolved_by: 'collector_gone' });
    }
  }

  /** An agent whose newest session was on a collector that is gone: offline from `at`. */
  agentGone(id: Identity, at: number): void {
    if (this.stopped || this.ignored(id.host)) return;
    try {
      this.absence.agentGone(id, at);
    } catch (err) {
      this.log.error({ err, host: id.host }, 'alert evaluation failed for an agent gone with its collector');
    }
  }

  onAgentState(id: Identity, online: boolean, at: number): void {
    if (this.stopped || this.ignored(id.host)) return;
    try {
      this.absence.onAgentState(id, online, at);
    } catch (err) {
      this.log.error({ err, host: id.host }, 'alert evaluation failed for an agent state change');
    }
  }

  /** The engine's wall clock (injectable in tests). */
  now(): number {
    return this.clock();
  }

  /** The bearer token of the admin API, as of the last (re)load; undefined: the API is off. */
  get adminToken(): string | undefined {
    return this.current.secrets?.adminToken;
  }

  /** Firing alerts, newest first, for the status page. */
  statusAlerts(): {
    id: number;
    rule: string;
    severity: string;
    agency: string;
    host: string;
    since: number;
    summary: string;
    ack?: { by: string; at: number; comment: string };
  }[] {
    const firing = [...this.tracker.alerts.values()].filter((a) => a.state === 'firing').sort((x, y) => y.activeAt - x.activeAt);
    const acks = this.acks.of(firing.map((a) => a.id));
    return firing.map((a) => {
      const k = acks.get(a.id);
      return {
        id: a.id,
        rule: a.rule,
        severity: a.severity,
        agency: a.labels.agency ?? '',
        host: a.labels.host ?? '',
        since: a.activeAt,
        summary: a.summary,
        ...(k ? { ack: { by: k.by, at: k.at, comment: k.comment } } : {}),
      };
    });
  }

  /** Acknowledge a firing alert (API, status page); recorded in InfluxDB at the next round. */
  acknowledge(id: number, by: string, comment: string): Ack {
    const ack = acknowledge(this.acks, this.tracker.alerts.values(), id, by, comment, this.clock());
    this.log.info({ alert: id, rule: ack.rule, labels: ack.labels, by: ack.by }, 'alert acknowledged');
    this.kick();
    return ack;
  }

  /** Acks not yet in InfluxDB (from here or from `canh-collector alert ack`): written, then marked. */
  private recordAcks(now: number): void {
    if (!this.deps.writeLines || this.recordingAcks) return;
    const pending = this.acks.pending();
    if (!pending.length) return;
    const lines = pending.map(ackLine).filter((l): l is string => l !== undefined);
    this.recordingAcks = true;
    this.deps
      .writeLines(lines)
      .then(() => {
        this.acks.markRecorded(pending.map((a) => a.alertId));
        this.acks.prune(now - 90 * 86_400_000);
      })
      .catch((err: Error) => this.log.warn({ err: err.message }, 'could not record acknowledgements in InfluxDB; trying again next round'))
      .finally(() => (this.recordingAcks = false));
  }

  statusSilences(): { matchers: string; author: string; comment: string; until: number }[] {
    const now = this.clock();
    return this.store
      .silences()
      .filter((s) => s.endsAt > now)
      .map((s) => ({ matchers: s.matchers.map(formatMatcher).join(' '), author: s.createdBy, comment: s.comment, until: s.endsAt }));
  }

  /** Mail delivery health: queued and failed mail, the last SMTP error. */
  smtpHealth(): { up: boolean; queued: number; failed: number; sent: number; lastError?: string } | undefined {
    if (!this.mailer) return undefined;
    const queued = this.store.mails('queued');
    const failed = this.store.mails('failed').length;
    const stuck = queued.filter((m) => m.attempts > 0).length;
    return {
      up: stuck === 0,
      queued: queued.length,
      failed,
      sent: this.mailer.stats.sent,
      ...(stuck ? { lastError: this.mailer.stats.lastError ?? '?' } : {}),
    };
  }

  /** Timers (for, holds, silence of series, resolve_after), then due notifications. */
  evaluate(): number {
    const now = this.clock();
    this.followClockStep(now);
    this.threshold.tick(now);
    this.absence.tick(now);
    this.events.tick(now);
    if ((this.deps.isRevoked || this.deps.revokedHosts) && now - this.lastRevocationCheck >= REVOCATION_CHECK_MS) {
      this.lastRevocationCheck = now;
      this.revocationPass(now);
    }
    this.tracker.sweepFlaps(now);
    this.tracker.flush();
    const line = this.late.line(now);
    if (line && this.deps.writeLines)
      this.deps.writeLines([line]).catch((err: Error) => this.log.warn({ err: err.message }, 'could not record alert_engine counters in InfluxDB'));
    this.recordAcks(now);
    return this.dispatcher.flush(now);
  }

  /**
   * Revoked agents' hosts cleaned up: those the registry calls revoked (whether this engine
   * ever heard of them: revoked after a restart, or while connected to a collector that
   * died), those `agent remove` deleted before their clean-up (the registry keeps their names
   * until hostsCleaned), and hosts it knows that the registry no longer lists. Each is
   * cleaned once per engine (a new leader, or a restart, cleans each again: idempotent), at
   * most MAX_FORGET_PER_PASS per pass; a name given to a new agent is judged afresh.
   */
  private revocationPass(now: number): void {
    const revoked = new Set<string>();
    try {
      for (const h of this.deps.revokedHosts?.() ?? []) revoked.add(h);
      if (this.deps.isRevoked) for (const h of this.absence.hosts()) if (this.deps.isRevoked(h)) revoked.add(h);
    } catch (err) {
      this.log.warn({ err }, 'could not read the revoked agents; trying again next pass');
      return;
    }
    this.revoked = revoked;
    for (const h of this.cleaned) if (!revoked.has(h)) this.cleaned.delete(h);
    const todo = [...revoked].filter((h) => !this.cleaned.has(h)).slice(0, MAX_FORGET_PER_PASS);
    if (!todo.length) return;
    this.forgetHosts(new Set(todo), now);
    // Rows of any rule or collector, by host: also those nothing here held.
    this.store.forgetHosts(todo, this.ownDiskRules());
    for (const h of todo) this.cleaned.add(h);
    this.deps.hostsCleaned?.(todo);
    this.log.info({ hosts: todo.length, waiting: revoked.size - this.cleaned.size }, 'revoked agents: their alerts resolved and their rows removed');
  }

  /** An input of a revoked host (the registry says so still): ignored, or it would bring its rows back. */
  private ignored(host: string): boolean {
    return this.revoked.has(host) && (!this.deps.isRevoked || this.deps.isRevoked(host));
  }

  /** Revoked agents: nothing more expected of them, what they caused resolves (`agent_revoked`:
   *  every open alert labelled with their host but the collector's own disk), and nothing of
   *  them stays in memory (flap history, windows, counts, sightings, liveness). */
  private forgetHosts(hosts: ReadonlySet<string>, now: number): void {
    const own = new Set(this.ownDiskRules());
    for (const a of [...this.tracker.alerts.values()]) {
      if (a.state !== 'resolved' && hosts.has(a.labels.host ?? '') && !own.has(a.rule)) this.tracker.resolve(a, now, { resolved_by: 'agent_revoked' });
    }
    this.absence.forgetHosts(hosts);
    this.threshold.forgetHosts(hosts);
    this.events.forgetHosts(hosts);
    this.tracker.forgetHosts(hosts);
    for (const host of hosts) this.late.forgetHost(host);
  }

  /** What this engine holds in memory of a host (entries of each part; tests read it). */
  memoryOf(host: string): { absence: number; windows: number; events: number; flaps: number; late: number } {
    return {
      absence: this.absence.heldOf(host),
      windows: this.threshold.windowsOf(host),
      events: this.events.heldOf(host),
      flaps: this.tracker.flapsOf(host),
      late: this.late.heldOf(host),
    };
  }

  private clockOffset: number | undefined;
  clockSteps = 0;

  private followClockStep(now: number): void {
    if (!this.deps.mono) return;
    const offset = now - this.deps.mono();
    const step = this.clockOffset === undefined ? 0 : offset - this.clockOffset;
    this.clockOffset = offset;
    if (Math.abs(step) <= CLOCK_STEP_MS) return;
    this.clockSteps++;
    this.absence.shiftTime(step);
    this.tracker.shiftPending(step);
    this.log.warn({ step_ms: Math.round(step) }, 'the wall clock stepped: absence and pending alerts keep their elapsed time');
  }

  /** One round: evaluate, queue, and deliver what is due (awaited, for tests). */
  async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      this.evaluate();
    } catch (err) {
      this.log.error({ err }, 'alert evaluation round failed');
    }
    if (this.handover) await this.handover;
    if (this.stopped) return;
    await this.mailer?.process();
  }

  private kick(): void {
    if (!this.timer || this.kickPending) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      void this.tick();
    });
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.cfg.evaluation_interval);
    this.timer.unref();
    void this.tick();
  }

  /** Stop timers, persist bookkeeping, let a send in progress finish. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      this.absence.persist(this.clock());
      this.tracker.flush();
    } catch (err) {
      this.log.warn({ err }, 'could not persist alert bookkeeping on stop');
    }
    await this.handover;
    await this.mailer?.stop();
    if (!this.deps.store) this.store.close();
  }
}

export function mailDomain(cfg: AlertingConfig): string {
  const m = /@([^>\s]+)>?\s*$/.exec(cfg.smtp?.from ?? '');
  return m?.[1] ?? 'canh.invalid';
}
